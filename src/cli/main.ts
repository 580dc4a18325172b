import { Command, CommanderError } from 'commander';
import { fromSystemError, MkError } from '../api/common.js';
import { registerCore } from './commands-core.js';
import { registerGet, registerRemote } from './commands-remote.js';
import { registerModelKit } from './commands-modelkit.js';
import { registerGit } from './commands-git.js';
import { registerMigrate } from './commands-migrate.js';
import { registerAuth } from './commands-auth.js';
import { registerExperiments } from './commands-exp.js';
import { registerSign } from './commands-sign.js';
import { registerPipeline } from './commands-pipeline.js';
import { guardPipes, out, printable } from './output.js';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('mk')
    .description('Version datasets and models next to your code: pointers in Git, bytes as OCI blobs, a ModelKit per commit.')
    .version(VERSION, '-V, --version')
    .option('-C <path>', 'run as if mk was started in <path> (as git -C); repeatable, each relative to the one before', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .showSuggestionAfterError()
    .exitOverride();
  // As git does: every -C, in order, before anything else runs.
  program.hook('preSubcommand', () => {
    for (const d of (program.opts() as { C: string[] }).C) {
      if (d === '') continue; // git: an empty -C is no change
      try {
        process.chdir(d);
      } catch (e) {
        throw new MkError('ENOENT', `cannot change to '${d}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`, { exitCode: 2 });
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
    process.exitCode = report(e);
  }
}

function report(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    return e.exitCode || 2; // commander already printed its one line
  }
  const system = fromSystemError(e);
  if (system) e = system;
  if (e instanceof MkError) {
    out.err(`mk: ${printable(e.message)}`);
    if (e.hint) out.err(`hint: ${printable(e.hint)}`);
    return e.exitCode;
  }
  const err = e as Error;
  out.err(`mk: internal error: ${printable(err?.message ?? String(e))}`);
  if (process.env.MK_DEBUG) out.err(err?.stack ?? '');
  else out.err('hint: this is a bug in mk; rerun with MK_DEBUG=1 and report the output');
  return 70;
}
