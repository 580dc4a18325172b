import type { Target } from '../content/storage.js';
import { guessKind, pointerPathFor, type Pointer } from '../formats/pointer.js';
import type { TrackedPointer } from '../git/pointers.js';
import type { PipelineWorkspace } from './repro.js';
import type { RunPointer } from './run-cache.js';
import type { RepoContext } from '../repo/context.js';
// The work-tree engine (src/worktree: recording, placement, the comparison of data with its
// pointer) the pipeline runner records and places outputs with, loaded when a stage needs it
// (a run with nothing to do never does). Never the verbs themselves: verbs do not call verbs.

/**
 * The work tree as the pipeline runner sees it (src/pipeline/repro.ts): outputs are recorded
 * by `mk add` (files through the Git filter where the repository uses it, folders as folders,
 * staged unless `stage: false`), placed by the checkout of their pointers, and saved when mk's
 * status calls them clean with their bytes in the cache. Used by `mk repro` and `mk exp run`.
 */
export function pipelineWorkspace(ctx: RepoContext, opts: { stage?: boolean } = {}): PipelineWorkspace {
  const root = ctx.root;
  return {
    async track(paths: string[]) {
      if (!paths.length) return [];
      const { record } = await import('../worktree/record.js');
      const added = await record(paths, { cwd: root, stage: opts.stage });
      return added.map((a) => ({ path: a.path, pointer: runPointer(a.pointer) }));
    },
    async place(outs: Array<{ path: string; pointer: RunPointer }>) {
      if (!outs.length) return;
      const pointers: TrackedPointer[] = outs.map((o) => {
        const p: Pointer = {
          version: 1,
          kind: guessKind(o.pointer.type === 'dir' ? o.path + '/' : o.path),
          type: o.pointer.type,
          digest: o.pointer.digest,
          size: o.pointer.size,
          ...(o.pointer.files !== undefined ? { files: o.pointer.files } : {}),
        };
        return { path: o.path, pointerPath: pointerPathFor(o.path), text: '', pointer: p };
      });
      const { checkout } = await import('../worktree/checkout.js');
      await checkout({ cwd: root, pointers, force: true });
    },
    async saved(paths: string[]) {
      const { workspacePointers } = await import('../git/pointers.js');
      const { compareWorkspace } = await import('../worktree/compare.js');
      const { Session } = await import('../worktree/session.js');
      const tracked = (await workspacePointers(root, paths)).filter((t) => paths.includes(t.path));
      const out = new Map<string, boolean>();
      if (!tracked.length) return out;
      // As `mk status` would call it: clean (whole, not half-placed by an interrupted mk) with its bytes in the cache.
      const session = new Session(ctx);
      try {
        for (const t of tracked) {
          const c = await compareWorkspace(ctx, session.stat, t.path, t.pointer, session.stamps);
          out.set(t.path, c.workspace === 'clean' && !c.partial && c.cached && !session.journal.get(t.path));
        }
      } finally {
        session.save();
      }
      return out;
    },
  };
}

function runPointer(p: Pointer): RunPointer {
  return { type: p.type, digest: p.digest, size: p.size, ...(p.files !== undefined ? { files: p.files } : {}) };
}

/** The default remote, opened for reading, or undefined when none is configured or it cannot be opened. */
export function defaultRemote(ctx: RepoContext, name?: string): () => Promise<Target | undefined> {
  let opened: Promise<Target | undefined> | undefined;
  return () =>
    (opened ??= (async () => {
      if (!name && !ctx.config.defaultRemote && !ctx.config.remotes.length) return undefined;
      try {
        const { openRemote, remoteConfig } = await import('../remote/remotes.js');
        return await openRemote(ctx, remoteConfig(ctx, name), { readOnly: true });
      } catch {
        return undefined;
      }
    })());
}
