import { createHash } from 'node:crypto';
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import tar from 'tar-stream';
import { MediaType } from '../content/media-types.js';
import { DigestMismatchError, MkError } from '../errors/index.js';
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
 * Extracts the wanted files of a pack (keyed by their tar entry name) from the cache.
 * Entries are matched by exact name against `wants`, so a pack can never write anywhere
 * else; every file is hashed as it is written and renamed into place only if it matches.
 * The pack itself is verified as it streams.
 */
export async function extractPack(cache: CacheStore, pack: { digest: string; size: number }, wants: Map<string, PackWant>, onPlaced: (name: string, p: Placed) => void): Promise<void> {
  const desc = { mediaType: MediaType.octet, digest: pack.digest, size: pack.size };
  const src = await cache.fetch(desc);
  const ex = tar.extract();
  const remaining = new Set(wants.keys());
  const feeding = (async () => {
    try {
      for await (const chunk of src) {
        // Stop feeding once the reader gave up (a bad entry destroys the extractor): waiting
        // for a 'drain' that never comes would leave nothing for the event loop to do, and
        // Node would exit mid-checkout with status 0.
        if (ex.destroyed) return;
        if (!ex.write(chunk as Buffer)) await drainedOrClosed(ex);
      }
      if (!ex.destroyed) (ex as unknown as { end(): void }).end();
    } catch (e) {
      ex.destroy(e as Error);
      throw e;
    }
  })();
  feeding.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
  try {
    for await (const entry of ex) {
      const want = entry.header.type === 'file' ? wants.get(entry.header.name) : undefined;
      if (!want) {
        entry.resume();
        continue;
      }
      // Synchronous file calls: tens of thousands of small files cost in per-call thread-pool
      // hand-offs (and lock contention on the folder), not in bytes.
      prepareParent(want.dest);
      const tmp = tmpName(want.dest);
      const fd = openSync(tmp, 'wx', 0o600);
      const h = createHash('sha256');
      let n = 0;
      try {
        for await (const c of entry as AsyncIterable<Buffer>) {
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
        throw new DigestMismatchError(`${entry.header.name} in pack ${pack.digest}`, want.digest, got);
      }
      chmodSync(tmp, want.mode);
      renameSync(tmp, want.dest);
      remaining.delete(entry.header.name);
      onPlaced(entry.header.name, { abs: want.dest, stat: lstatSync(want.dest), digest: got });
    }
    await feeding;
  } catch (e) {
    await feeding.catch(() => undefined);
    if (e instanceof DigestMismatchError) throw e; // the verifying read removed a damaged pack
    if (e instanceof MkError) throw e;
    // The tar parser gave up: damaged bytes (then the blob no longer matches its digest and
    // leaves the cache) or a pack that is not a tar at all.
    if (!(await cache.verify(desc))) throw new DigestMismatchError(`pack ${pack.digest}`, pack.digest, 'different bytes');
    throw new MkError('EPACK', `pack ${pack.digest} cannot be read as a tar (${(e as Error).message})`);
  }
  if (remaining.size) throw new MkError('EPACK', `pack ${pack.digest} lacks ${remaining.size} expected file(s), e.g. ${[...remaining][0]}`);
}

/** Resolves on 'drain' or when the stream is closed/destroyed, whichever comes first. */
function drainedOrClosed(stream: import('node:events').EventEmitter & { destroyed?: boolean }): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
