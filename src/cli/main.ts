import { Command, CommanderError } from 'commander';
import { ERROR_CODES, fromSystemError, MkError, type ErrorCode } from '../api/common.js';
import { registerCore } from './commands-core.js';
import { registerGet, registerRemote } from './commands-remote.js';
import { registerModelKit } from './commands-modelkit.js';
import { registerGit } from './commands-git.js';
import { registerMigrate } from './commands-migrate.js';
import { registerAuth } from './commands-auth.js';
import { registerExperiments } from './commands-exp.js';
import { registerSign } from './commands-sign.js';
import { registerPipeline } from './commands-pipeline.js';
import { addExamples, registerHelp } from './commands-help.js';
import { guardPipes, out, printable } from './output.js';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('mk')
    .description('Version datasets and models next to your code: pointers in Git, bytes as OCI blobs, a ModelKit per commit.')
    .version(VERSION, '-V, --version')
    .option('-C <path>', 'run as if mk was started in <path> (as git -C); repeatable, each relative to the one before', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .showSuggestionAfterError()
    // Commander's own error line is not printed: report() turns it into mk's one-line form.
    .configureOutput({ outputError: () => undefined })
    .exitOverride();
  // As git does: every -C, in order, before anything else runs.
  program.hook('preSubcommand', () => {
    for (const d of (program.opts() as { C: string[] }).C) {
      if (d === '') continue; // git: an empty -C is no change
      try {
        process.chdir(d);
      } catch (e) {
        throw new MkError('EUSAGE', `cannot change to '${d}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`);
      }
    }
  });
  registerCore(program);
  registerRemote(program);
  registerGet(program);
  registerModelKit(program);
  registerGit(program);
  registerMigrate(program);
  registerAuth(program);
  registerExperiments(program);
  registerSign(program);
  registerPipeline(program);
  registerHelp(program);
  addExamples(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** The CLI entry point: the only place that exits the process. */
export async function main(argv: string[]): Promise<void> {
  guardPipes();
  const program = buildProgram();
  try {
    // A command that never settles (a bug) must not look like success when Node exits.
    process.exitCode = 70;
    await program.parseAsync(argv);
    if (process.exitCode === 70) process.exitCode = 0;
  } catch (e) {
    process.exitCode = report(e, argv.slice(2));
  }
}

/** `--json` among the options (not after `--`, where it would be a path). */
function wantsJson(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

/** What a failure says: its code, its one line and what to do, and the exit status. */
interface Failure {
  code: ErrorCode;
  message: string;
  hint?: string;
  exit: number;
}

function failureOf(e: unknown, args: string[]): Failure | undefined {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return undefined;
    // Every other commander error is about the command line: a usage error, exit 2.
    const message = e.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
    return { code: 'EUSAGE', message, hint: `see '${helpFor(args, e.code)}'`, exit: ERROR_CODES.EUSAGE.exit };
  }
  const system = fromSystemError(e);
  const err = system ?? e;
  if (err instanceof MkError) return { code: err.code, message: err.message, hint: err.hint, exit: err.exitCode };
  const message = (err as Error)?.message ?? String(err);
  return { code: 'EINTERNAL', message: `internal error: ${message}`, hint: 'this is a bug in mk; rerun with MK_DEBUG=1 and report the output', exit: ERROR_CODES.EINTERNAL.exit };
}

/** The help to read after a usage error: the command's own (as far as it was named), or mk's. */
function helpFor(args: string[], code: string): string {
  const words: string[] = [];
  let cmd: Command | undefined = buildProgram();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a === '-C') i++; // its folder
    if (a.startsWith('-')) continue;
    const sub: Command | undefined = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) break;
    words.push(sub.name());
    cmd = sub;
  }
  if (code === 'commander.unknownCommand' && words.length === 0) return 'mk --help';
  return ['mk', ...words, '--help'].join(' ');
}

/**
 * Prints a failure and returns the exit status: `mk: <message>` and `hint: <hint>` on stderr;
 * with `--json`, `{"error": {"code", "message", "hint"}}` on stdout instead (where the result
 * would have been), with the same exit status.
 */
function report(e: unknown, args: string[]): number {
  const json = wantsJson(args);
  const f = failureOf(e, args);
  if (!f) return 0;
  if (json) out.json({ error: { code: f.code, message: printable(f.message), hint: f.hint === undefined ? null : printable(f.hint) } });
  else {
    out.err(`mk: ${printable(f.message)}`);
    if (f.hint) out.err(`hint: ${printable(f.hint)}`);
  }
  if (f.code === 'EINTERNAL' && process.env.MK_DEBUG) out.err((e as Error)?.stack ?? '');
  return f.exit;
}
