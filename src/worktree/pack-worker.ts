import { MkError } from '../errors/index.js';
import { buildPack, type PackInput, type PackResult } from './pack.js';

/** Worker side of PackPool (a tinypool task): builds one pack; an MkError comes back as data (errors lose their class between threads). */
export default async function build(task: { files: PackInput[]; outPath: string }): Promise<{ result?: PackResult; error?: { message: string; code?: string; hint?: string } }> {
  try {
    return { result: await buildPack(task.files, task.outPath) };
  } catch (e) {
    const err = e as Error;
    return { error: { message: err.message, code: e instanceof MkError ? e.code : undefined, hint: e instanceof MkError ? e.hint : undefined } };
  }
}
