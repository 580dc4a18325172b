import type { RevsAndPaths } from '../api/pathspec.js';

/**
 * Splits a command's positional arguments (in order) at `--`, as git does: everything after
 * `--` on the command line is a path, even when it is spelled like a revision before it
 * (`mk checkout ds -- ds`: revision ds, path ds). Commander hands the positional arguments
 * over in order with those after `--` last, so they are the tail of `args`. `dashDash`: the
 * command line had a `--` (then everything before it is a revision).
 */
export function splitAtDashDash(args: string[], argv: string[] = process.argv): { before: string[]; after: string[]; dashDash: boolean } {
  const di = argv.indexOf('--');
  if (di < 0) return { before: args, after: [], dashDash: false };
  const after = argv.slice(di + 1);
  const tail = args.slice(args.length - after.length);
  if (after.length <= args.length && tail.every((a, i) => a === after[i])) return { before: args.slice(0, args.length - after.length), after, dashDash: true };
  return { before: args.filter((a) => !after.includes(a)), after, dashDash: true };
}

/**
 * `[<rev>...] [--] [<path>...]` as git reads it: without `--`, each argument is whichever of a
 * revision or a path it is (see src/api/pathspec.ts); `maxRevs` revisions at most.
 */
export async function revsAndPathsOf(command: string, args: Array<string | undefined>, maxRevs: number): Promise<RevsAndPaths> {
  const { revsAndPaths } = await import('../api/pathspec.js');
  return revsAndPaths(command, splitAtDashDash(args.filter((x): x is string => x !== undefined)), { maxRevs });
}
