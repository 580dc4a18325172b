import pLimit from 'p-limit';
import type { Descriptor } from '../content/descriptor.js';
import { hasSourcing, type BlobSource, type Fetcher, type Target } from '../content/storage.js';

export interface CopyProgress {
  /** Total blobs and bytes to consider. */
  totalBlobs: number;
  totalBytes: number;
  /** Bytes moved so far (new transfers only). */
  doneBytes: number;
  skippedBlobs: number;
  copiedBlobs: number;
}

export interface CopyOptions {
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: CopyProgress) => void;
  /** Blobs known to be in `dst` already (not asked for), and where to record those found or sent. */
  known?: { has(d: Descriptor): boolean; add(ds: Descriptor[]): void };
}

export interface CopyResult {
  /** Blobs whose bytes were sent. */
  copied: Descriptor[];
  /** Blobs the destination already held. */
  skipped: Descriptor[];
  /** Blobs the destination got without their bytes: a registry mounted them from another repository. */
  mounted: Descriptor[];
  /** Bytes sent (mounted blobs excluded). */
  bytes: number;
}

/** A reopenable source for a blob of `src`: the store's own (a local file, maybe trusted) when it has one, else a (ranged) fetch. */
export function sourceOf(src: Fetcher, desc: Descriptor): BlobSource {
  if (hasSourcing(src)) return src.source(desc);
  return {
    // Whole reads from every store are verified as they stream (OciLayoutStore, RegistryStore).
    selfVerifying: true,
    async *open(offset = 0) {
      yield* await src.fetch(desc, offset ? { range: { start: offset } } : {});
    },
  };
}

/**
 * Copies one level of a graph (blobs none of which names another, and that `dst` lacks:
 * copyGraph has checked) from `src` to `dst`, largest first, a bounded number at a time. Every store
 * verifies what it receives against the descriptor, so a corrupt source is never copied
 * under a valid name. Only copyGraph calls this: it alone orders the levels.
 */
export async function copyLevel(
  src: Fetcher,
  dst: Target,
  blobs: Descriptor[],
  opts: CopyOptions & { progress: CopyProgress; sourceFor?: (d: Descriptor) => BlobSource | undefined },
): Promise<CopyResult> {
  const uniq = [...new Map(blobs.map((b) => [b.digest, b])).values()].sort((a, b) => b.size - a.size);
  const progress = opts.progress;
  const limit = pLimit(Math.max(1, opts.concurrency ?? 4));
  const copied: Descriptor[] = [];
  const skipped: Descriptor[] = [];
  const mounted: Descriptor[] = [];
  await Promise.all(
    uniq.map((d) =>
      limit(async () => {
        opts.signal?.throwIfAborted();
        let wasMounted = false;
        await dst.push(d, opts.sourceFor?.(d) ?? sourceOf(src, d), {
          onMounted: () => (wasMounted = true),
          absent: true, // copyGraph has just asked
          signal: opts.signal,
          onProgress: (n) => {
            progress.doneBytes += n;
            opts.onProgress?.(progress);
          },
        });
        if (wasMounted) progress.doneBytes += d.size;
        (wasMounted ? mounted : copied).push(d);
        opts.known?.add([d]);
        progress.copiedBlobs++;
        opts.onProgress?.(progress);
      }),
    ),
  );
  return { copied, skipped, mounted, bytes: copied.reduce((s, b) => s + b.size, 0) };
}
