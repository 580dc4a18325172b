import type { CacheStore } from '../content/storage.js';
import { MkError } from '../errors/index.js';
import { openCacheStore } from '../stores/open.js';
import { buildPack, type PackInput, type PackResult } from './pack.js';

/** The cache as this worker thread sees it (one per folder, opened once). */
const caches = new Map<string, CacheStore>();

/** Worker side of PackPool (a tinypool task): builds one pack into the cache; an MkError comes back as data (errors lose their class between threads). */
export default async function build(task: { files: PackInput[]; cacheDir: string }): Promise<{ result?: PackResult; error?: { message: string; code?: string; hint?: string } }> {
  try {
    let cache = caches.get(task.cacheDir);
    if (!cache) caches.set(task.cacheDir, (cache = openCacheStore(task.cacheDir)));
    return { result: await buildPack(task.files, cache) };
  } catch (e) {
    const err = e as Error;
    return { error: { message: err.message, code: e instanceof MkError ? e.code : undefined, hint: e instanceof MkError ? e.hint : undefined } };
  }
}
