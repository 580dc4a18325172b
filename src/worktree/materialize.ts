import { createHash } from 'node:crypto';
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { readTar } from '../formats/tar.js';
import { MediaType } from '../content/media-types.js';
import { DigestMismatchError, isMkError, MkError } from '../errors/index.js';
import type { LinkType } from '../repo/config.js';
import type { CacheStore } from '../content/storage.js';
import { tmpName } from '../util/fs.js';

export interface Placed {
  /** Absolute path written. */
  abs: string;
  stat: Stats;
  digest: string;
}

function prepareParent(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
}

/**
 * Places one blob of the cache at `dest`: never a half-written file (temp + rename), never
 * bytes that do not match the digest (the cache copies out only verified or trusted bytes;
 * a bad blob is dropped and nothing is written).
 *
 * - copy: the default (a reflink where the filesystem can).
 * - hardlink / symlink: the blob is verified, then linked. A linked file shares its bytes
 *   with the cache: mk treats an edited link as a modified file and re-verifies cache blobs
 *   before serving them. Executable files are always copied.
 */
export async function placeBlob(cache: CacheStore, digest: string, size: number, dest: string, mode: number, how: LinkType): Promise<Placed> {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = tmpName(dest);
  try {
    const link = (how === 'hardlink' || how === 'symlink') && mode !== 0o755 ? how : undefined;
    await cache.copyOut({ mediaType: MediaType.octet, digest, size }, tmp, { mode, link });
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { abs: dest, stat: lstatSync(dest), digest };
}

export interface PackWant {
  /** Absolute destination. */
  dest: string;
  mode: number;
  digest: string;
  size: number;
}

/**
 * Extracts the wanted files of a pack (keyed by their tar entry name) from the cache, through
 * the one tar reader (its path rule refuses a pack with an entry that escapes). Entries are
 * matched by exact name against `wants`, so a pack can never write anywhere else; every file
 * is hashed as it is written and renamed into place only if it matches. The pack itself is
 * verified as it streams (or vouched for by the cache's trust rule).
 */
export async function extractPack(
  cache: CacheStore,
  pack: { digest: string; size: number },
  wants: Map<string, PackWant>,
  onPlaced: (name: string, p: Placed) => void,
  /** The artifact the wanted names are under (`<artifact>/<path inside>`): a pack written when the folder had another path (moved since) names its files under that path. */
  artifact?: string,
): Promise<void> {
  const desc = { mediaType: MediaType.octet, digest: pack.digest, size: pack.size };
  const remaining = new Set(wants.keys());
  let packPrefix: string | undefined;
  const nameOf = (name: string): string => {
    if (wants.has(name) || artifact === undefined) return name;
    if (packPrefix === undefined) {
      // The pack's own folder path: the part before a path inside the folder that is wanted.
      for (let i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1))
        if (wants.has(`${artifact}/${name.slice(i + 1)}`)) {
          packPrefix = name.slice(0, i);
          break;
        }
      if (packPrefix === undefined) return name;
    }
    return name.startsWith(packPrefix + '/') ? `${artifact}/${name.slice(packPrefix.length + 1)}` : name;
  };
  try {
    await readTar(await cache.fetch(desc), `pack ${pack.digest.slice(7, 19)}`, async (entry) => {
      const name = entry.type === 'file' ? nameOf(entry.name) : entry.name;
      const want = entry.type === 'file' ? wants.get(name) : undefined;
      if (!want) return;
      // Synchronous file calls: tens of thousands of small files cost in per-call thread-pool
      // hand-offs (and lock contention on the folder), not in bytes.
      prepareParent(want.dest);
      const tmp = tmpName(want.dest);
      const fd = openSync(tmp, 'wx', 0o600);
      const h = createHash('sha256');
      let n = 0;
      try {
        for await (const c of entry.body) {
          h.update(c);
          n += c.length;
          let off = 0;
          while (off < c.length) off += writeSync(fd, c, off, c.length - off);
        }
      } catch (e) {
        closeSync(fd);
        rmSync(tmp, { force: true });
        throw e;
      }
      closeSync(fd);
      const got = 'sha256:' + h.digest('hex');
      if (got !== want.digest || n !== want.size) {
        rmSync(tmp, { force: true });
        // The pack is damaged, or the file list that named this file is wrong: only a pack
        // that no longer hashes to its name leaves the cache.
        await cache.verify(desc);
        throw new DigestMismatchError(`${entry.name} in pack ${pack.digest}`, want.digest, got);
      }
      chmodSync(tmp, want.mode);
      renameSync(tmp, want.dest);
      remaining.delete(name);
      onPlaced(name, { abs: want.dest, stat: lstatSync(want.dest), digest: got });
    });
  } catch (e) {
    if (!isMkError(e, 'ETAR')) throw e; // a damaged pack was dropped by the verifying read
    // The tar reader gave up: damaged bytes (then the blob no longer matches its digest and
    // leaves the cache) or a pack that is not a tar at all.
    if (!(await cache.verify(desc))) throw new DigestMismatchError(`pack ${pack.digest}`, pack.digest, 'different bytes');
    throw new MkError('EPACK', `pack ${pack.digest} cannot be read as a tar (${(e as Error).message})`);
  }
  if (remaining.size) throw new MkError('EPACK', `pack ${pack.digest} lacks ${remaining.size} expected file(s), e.g. ${[...remaining][0]}`);
}
