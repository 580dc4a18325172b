/**
 * The cache names what it stores itself (issue 22): every writer goes through the store's
 * ingest, which hashes the bytes as they are written, so no caller can put bytes under a
 * wrong name, in this process or (through verified.json) for later ones.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bufferSource } from '../../../src/content/storage.js';
import { isMkError } from '../../../src/errors/index.js';
import { openCacheStore } from '../../../src/stores/open.js';
import { MemoryStore } from '../../../src/stores/memory/memory-store.js';
import { ensureCached } from '../../../src/worktree/merge.js';

const root = mkdtempSync(join(tmpdir(), 'mk-ingest-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha = (b: Uint8Array) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const blobFile = (cache: string, digest: string) => join(cache, 'blobs', 'sha256', digest.slice(7));

describe("the cache's ingest", () => {
  it('names a blob by the bytes written, in chunks or at once', async () => {
    const dir = join(root, 'a');
    const cache = openCacheStore(dir);
    const parts = [Buffer.from('hello '), Buffer.alloc(5 << 20, 7), Buffer.from('world')];
    const w = await cache.ingest('some/file.bin');
    for (const p of parts) await w.write(p);
    const r = await w.commit();
    const all = Buffer.concat(parts);
    expect(r).toEqual({ digest: sha(all), size: all.length, written: true });
    expect(readFileSync(blobFile(dir, r.digest)).equals(all)).toBe(true);
    const again = await cache.ingest('x');
    again.writeSync(all);
    expect(await again.commit()).toEqual({ digest: sha(all), size: all.length, written: false });
    const f = join(root, 'src.bin');
    writeFileSync(f, all);
    expect(await cache.ingestFile(f)).toEqual({ digest: sha(all), size: all.length, written: false });
  });

  it('a caller passing a wrong digest cannot create a blob under that name, whatever the source claims', async () => {
    const dir = join(root, 'b');
    const cache = openCacheStore(dir);
    const bytes = Buffer.from('the real bytes');
    const wrong = sha(Buffer.from('the bytes the caller says it has'));
    const file = join(root, 'claimed.bin');
    writeFileSync(file, bytes);
    // A buffer, a file, and a file the source says is a trusted cache blob (only mk's stores may say so).
    const open = (offset?: number) => bufferSource(bytes).open(offset);
    for (const source of [bufferSource(bytes), { path: file, open }, { path: file, trusted: true, open }]) {
      const e = await cache.push({ mediaType: 'application/octet-stream', digest: wrong, size: bytes.length }, source).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(isMkError(e, 'EDIGEST'), String(e)).toBe(true);
      expect(existsSync(blobFile(dir, wrong))).toBe(false);
    }
    // Nor is it remembered as verified for a later process.
    const verified = join(dir, 'verified.json');
    if (existsSync(verified)) expect(readFileSync(verified, 'utf8')).not.toContain(wrong.slice(7));
  });

  it('an aborted ingest leaves nothing, and a gc-claimed reuse says whether the blob is there', async () => {
    const dir = join(root, 'c');
    const cache = openCacheStore(dir);
    const w = await cache.ingest('x');
    await w.write(Buffer.from('partial'));
    await w.abort();
    expect(await cache.listBlobs()).toEqual([]);
    const r = await (async () => {
      const x = await cache.ingest('y');
      x.writeSync(Buffer.from('kept'));
      return x.commit();
    })();
    expect(cache.claim(r)).toBe(true);
    expect(cache.claim({ digest: sha(Buffer.from('never stored')), size: 12 })).toBe(false);
  });

  it('a graph copy into the cache claims the blobs the cache already holds (a folder merge fetching what it lacks), so a gc keeps them', async () => {
    const dir = join(root, 'copy');
    const cache = openCacheStore(dir);
    const held = Buffer.from('already in the cache');
    const lacking = Buffer.from('only on the remote');
    const h = await cache.ingest('held');
    h.writeSync(held);
    const hd = await h.commit();
    // The claims this process wrote (the files a gc reads), counted for the held blob before and after.
    const claimed = () => {
      const d = join(dir, 'claims');
      return existsSync(d)
        ? readdirSync(d)
            .map((f) => readFileSync(join(d, f), 'utf8'))
            .join('')
        : '';
    };
    const before = claimed().split(hd.digest.slice(7)).length - 1;
    const remote = new MemoryStore();
    const ld = { mediaType: 'application/octet-stream', digest: sha(lacking), size: lacking.length };
    await remote.push(ld, bufferSource(lacking));
    await ensureCached({ cache, remote: async () => remote }, [{ mediaType: 'application/octet-stream', digest: hd.digest, size: hd.size }, ld], 'a merged folder');
    expect(claimed().split(hd.digest.slice(7)).length - 1).toBe(before + 1);
    expect(cache.existsSync(ld)).toBe(true);
  });
});
