import type { TrackedPointer } from '../git/pointers.js';
import type { RemoteConfig } from '../repo/config.js';
import type { RepoContext } from '../repo/context.js';
import { routeOf } from '../repo/routes.js';

/** The artifacts one remote receives (or serves) in a transfer. */
export interface RemoteGroup {
  rc: RemoteConfig;
  /** A remote by path (not the default remote). */
  routed: boolean;
  tracked: TrackedPointer[];
}

/**
 * Splits artifacts by the remote each goes to (remotes by path): the routed ones to their
 * remotes, every other to `main` (the default remote, or the one a command names), which comes
 * first. When `main` is itself a remote by path, only the artifacts routed to it.
 */
export function groupByRemote(ctx: Pick<RepoContext, 'config'>, tracked: TrackedPointer[], main: RemoteConfig): RemoteGroup[] {
  const mainRouted = !!main.paths?.length;
  const groups = new Map<string, RemoteGroup>([[main.name, { rc: main, routed: mainRouted, tracked: [] }]]);
  for (const t of tracked) {
    const r = routeOf(ctx.config, t);
    if (mainRouted && r?.name !== main.name) continue;
    const rc = r ?? main;
    let g = groups.get(rc.name);
    if (!g) groups.set(rc.name, (g = { rc, routed: true, tracked: [] }));
    g.tracked.push(t);
  }
  return [...groups.values()];
}
