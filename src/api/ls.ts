import { pointersAtCommit, workspacePointers } from '../git/pointers.js';
import { resolveCommit } from '../git/run.js';
import type { Kind } from '../formats/pointer.js';
import { RepoContext } from '../repo/context.js';

export interface ListedArtifact {
  path: string;
  kind: Kind;
  type: 'file' | 'dir';
  digest: string;
  size: number;
  files?: number;
}

/** The tracked artifacts at a revision (default: the work tree's pointers). */
export async function ls(opts: { cwd?: string; rev?: string } = {}): Promise<{ rev?: string; artifacts: ListedArtifact[] }> {
  const ctx = RepoContext.open(opts.cwd);
  const commit = opts.rev ? await resolveCommit(ctx.root, opts.rev) : undefined;
  const tracked = commit ? await pointersAtCommit(ctx.commonDir, commit) : await workspacePointers(ctx.root);
  const artifacts = tracked
    .map((t) => {
      const a: ListedArtifact = { path: t.path, kind: t.pointer.kind, type: t.pointer.type, digest: t.pointer.digest, size: t.pointer.size };
      if (t.pointer.files !== undefined) a.files = t.pointer.files;
      return a;
    })
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  return { rev: commit, artifacts };
}
