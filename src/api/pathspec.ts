import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GitError, UsageError } from '../errors/index.js';
import { git } from '../git/run.js';
import { RepoContext } from '../repo/context.js';

export interface RevsAndPaths {
  revs: string[];
  paths: string[];
}

/**
 * Reads `[<rev>...] [--] [<path>...]` as git does. After `--` everything is a path, and before
 * it everything is a revision. Without `--`, each argument is a revision or a path, whichever
 * it is (`mk checkout data/imgs`, `mk pull models`); revisions come first; one that is both
 * (a branch named like a folder) is refused as ambiguous, and one that is neither is an
 * error, with the way to say which is meant.
 */
export async function revsAndPaths(command: string, args: { before: string[]; after: string[]; dashDash: boolean }, opts: { maxRevs: number; cwd?: string }): Promise<RevsAndPaths> {
  const usage = `mk ${command} ${opts.maxRevs === 1 ? '[<rev>]' : '[<rev>...]'} -- <path>...`;
  const tooMany = (revs: string[], hint?: string) =>
    new UsageError(`expected at most ${opts.maxRevs === 1 ? 'one revision' : `${opts.maxRevs} revisions`}${args.dashDash ? " before '--'" : ''}, got ${revs.join(' ')}`, hint);
  if (args.dashDash) {
    if (args.before.length > opts.maxRevs) throw tooMany(args.before);
    return { revs: args.before, paths: args.after };
  }
  if (args.before.length === 0) return { revs: [], paths: [] };
  const cwd = opts.cwd ?? process.cwd();
  const ctx = RepoContext.open(cwd);
  const revs: string[] = [];
  const paths: string[] = [];
  for (const a of args.before) {
    const [rev, path] = await Promise.all([paths.length ? false : isRevision(ctx.root, a), isPath(ctx.root, cwd, a)]);
    if (rev && path)
      throw new UsageError(`ambiguous argument '${a}': both a revision and a path`, `use '--' to separate them: 'mk ${command} ${a} --' for the revision, 'mk ${command} -- ${a}' for the path`);
    if (rev) revs.push(a);
    else if (path) paths.push(a);
    else throw new GitError(`unknown revision or path not in the work tree: '${a}'`, `use '--' to separate paths from revisions: '${usage}'`);
  }
  if (revs.length > opts.maxRevs) throw tooMany(revs, `put paths after '--': ${usage}`);
  return { revs, paths };
}

async function isRevision(root: string, a: string): Promise<boolean> {
  if (a.startsWith('-')) return false;
  return (await git(root, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${a}^{commit}`], { okCodes: [1, 128] })).trim() !== '';
}

/** There, or tracked by mk there (a pointer beside it or a folder above it), or known to git (a filtered file, even deleted). */
async function isPath(root: string, cwd: string, a: string): Promise<boolean> {
  const full = resolve(cwd, a);
  if (existsSync(full)) return true;
  for (let p = full.replace(/\/+$/, ''); p.length > root.length && p.startsWith(root); p = dirname(p)) if (existsSync(`${p}.mk.yaml`)) return true;
  if (!full.startsWith(root)) return false;
  return (await git(cwd, ['--literal-pathspecs', 'ls-files', '-z', '--', a], { okCodes: [1, 128] })) !== '';
}
