import { basename, resolve } from 'node:path';
import { git, headCommit } from '../git/run.js';
import { installHooks } from '../git/hook-shims.js';
import { installFilterConfig } from '../git/filter-config.js';
import { RepoContext } from '../repo/context.js';
import { MkError, UsageError } from '../errors/index.js';
import { pull, type CopyProgress, type Withheld } from '../sync/transfer.js';

export interface CloneOptions {
  cwd?: string;
  branch?: string;
  /** A shallow clone of this many commits (`git clone --depth`); the data is that of the checked-out commit either way. */
  depth?: number;
  concurrency?: number;
  onProgress?: (p: CopyProgress) => void;
  /** More options for git clone, passed as they are (`--filter=blob:none`, `--recurse-submodules`...). */
  gitArgs?: string[];
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
  /** Submodules (with --recurse-submodules) that use mk, whose data was restored too: their paths. */
  submodules: string[];
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
  const gitArgs = opts.gitArgs ?? [];
  await git(opts.cwd ?? process.cwd(), ['clone', '-q', ...depth, ...(opts.branch ? ['-b', opts.branch] : []), ...gitArgs, '--', url, target]);
  const commit = (await headCommit(target)) ?? null;
  if (!commit && !opts.branch) await refuseHeadless(url, target);
  const branch = (await git(target, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { okCodes: [1] })).trim() || null;
  const result: CloneResult = { url, dir: target, commit, branch, depth: opts.depth ?? null, mk: false, remote: null, artifacts: [], restored: 0, blobs: 0, bytes: 0, submodules: [], withheld: [] };
  const here = await setUp(target, opts);
  if (here) Object.assign(result, here);
  // Submodules git cloned (--recurse-submodules): each that uses mk gets its hooks and its data.
  if (gitArgs.some((a) => a === '--recurse-submodules' || a.startsWith('--recurse-submodules=') || a === '--recursive')) {
    const list = (await git(target, ['submodule', 'foreach', '--quiet', '--recursive', 'printf "%s\\0" "$displaypath"'], { okCodes: [1] }).catch(() => '')).split('\0').filter(Boolean);
    for (const sub of list) {
      const s = await setUp(resolve(target, sub), opts);
      if (!s) continue;
      result.submodules.push(sub);
      result.blobs += s.blobs;
      result.bytes += s.bytes;
      result.withheld.push(...s.withheld.map((w) => ({ ...w, path: `${sub}/${w.path}` })));
    }
  }
  return result;
}

/** A freshly cloned repository that uses mk: hooks, filter, then the data of its checked-out commit. Undefined when it does not use mk. */
async function setUp(dir: string, opts: CloneOptions): Promise<Pick<CloneResult, 'mk' | 'remote' | 'artifacts' | 'restored' | 'blobs' | 'bytes' | 'withheld' | 'runCache'> | undefined> {
  const ctx = RepoContext.open(dir);
  if (!ctx.initialized) return undefined;
  await installHooks(ctx);
  await installFilterConfig(dir, false);
  const out = { mk: true, remote: null as string | null, artifacts: [] as string[], restored: 0, blobs: 0, bytes: 0, withheld: [] as Withheld[], runCache: undefined as number | undefined };
  if (ctx.config.remotes.length === 0) return out;
  // The data of the checked-out commit only (also in a shallow clone, which has no other).
  const r = await pull({ cwd: dir, concurrency: opts.concurrency, onProgress: opts.onProgress });
  out.remote = r.fetch.remote;
  out.artifacts = r.checkout.artifacts.filter((a) => a.action === 'restored').map((a) => a.path);
  out.restored = out.artifacts.length;
  out.blobs = r.fetch.copied;
  out.bytes = r.fetch.bytes;
  out.withheld = r.withheld;
  if (r.fetch.runCache?.entries) out.runCache = r.fetch.runCache.entries;
  return out;
}

/** git clone's options that take their value as the next argument. */
const CLONE_VALUE_OPTIONS = new Set([
  '-o',
  '--origin',
  '-u',
  '--upload-pack',
  '--reference',
  '--reference-if-able',
  '--separate-git-dir',
  '--shallow-since',
  '--shallow-exclude',
  '-c',
  '--config',
  '--server-option',
  '--filter',
  '--template',
  '--bundle-uri',
]);

/**
 * Splits `mk clone`'s arguments (what mk's own options left) into the repository, the folder,
 * and the options for git clone, which go to it as they are.
 */
export function splitCloneArgs(args: string[]): { url: string; dir?: string; gitArgs: string[] } {
  const gitArgs: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      gitArgs.push(a);
      if (CLONE_VALUE_OPTIONS.has(a) && i + 1 < args.length) gitArgs.push(args[++i]!);
      continue;
    }
    positional.push(a);
  }
  if (positional.length < 1 || positional.length > 2)
    throw new UsageError(positional.length ? `too many arguments: ${positional.slice(2).join(' ')}` : 'name the repository to clone', 'mk clone [options] <url> [dir]');
  return { url: positional[0]!, dir: positional[1], gitArgs };
}
