/**
 * Splits a command's positional arguments (in order) at `--`, as git does: everything after
 * `--` on the command line is a path, even when it is spelled like a revision before it
 * (`mk checkout ds -- ds`: revision ds, path ds). Commander hands the positional arguments
 * over in order with those after `--` last, so they are the tail of `args`.
 */
export function splitAtDashDash(args: string[], argv: string[] = process.argv): { before: string[]; after: string[] } {
  const di = argv.indexOf('--');
  if (di < 0) return { before: args, after: [] };
  const after = argv.slice(di + 1);
  const tail = args.slice(args.length - after.length);
  if (after.length <= args.length && tail.every((a, i) => a === after[i])) return { before: args.slice(0, args.length - after.length), after };
  return { before: args.filter((a) => !after.includes(a)), after };
}
