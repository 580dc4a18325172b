import { parentPort } from 'node:worker_threads';
import { MkError } from '../errors/index.js';
import { buildPack, type PackInput } from './pack.js';

/** Worker side of PackPool: builds one pack per message. */
parentPort?.on('message', async (m: { id: number; files: PackInput[]; outPath: string }) => {
  try {
    const result = await buildPack(m.files, m.outPath);
    parentPort!.postMessage({ id: m.id, result });
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ id: m.id, error: { message: err.message, code: e instanceof MkError ? e.code : undefined, hint: e instanceof MkError ? e.hint : undefined } });
  }
});
