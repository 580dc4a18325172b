import { readFileSync } from 'node:fs';

/**
 * The command line of the git command running this hook (Linux: /proc; undefined when it
 * cannot be read), found a few processes up: a shim, a hook manager (the pre-commit
 * framework, husky) or git itself (`git stash` runs `git reset --hard`) may stand between.
 * Returned from the subcommand on: `['reset', '--hard', 'HEAD~1']`.
 */
export function gitCommand(start = process.ppid): string[] | undefined {
  return gitCommands(start)[0];
}

/** Every git command up the process tree, nearest first (`git stash` runs `git reset --hard`: both). */
export function gitCommands(start = process.ppid): string[][] {
  const out: string[][] = [];
  let pid = start;
  for (let i = 0; i < 8 && pid > 1; i++) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[argv.length - 1] === '') argv.pop();
      if (/(^|\/)git$/.test(argv[0] ?? '')) out.push(subcommand(argv.slice(1)));
      // The 4th field of /proc/<pid>/stat (after the parenthesised command name) is the parent's pid.
      pid = Number(/\)\s+\S+\s+(\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? 0);
    } catch {
      break;
    }
  }
  return out;
}

/** Whether the command is `git stash` making a stash (`git stash`, `push`, `save`), or popping one. */
export function stashVerb(cmd: string[] | undefined): 'push' | 'pop' | undefined {
  if (cmd?.[0] !== 'stash') return undefined;
  const verb = cmd.slice(1).find((a) => !a.startsWith('-'));
  if (verb === undefined || verb === 'push' || verb === 'save') return 'push';
  if (verb === 'pop') return 'pop';
  return undefined;
}

/** git's own options before the subcommand (`-c k=v`, `-C dir`, `--git-dir=...`) are dropped. */
function subcommand(args: string[]): string[] {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) i += args[i] === '-c' || args[i] === '-C' || args[i] === '--git-dir' || args[i] === '--work-tree' || args[i] === '--namespace' ? 2 : 1;
  return args.slice(i);
}

/**
 * Whether the git command discards local changes, as it does for files: `git reset --hard`,
 * `git checkout -f|--force`, `git switch -f|--force|--discard-changes` (their `--` and what
 * follows are paths, not options).
 */
export function discardsChanges(cmd: string[] | undefined): boolean {
  if (!cmd?.length) return false;
  const [sub, ...rest] = cmd;
  const end = rest.indexOf('--');
  const opts = (end < 0 ? rest : rest.slice(0, end)).filter((a) => a.startsWith('-'));
  const short = (c: string) => opts.some((o) => /^-[A-Za-z]+$/.test(o) && o.includes(c));
  if (sub === 'reset') return opts.includes('--hard');
  if (sub === 'checkout') return opts.includes('--force') || short('f');
  if (sub === 'switch') return opts.includes('--force') || opts.includes('--discard-changes') || short('f');
  return false;
}
