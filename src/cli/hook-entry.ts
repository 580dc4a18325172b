import { fromSystemError, MkError } from '../api/common.js';
import { runHook } from '../integration/hooks/run.js';
import { guardPipes, printable } from './output.js';

/**
 * `mk hook <name> ...` without the command-line parser: hooks run on every commit and
 * checkout, so they start with as little loading as possible.
 */
export async function hookMain(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  guardPipes();
  try {
    const r = await runHook(name ?? '', args);
    for (const m of r.messages) process.stderr.write(printable(m) + '\n');
    process.exitCode = r.exitCode;
  } catch (caught) {
    const e = fromSystemError(caught) ?? caught;
    if (e instanceof MkError) {
      process.stderr.write(`mk: ${printable(e.message)}\n${e.hint ? `hint: ${printable(e.hint)}\n` : ''}`);
      process.exitCode = e.exitCode;
    } else {
      process.stderr.write(`mk: internal error in the ${name} hook: ${printable(String((e as Error)?.message ?? e))}\n`);
      process.exitCode = 70;
    }
  }
}
