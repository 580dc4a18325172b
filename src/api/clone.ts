import { basename, resolve } from 'node:path';
import { git, headCommit } from '../git/run.js';
import { installHooks } from '../git/hook-shims.js';
import { installFilterConfig } from '../git/filter-config.js';
import { RepoContext } from '../repo/context.js';
import { MkError, UsageError } from '../errors/index.js';
import { pull, type CopyProgress, type Withheld } from './transfer.js';

export interface CloneOptions {
  cwd?: string;
  branch?: string;
  /** A shallow clone of this many commits (`git clone --depth`); the data is that of the checked-out commit either way. */
  depth?: number;
  concurrency?: number;
  onProgress?: (p: CopyProgress) => void;
}

export interface CloneResult {
  url: string;
  dir: string;
  /** The commit checked out (null: an empty repository). */
  commit: string | null;
  branch: string | null;
  depth: number | null;
  /** Whether the repository uses mk (has .mk/config.yaml): hooks and filter were installed. */
  mk: boolean;
  /** The remote the data came from (null: none configured, or not an mk repository). */
  remote: string | null;
  /** Artifacts whose data was restored, by path. */
  artifacts: string[];
  restored: number;
  /** Blobs downloaded, and their bytes. */
  blobs: number;
  bytes: number;
  /** Data routed to remotes this user may not read (remotes by path): everything else was restored. */
  withheld: Withheld[];
  /** The pipeline's run cache entries fetched (when the repository has a dvc.yaml). */
  runCache?: number;
}

/**
 * A clone that checked nothing out although the remote has branches: the remote's HEAD names a
 * branch it does not have (git only warns, and leaves an empty work tree). Said in one line,
 * with the branches there are; the clone stays where it is.
 */
async function refuseHeadless(url: string, target: string): Promise<void> {
  const branches = (await git(target, ['for-each-ref', '--format=%(refname:lstrip=3)', 'refs/remotes/origin/'])).split('\n').filter((b) => b && b !== 'HEAD');
  if (!branches.length) return; // an empty repository: nothing to check out
  const shown = branches.slice(0, 5).join(', ') + (branches.length > 5 ? `, ... (${branches.length})` : '');
  throw new MkError('ENOTFOUND', `${url}: the remote's HEAD names no branch it has, so nothing was checked out in ${target} (branches: ${shown})`, {
    hint: `name one: 'mk clone -b ${branches[0]} ${url}' (or 'git -C ${target} switch ${branches[0]}' then 'mk install' and 'mk pull' there)`,
    data: { dir: target, branches },
  });
}

/** `git clone`, `mk install` (hooks and filter), then `mk pull` (files Git left as pointer text are restored too): a working copy with its data in one step. */
export async function clone(url: string, dir?: string, opts: CloneOptions = {}): Promise<CloneResult> {
  if (opts.depth !== undefined && (!Number.isInteger(opts.depth) || opts.depth < 1)) throw new UsageError(`--depth must be a positive whole number, not '${opts.depth}'`);
  const target = resolve(opts.cwd ?? process.cwd(), dir ?? basename(url.replace(/\/+$/, '')).replace(/\.git$/, ''));
  const depth = opts.depth !== undefined ? ['--depth', String(opts.depth)] : [];
  await git(opts.cwd ?? process.cwd(), ['clone', '-q', ...depth, ...(opts.branch ? ['-b', opts.branch] : []), '--', url, target]);
  const commit = (await headCommit(target)) ?? null;
  if (!commit && !opts.branch) await refuseHeadless(url, target);
  const branch = (await git(target, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { okCodes: [1] })).trim() || null;
  const result: CloneResult = { url, dir: target, commit, branch, depth: opts.depth ?? null, mk: false, remote: null, artifacts: [], restored: 0, blobs: 0, bytes: 0, withheld: [] };
  const ctx = RepoContext.open(target);
  if (!ctx.initialized) return result;
  result.mk = true;
  await installHooks(ctx);
  await installFilterConfig(target, false);
  if (ctx.config.remotes.length === 0) return result;
  // The data of the checked-out commit only (also in a shallow clone, which has no other).
  const r = await pull({ cwd: target, concurrency: opts.concurrency, onProgress: opts.onProgress });
  result.remote = r.fetch.remote;
  if (r.fetch.runCache?.entries) result.runCache = r.fetch.runCache.entries;
  result.artifacts = r.checkout.artifacts.filter((a) => a.action === 'restored').map((a) => a.path);
  result.restored = result.artifacts.length;
  result.blobs = r.fetch.copied;
  result.bytes = r.fetch.bytes;
  result.withheld = r.withheld;
  return result;
}
