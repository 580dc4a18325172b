import type { Descriptor } from '../content/descriptor.js';
import { hasLocalStat, hasSourcing, type BlobSource, type FetchOptions, type Fetcher, type LocalStat, type SmallReads, type Sourcing } from '../content/storage.js';
import { NotFoundError } from '../errors/index.js';

function hasSmallReads(t: unknown): t is SmallReads {
  return typeof (t as SmallReads).readSmall === 'function';
}

/**
 * Reads from `first`, then from `second`: new blobs held in memory in front of the cache
 * (a directory root and its new file lists over the packs already cached; a referrer over
 * the blobs it names), so one graph copy can send them all, children first.
 */
export function overlay(first: Fetcher & LocalStat, second: Fetcher): Fetcher & LocalStat & Sourcing & SmallReads {
  const inFirst = (d: Pick<Descriptor, 'digest' | 'size'>) => first.existsSync(d);
  return {
    async exists(d) {
      return inFirst(d) || (await second.exists(d));
    },
    async fetch(d: Descriptor, opts?: FetchOptions) {
      return inFirst(d) ? first.fetch(d, opts) : second.fetch(d, opts);
    },
    existsSync(d) {
      return inFirst(d) || (hasLocalStat(second) && second.existsSync(d));
    },
    statBlobSync(digest) {
      return first.statBlobSync(digest) ?? (hasLocalStat(second) ? second.statBlobSync(digest) : undefined);
    },
    source(d: Descriptor): BlobSource {
      const from = inFirst(d) ? first : second;
      if (hasSourcing(from)) return from.source(d);
      return {
        selfVerifying: true,
        open: (offset = 0) =>
          (async function* () {
            yield* await from.fetch(d, offset ? { range: { start: offset } } : {});
          })(),
      };
    },
    readSmall(digest, what, limit) {
      for (const s of [first, second]) if (hasSmallReads(s) && (!hasLocalStat(s) || s.statBlobSync(digest) !== undefined)) return s.readSmall(digest, what, limit);
      throw new NotFoundError(`${what} is not in memory or in the cache`);
    },
    readHead(digest, n) {
      for (const s of [first, second])
        if (hasSmallReads(s)) {
          const h = s.readHead(digest, n);
          if (h) return h;
        }
      return undefined;
    },
  };
}
