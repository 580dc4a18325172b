import { readBlob, readCommit, readTree } from '../git/objects.js';

export interface TreeFile {
  path: string;
  mode: number;
  oid: string;
}

export interface TreeListing {
  files: TreeFile[];
  /** Symlinks and submodules: not representable in a ModelKit tar (kit refuses them). */
  skipped: string[];
}

/** Every regular file of a commit's tree, in git's tree order, read in process. */
export async function listTree(gitdir: string, commit: string): Promise<TreeListing> {
  const c = await readCommit(gitdir, commit);
  const files: TreeFile[] = [];
  const skipped: string[] = [];
  const walk = async (oid: string, prefix: string) => {
    const tree = await readTree(gitdir, oid);
    for (const e of tree) {
      const p = prefix ? `${prefix}/${e.path}` : e.path;
      if (e.type === 'tree') await walk(e.oid, p);
      else if (e.type === 'blob' && (e.mode === '100644' || e.mode === '100755')) files.push({ path: p, mode: e.mode === '100755' ? 0o755 : 0o644, oid: e.oid });
      else skipped.push(p);
    }
  };
  await walk(c.tree, '');
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, skipped };
}

export async function readGitBlob(gitdir: string, oid: string): Promise<Uint8Array> {
  return readBlob(gitdir, oid);
}

export async function commitInfo(gitdir: string, commit: string): Promise<{ committerTime: number; tz: number; tree: string }> {
  const c = await readCommit(gitdir, commit);
  return { committerTime: c.committer.timestamp, tz: c.committer.timezoneOffset, tree: c.tree };
}
