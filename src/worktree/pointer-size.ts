import { DigestMismatchError, WrongSizeError } from '../errors/index.js';
import type { TrackedPointer } from '../git/pointers.js';
import type { CacheStore } from '../content/storage.js';

/**
 * A file pointer whose size contradicts the blob its digest names in the cache: the pointer
 * is damaged (hand-edited, or crafted) and nothing may be built, pushed or restored from it;
 * the good blob stays. A cache blob that no longer matches its digest leaves the cache (then
 * the data is simply not cached). Directory pointers name a root whose size is its own.
 */
export async function checkPointerSize(cache: CacheStore, t: TrackedPointer, at?: string): Promise<void> {
  if (t.pointer.type !== 'file') return;
  const size = cache.statBlobSync(t.pointer.digest);
  if (size === undefined || size === t.pointer.size) return;
  try {
    await cache.wrongSize(t.pointer, size);
  } catch (e) {
    if (e instanceof DigestMismatchError) return;
    if (e instanceof WrongSizeError) throw pointerSizeError(t, size, at);
    throw e;
  }
}

export function pointerSizeError(t: TrackedPointer, actual: number, at?: string): WrongSizeError {
  return new WrongSizeError(
    `${t.pointerPath}${at ? ` at ${at}` : ''}`,
    t.pointer.size,
    actual,
    `the pointer is damaged: restore a good one ('git checkout <rev> -- ${t.pointerPath}') or re-create it with 'mk add ${t.path}'`,
  );
}
