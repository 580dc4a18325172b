import * as fs from 'node:fs';
import { GitError, UnsafePathError } from '../errors/index.js';
import { isGitSegment } from '../repo/paths.js';

type Iso = typeof import('isomorphic-git').default;
let lib: Iso | undefined;

/** isomorphic-git, loaded on first use (status and the hooks do not need it). */
async function iso(): Promise<Iso> {
  return (lib ??= (await import('isomorphic-git')).default);
}

/**
 * Git objects read in process. A missing or malformed object (a shallow or partial clone, a
 * damaged repository, a crafted object) is a GitError naming it, never a crash inside the
 * reader.
 */
async function read<T>(kind: string, oid: string, f: (g: Iso) => Promise<T>): Promise<T> {
  try {
    return await f(await iso());
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'NotFoundError' ? 'it is not in this repository' : ((e as Error).message ?? String(e)).split('\n')[0];
    throw new GitError(`cannot read ${kind} ${oid.slice(0, 12)}: ${why}`, "the clone may be shallow or partial ('git fetch --unshallow'), or damaged ('git fsck')");
  }
}

export interface CommitObject {
  tree: string;
  committer: { timestamp: number; timezoneOffset: number };
}

export function readCommit(gitdir: string, oid: string): Promise<CommitObject> {
  return read('commit', oid, async (g) => (await g.readCommit({ fs, gitdir, oid })).commit);
}

export interface TreeEntry {
  path: string;
  mode: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

/** A tree's entries; a name no checkout could create (`..`, `a/b`, `.git` in any form) is refused. */
export async function readTree(gitdir: string, oid: string): Promise<TreeEntry[]> {
  const tree = await read('tree', oid, async (g) => (await g.readTree({ fs, gitdir, oid })).tree as TreeEntry[]);
  for (const e of tree) {
    if (e.path === '' || e.path === '.' || e.path === '..' || e.path.includes('/') || e.path.includes('\\') || e.path.includes('\0') || isGitSegment(e.path)) {
      throw new UnsafePathError(e.path, `tree ${oid.slice(0, 12)} has an entry no checkout may write`);
    }
  }
  return tree;
}

export function readBlob(gitdir: string, oid: string): Promise<Uint8Array> {
  return read('blob', oid, async (g) => (await g.readBlob({ fs, gitdir, oid })).blob);
}
