import pLimit from 'p-limit';
import type { Descriptor } from '../content/descriptor.js';
import type { CacheStore, Target } from '../content/storage.js';
import { copyGraph } from '../transfer/graph-copy.js';
import type { KnownBlobs } from '../transfer/known.js';
import { remoteEntry } from './repro.js';
import { readEntry, RUN_TAG_PREFIX, RunIndex } from './run-cache.js';

export interface RunCacheTransfer {
  /** Entries copied (pushed, or fetched into this clone's index). */
  entries: number;
  /** Entries the other side had already. */
  skipped: number;
  /** Entries left out: their outputs' blobs are no longer in the cache (push), or the remote's entry did not check out (fetch). */
  unusable: number;
  /** What went wrong, when the run cache could not be moved at all (the data transfer itself is not affected). */
  problem?: string;
}

/**
 * Pushes this clone's run cache entries the remote lacks, each with every blob of its outputs,
 * tagged `mk-run-<key>` (one tag per key: two clones that computed the same inputs write the
 * same tag, and the last one wins, as DVC keeps the latest run). Entries whose blobs this
 * cache no longer holds are left out (and forgotten: they cannot be restored here either).
 */
export async function pushRunCache(cache: CacheStore, mkDir: string, target: Target, opts: { concurrency?: number; signal?: AbortSignal; known?: KnownBlobs } = {}): Promise<RunCacheTransfer> {
  const index = new RunIndex(mkDir);
  const r: RunCacheTransfer = { entries: 0, skipped: 0, unusable: 0 };
  const roots: Descriptor[] = [];
  const tags: Array<{ desc: Descriptor; name: string }> = [];
  for (const key of index.keys()) {
    const desc = index.get(key);
    if (!desc || !cache.existsSync(desc)) {
      index.forget(key);
      r.unusable++;
      continue;
    }
    if (opts.known?.has(desc)) {
      r.skipped++;
      continue;
    }
    const e = await readEntry(cache, desc, key);
    if (typeof e === 'string' || !e.manifest.layers.every((l) => cache.existsSync(l))) {
      index.forget(key);
      r.unusable++;
      continue;
    }
    roots.push(desc);
    tags.push({ desc, name: RUN_TAG_PREFIX + key });
  }
  if (!roots.length) return r;
  try {
    await copyGraph(cache, target, roots, { concurrency: opts.concurrency, signal: opts.signal, known: opts.known, tags });
    opts.known?.add(roots);
    r.entries = roots.length;
  } catch (e) {
    r.problem = (e as Error).message;
  }
  return r;
}

/**
 * Fetches the remote's run cache entries this clone lacks (their `mk-run-<key>` tags): each
 * entry's manifest and config, checked (its key recomputed from its inputs), into the cache
 * and the index. Outputs' blobs are fetched when `mk repro` restores from an entry, not now.
 */
export async function fetchRunCache(remote: Target, cache: CacheStore, mkDir: string, opts: { concurrency?: number } = {}): Promise<RunCacheTransfer> {
  const index = new RunIndex(mkDir);
  const r: RunCacheTransfer = { entries: 0, skipped: 0, unusable: 0 };
  let tags: string[];
  try {
    tags = await remote.tags();
  } catch (e) {
    return { ...r, problem: (e as Error).message };
  }
  const keys = tags.filter((t) => t.startsWith(RUN_TAG_PREFIX) && /^[0-9a-f]{64}$/.test(t.slice(RUN_TAG_PREFIX.length))).map((t) => t.slice(RUN_TAG_PREFIX.length));
  const limit = pLimit(Math.max(1, Math.min(opts.concurrency ?? 6, 16)));
  await Promise.all(
    keys.map((key) =>
      limit(async () => {
        const have = index.get(key);
        if (have && cache.existsSync(have)) {
          r.skipped++;
          return;
        }
        const found = await remoteEntry(remote, cache, index, key).catch(() => undefined);
        if (found) r.entries++;
        else r.unusable++;
      }),
    ),
  );
  return r;
}
