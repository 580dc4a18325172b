import { fromSystemError, MkError } from '../api/common.js';
import { filterProcess } from '../integration/filter/process.js';
import { printable } from './output.js';

/**
 * `mk filter-process` without the command-line parser: git starts it once per command that
 * touches filtered files, so it loads only what the filter needs.
 */
export async function filterMain(): Promise<void> {
  try {
    await filterProcess({ warn: (l) => process.stderr.write(printable(l) + '\n') });
    process.exitCode = 0;
  } catch (caught) {
    const e = fromSystemError(caught) ?? caught;
    if (e instanceof MkError) process.stderr.write(`mk: ${printable(e.message)}\n${e.hint ? `hint: ${printable(e.hint)}\n` : ''}`);
    else process.stderr.write(`mk: internal error in the Git filter: ${printable(String((e as Error)?.message ?? e))}\n`);
    process.exitCode = e instanceof MkError ? e.exitCode : 70;
  }
}
