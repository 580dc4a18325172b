import { diffRevisions, type DiffResult } from '../worktree/diff.js';
import { headCommit, resolveCommit } from '../git/run.js';
import { RepoContext } from '../repo/context.js';
import { repoRelative } from '../repo/paths.js';

export type { ArtifactDiff, DiffFile, DiffResult, DiffSummary } from '../worktree/diff.js';

export interface DiffOptions {
  cwd?: string;
  /** Revision (default HEAD). */
  from?: string;
  /** Revision (default: the work tree). */
  to?: string;
  /** Only artifacts under these paths (relative to cwd), or files under them inside an artifact. */
  paths?: string[];
  /** Where to read file lists the cache lacks (default: the default remote, if one is configured). */
  remote?: string;
  /** Detect renamed files and artifacts (default true). */
  renames?: boolean;
}

/**
 * Files added, removed, modified and renamed inside tracked artifacts between two revisions,
 * or between a revision (default HEAD) and the work tree. Folder file lists the local cache
 * lacks are read from the remote (only those small blobs: no data is downloaded).
 */
export async function diff(opts: DiffOptions = {}): Promise<DiffResult> {
  const ctx = RepoContext.open(opts.cwd);
  const cwd = opts.cwd ?? process.cwd();
  const filters = opts.paths?.length ? opts.paths.map((p) => repoRelative(ctx.root, p, cwd)) : undefined;
  const fromCommit = opts.from ? await resolveCommit(ctx.root, opts.from) : await headCommit(ctx.root);
  const a = { label: opts.from ?? 'HEAD', commit: fromCommit };
  const b = opts.to ? { label: opts.to, commit: await resolveCommit(ctx.root, opts.to) } : { label: 'workspace' };
  return diffRevisions(ctx, a, b, { filters, remote: opts.remote, renames: opts.renames });
}
