import { readValues, type FileValues } from './collect.js';
import { declaredAt, type Source } from './source.js';
import { resolveCommit } from '../git/run.js';
import type { RepoContext } from '../repo/context.js';

/** One side of a comparison: a commit, or the work tree (`workspace`). */
export interface Revision {
  /** As named (`HEAD`, `main`, `workspace`). */
  label: string;
  commit?: string;
}

export const WORKSPACE = 'workspace';

/** A revision as named (`rev`, else `fallback`; `workspace` or none: the work tree), with its commit. */
export async function revision(ctx: RepoContext, rev: string | undefined, fallback: string | undefined): Promise<Revision> {
  const name = rev ?? fallback;
  if (name === undefined || name === WORKSPACE) return { label: WORKSPACE };
  try {
    return { label: name, commit: await resolveCommit(ctx.root, name) };
  } catch (e) {
    if (rev === undefined && name === 'HEAD') return { label: 'HEAD' }; // no commit yet: nothing at HEAD
    throw e;
  }
}

/** Where a revision's files are read from (undefined: a revision with no commit, e.g. HEAD before the first commit). */
export function sourceOf(ctx: RepoContext, r: Revision): Source | undefined {
  if (r.label === WORKSPACE) return { kind: 'worktree', root: ctx.root };
  return r.commit ? { kind: 'commit', gitDir: ctx.commonDir, commit: r.commit } : undefined;
}

/** The files of `kind` the work tree's config declares, then those the revisions' own configs add. */
export async function declaredFiles(ctx: RepoContext, kind: 'params' | 'metrics', revs: Revision[]): Promise<string[]> {
  const files = [...ctx.config[kind]];
  for (const r of revs) {
    if (!r.commit) continue;
    for (const p of (await declaredAt({ kind: 'commit', gitDir: ctx.commonDir, commit: r.commit }))[kind]) if (!files.includes(p)) files.push(p);
  }
  return files;
}

/** The values of the declared files at a revision (each file: ok, missing or unreadable). */
export async function valuesAt(ctx: RepoContext, r: Revision, files: string[]): Promise<FileValues[]> {
  const src = sourceOf(ctx, r);
  if (!src) return files.map((path) => ({ path, status: 'missing' as const, values: {}, nested: {} }));
  return readValues(src, files);
}
