import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MkError } from '../errors/index.js';
import type { RemoteConfig } from '../repo/config.js';
import type { RepoContext } from '../repo/context.js';
import { writeFileAtomicSync } from '../util/fs.js';
import { parseRemoteUrl } from './url.js';

/**
 * Access per dataset: data routed to a remote this user may not read is withheld, not an
 * error. The user gets everything else, and every command names, in one line, what it could
 * not read and why; `--strict-access`, MK_STRICT_ACCESS=1 or `access.strict: true` make it an
 * error (CI). What a clone could not read is remembered (.git/mk/no-access.json; withheld.json is the signature gate's), so that
 * status, checkout and the hooks say `withheld` for it instead of `deleted` or "not cached".
 */
export interface Withheld {
  /** The artifact (repository-relative path). */
  path: string;
  /** The remote it is routed to. */
  remote: string;
  /** Where that is: host/repository. */
  repository: string;
  /** What the registry answered: `403 DENIED`, `401 UNAUTHORIZED`. */
  reason: string;
}

/** The answer of a registry that refuses this user (401 or 403), as `<status> <code>`; undefined for any other error. */
export function deniedReason(e: unknown): string | undefined {
  if (!(e instanceof MkError) || e.code !== 'EAUTH') return undefined;
  const status = (e.data as { status?: unknown }).status;
  if (status !== 401 && status !== 403) return undefined;
  const code = (e.data as { ociCode?: unknown }).ociCode;
  return `${status} ${typeof code === 'string' && code ? code : status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN'}`;
}

/** host/repository of a remote (its URL for a layout). */
export function repositoryOf(rc: RemoteConfig, root: string): string {
  try {
    const u = parseRemoteUrl(rc.url, root);
    return u.type === 'registry' ? `${u.host}/${u.repository}` : u.path;
  } catch {
    return rc.url;
  }
}

export function withheldOf(rc: RemoteConfig, root: string, path: string, reason: string): Withheld {
  return { path, remote: rc.name, repository: repositoryOf(rc, root), reason };
}

/** One line for the user: `withheld data/clinical: no read access to host/team/clinical (403 DENIED)`. */
export function withheldLine(w: Withheld | Withheld[]): string {
  const list = Array.isArray(w) ? w : [w];
  const by = new Map<string, Withheld[]>();
  for (const x of list) by.set(`${x.repository}\0${x.reason}`, [...(by.get(`${x.repository}\0${x.reason}`) ?? []), x]);
  return [...by.values()]
    .map((g) => {
      const paths = [...new Set(g.map((x) => x.path))].sort();
      const shown = paths.slice(0, 3).join(', ') + (paths.length > 3 ? ` and ${paths.length - 3} more` : '');
      return `withheld ${shown}: no read access to ${g[0]!.repository} (${g[0]!.reason})`;
    })
    .join('; ');
}

/** Withheld data as an error (strict access): the same line, non-zero. */
export function withheldError(w: Withheld[]): MkError {
  return new MkError('EWITHHELD', withheldLine(w), {
    hint: 'ask for read access to that repository, or leave out --strict-access (MK_STRICT_ACCESS, access.strict) to go on without that data',
    data: { withheld: w },
  });
}

/** Whether withheld data is an error here: the flag, MK_STRICT_ACCESS=1, or `access.strict` in the config. */
export function strictAccess(ctx: Pick<RepoContext, 'config'> | undefined, flag?: boolean): boolean {
  if (flag !== undefined) return flag;
  const env = process.env.MK_STRICT_ACCESS;
  if (env !== undefined && env !== '') return env !== '0' && env.toLowerCase() !== 'false';
  return !!ctx?.config.strictAccess;
}

/** Raises withheldError when access is strict and something was withheld. */
export function enforceAccess(ctx: Pick<RepoContext, 'config'> | undefined, withheld: Withheld[] | undefined, flag?: boolean): void {
  if (withheld?.length && strictAccess(ctx, flag)) throw withheldError(withheld);
}

const RECORD = 'no-access.json';

/** What this clone could not read, by artifact path (a fetch that can read it again forgets it). */
export function readWithheld(stateDir: string): Map<string, Withheld> {
  try {
    const v = JSON.parse(readFileSync(join(stateDir, RECORD), 'utf8')) as unknown;
    if (!Array.isArray(v)) return new Map();
    const out = new Map<string, Withheld>();
    for (const x of v as Array<Partial<Withheld>>)
      if (x && typeof x.path === 'string' && typeof x.remote === 'string' && typeof x.repository === 'string' && typeof x.reason === 'string')
        out.set(x.path, { path: x.path, remote: x.remote, repository: x.repository, reason: x.reason });
    return out;
  } catch {
    return new Map();
  }
}

/** Records what a command found withheld, and forgets `readable` (paths it could read now). */
export function recordWithheld(stateDir: string, withheld: Withheld[], readable: string[] = []): void {
  const m = readWithheld(stateDir);
  const before = JSON.stringify([...m.values()]);
  for (const p of readable) m.delete(p);
  for (const w of withheld) m.set(w.path, w);
  const after = [...m.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  if (JSON.stringify(after) === before) return;
  try {
    writeFileAtomicSync(join(stateDir, RECORD), JSON.stringify(after));
  } catch {
    /* read-only: only the word 'withheld' is lost */
  }
}

/**
 * The record for an artifact still routed to the remote that withheld it (a route changed
 * since says nothing about access to the new one).
 */
export function withheldFor(record: Map<string, Withheld>, path: string, route: RemoteConfig | undefined): Withheld | undefined {
  const w = record.get(path);
  return w && route && w.remote === route.name ? w : undefined;
}
