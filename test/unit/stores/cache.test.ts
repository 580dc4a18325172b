/**
 * mk's cache (openCacheStore: an OCI image layout that remembers what it verified): the Target
 * contract, and what only the cache does: a blob changed on disk behind its back is never
 * served (it is dropped), copies out are whole and verified, small reads are verified, and
 * maintenance lists and deletes blobs. (Through the CLI, with the stat-data trust rule:
 * test/e2e/core/corruption.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Descriptor } from '../../../src/content/descriptor.js';
import { MediaType } from '../../../src/content/media-types.js';
import { bufferSource, readAll, type CacheStore } from '../../../src/content/storage.js';
import { isMkError } from '../../../src/errors/index.js';
import { sha256 } from '../../../src/hashing/digest.js';
import { openCacheStore } from '../../../src/stores/open.js';
import { targetContract } from '../../support/target-contract.js';

const root = mkdtempSync(join(tmpdir(), 'mk-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

targetContract('the cache (openCacheStore)', async (name) => ({ target: openCacheStore(join(root, name)) }));

let n = 0;
const fresh = (): { cache: CacheStore; dir: string } => {
  const dir = join(root, `cache-${++n}`);
  return { cache: openCacheStore(dir), dir };
};
async function stored(cache: CacheStore, size: number): Promise<{ desc: Descriptor; bytes: Buffer }> {
  const bytes = randomBytes(size);
  const desc = { mediaType: MediaType.octet, digest: sha256(bytes), size };
  await cache.push(desc, bufferSource(bytes));
  return { desc, bytes };
}
const blobFile = (dir: string, d: Descriptor) => join(dir, 'blobs', 'sha256', d.digest.slice(7));
/**
 * A blob an earlier process stored (as mk writes them: read-only, under its digest). This
 * process trusts blobs it wrote itself for as long as it runs, so damage is tested on these.
 */
function storedEarlier(dir: string, size: number): { desc: Descriptor; bytes: Buffer } {
  const bytes = randomBytes(size);
  const desc = { mediaType: MediaType.octet, digest: sha256(bytes), size };
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(blobFile(dir, desc), bytes, { mode: 0o444 });
  return { desc, bytes };
}
/** Flips bytes of a blob in place, as bit rot or a stray editor would (its size stays). */
function rot(dir: string, d: Descriptor): void {
  const p = blobFile(dir, d);
  chmodSync(p, 0o644);
  const b = readFileSync(p);
  b[0]! ^= 0xff;
  writeFileSync(p, b);
}
async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isMkError(e) ? e.code : `not an MkError: ${String(e)}`;
  }
}

describe('the cache', () => {
  it('stores blobs read-only under their digest', async () => {
    const { cache, dir } = fresh();
    const b = await stored(cache, 5000);
    expect(readFileSync(blobFile(dir, b.desc)).equals(b.bytes)).toBe(true);
    expect(statSync(blobFile(dir, b.desc)).mode & 0o222).toBe(0);
    expect(cache.existsSync(b.desc)).toBe(true);
    expect(cache.statBlobSync(b.desc.digest)).toBe(5000);
  });

  it('never serves a blob changed behind its back: a whole read fails and the blob is dropped', async () => {
    const { cache, dir } = fresh();
    const b = storedEarlier(dir, 70_000);
    expect((await readAll(await cache.fetch(b.desc))).equals(b.bytes)).toBe(true);
    rot(dir, b.desc);
    expect(await codeOf(cache.fetch(b.desc).then(readAll))).toBe('EDIGEST');
    expect(existsSync(blobFile(dir, b.desc))).toBe(false);
    expect(await cache.exists(b.desc)).toBe(false);
  });

  it('verify re-hashes: a good blob stays, a rotten one goes', async () => {
    const { cache, dir } = fresh();
    const good = storedEarlier(dir, 3000);
    const bad = storedEarlier(dir, 3000);
    rot(dir, bad.desc);
    expect(await cache.verify(good.desc)).toBe(true);
    expect(await cache.verify(bad.desc)).toBe(false);
    expect(cache.existsSync(good.desc)).toBe(true);
    expect(cache.existsSync(bad.desc)).toBe(false);
  });

  it('copies a blob out whole, with the mode asked for, and refuses one that went bad', async () => {
    const { cache, dir } = fresh();
    const b = storedEarlier(dir, 9000);
    const out = join(dir, 'out.bin');
    await cache.copyOut(b.desc, out, { mode: 0o755 });
    expect(readFileSync(out).equals(b.bytes)).toBe(true);
    expect(statSync(out).mode & 0o777).toBe(0o755);
    rot(dir, b.desc);
    const again = join(dir, 'again.bin');
    expect(await codeOf(cache.copyOut(b.desc, again, { mode: 0o644 }))).toBe('EDIGEST');
    expect(existsSync(again)).toBe(false);
  });

  it('reads small blobs whole and verified; a rotten one is not returned', async () => {
    const { cache, dir } = fresh();
    const b = storedEarlier(dir, 400);
    expect(cache.readSmall(b.desc.digest, 'a list').equals(b.bytes)).toBe(true);
    expect(cache.readHead(b.desc.digest, 10)!.equals(b.bytes.subarray(0, 10))).toBe(true);
    rot(dir, b.desc);
    expect(() => cache.readSmall(b.desc.digest, 'a list')).toThrow(expect.objectContaining({ code: 'EDIGEST' }));
    expect(cache.existsSync(b.desc)).toBe(false);
    expect(() => cache.readSmall(b.desc.digest, 'a list')).toThrow(expect.objectContaining({ code: 'ENOTFOUND' }));
  });

  it('lists and deletes blobs; what killed writers left in the ingest folder goes', async () => {
    const { cache, dir } = fresh();
    const a = await stored(cache, 100);
    const b = await stored(cache, 200);
    expect((await cache.listBlobs()).map((x) => x.digest).sort()).toEqual([a.desc.digest, b.desc.digest].sort());
    // gc frees through a sweep (claimed blobs are kept: see test/unit/stores/ingest.test.ts).
    const sweep = await cache.beginSweep();
    await sweep.free([a.desc.digest]);
    sweep.end();
    expect((await cache.listBlobs()).map((x) => x.digest)).toEqual([b.desc.digest]);
    mkdirSync(join(dir, 'ingest'), { recursive: true });
    const left = join(dir, 'ingest', `killed-999999-${randomBytes(6).toString('hex')}`);
    writeFileSync(left, 'half a blob');
    const hourAgo = Date.now() / 1000 - 3700;
    utimesSync(left, hourAgo, hourAgo);
    const live = join(dir, 'ingest', `being_written-${process.pid}-${randomBytes(6).toString('hex')}`);
    writeFileSync(live, 'a blob on its way');
    expect(await cache.cleanIngest()).toBe(1);
    expect(existsSync(left)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });
});
