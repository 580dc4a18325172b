/**
 * `mk get` of one small file of a large dataset reads only that file's bytes out of the pack
 * that holds it: an HTTP Range request to a registry (its bytes counted at the recording proxy
 * in front of the registry), a read at the offset in an OCI layout. A registry that ignores
 * Range (200, the whole body) still gives the right file; bytes that do not match at the
 * derived offset make mk read the whole (verified) pack instead.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, randomBytesFrom, rng } from '../../support/files.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.js';
import { mkAsync, mkJsonAsync } from '../modelkit/tools.js';
import { git, makeRepo, mk, tempDir } from '../../support/repo.js';

const FILES = 3000;
const SIZE = 2048;

describe('mk get reads one file of a 3,000-file dataset by byte range', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  const cleanups: Array<() => void> = [];
  let src: string;
  let layoutDir: string;
  let bare: string;
  let commit: string;
  const rand = rng(23);
  const name = (i: number) => `data/set/part-${i % 7}/s${String(i).padStart(5, '0')}.bin`;

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    const a = makeRepo();
    cleanups.push(a.cleanup);
    src = a.dir;
    for (let i = 0; i < FILES; i++) put(join(src, name(i)), randomBytesFrom(rand, SIZE));
    mk(src, 'add', 'data/set');
    git(src, 'add', '-A');
    git(src, 'commit', '-qm', 'dataset');
    // Pushed straight to the registry (and to a layout); clones read through the proxy.
    mk(src, 'remote', 'add', 'direct', `oci://${registry.host}/team/range`);
    mk(src, 'push', '-r', 'direct');
    const t = tempDir('mk-range-layout-');
    cleanups.push(t.cleanup);
    layoutDir = join(t.dir, 'store');
    mk(src, 'remote', 'add', 'lay', layoutDir);
    mk(src, 'push', '-r', 'lay', '--no-modelkit');
    // A layout holding the ModelKit without mk's directory manifests (as a ModelKit made by kit):
    // the referrers' fallback tag is taken out of its index.
    bare = join(t.dir, 'bare');
    mk(src, 'remote', 'add', 'bare', bare);
    mk(src, 'push', '-r', 'bare');
    const index = JSON.parse(readFileSync(join(bare, 'index.json'), 'utf8')) as { manifests: Array<{ annotations?: Record<string, string> }> };
    const before = index.manifests.length;
    index.manifests = index.manifests.filter((m) => !/^sha256-/.test(m.annotations?.['org.opencontainers.image.ref.name'] ?? ''));
    expect(index.manifests.length).toBe(before - 1);
    writeFileSync(join(bare, 'index.json'), JSON.stringify(index));
    commit = git(src, 'rev-parse', 'HEAD').trim();
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    for (const c of cleanups) c();
  });

  /** A clone with no data, whose only remote is `url`. */
  const clone = (url: string) => {
    const b = tempDir('mk-range-clone-');
    cleanups.push(b.cleanup);
    git(b.dir, 'clone', '-q', src, 'work');
    const work = join(b.dir, 'work');
    mk(work, 'remote', 'add', 'origin', url, '--local');
    return work;
  };
  const blobGets = () => proxy.requests.filter((q) => q.method === 'GET' && /\/v2\/team\/range\/blobs\/sha256:/.test(q.url));
  const packSizeOf = async (url: string) => {
    const res = await fetch(`${registry.url}${url.replace(/\?.*$/, '')}`, { method: 'HEAD' });
    return Number(res.headers.get('content-length'));
  };

  it('through a registry: one Range request of exactly the file, verified (the pack is ~500 times larger)', async () => {
    const work = clone(`oci://${proxy.host}/team/range`);
    const out = join(work, '..', 'one.bin');
    proxy.clear();
    const r = await mkJsonAsync(work, ['get', name(1234), '-o', out]);
    expect(readFileSync(out).equals(readFileSync(join(src, name(1234))))).toBe(true);
    expect(r).toMatchObject({ type: 'file', files: 1, bytes: SIZE, packsInPart: 1, rangeRequests: 1 });
    const gets = blobGets();
    const ranged = gets.filter((q) => q.headers.range !== undefined);
    expect(ranged).toHaveLength(1);
    expect(ranged[0]!.status).toBe(206);
    expect(ranged[0]!.bytes).toBe(SIZE);
    const packSize = await packSizeOf(ranged[0]!.url);
    expect(packSize).toBeGreaterThan(100 * SIZE);
    // Everything else read is the folder's metadata: its root and file lists (whole, verified).
    const total = gets.reduce((n, q) => n + (q.bytes ?? 0), 0);
    expect(r.downloadedBytes).toBe(total);
    expect(r.downloaded).toBe(gets.length); // the root, the file lists, and the pack (in part)
    expect(total - SIZE).toBeLessThan(FILES * 150); // metadata: ~100 bytes a file
    // The pack itself never entered the cache; the work tree is untouched.
    expect(git(work, 'status', '--porcelain')).toBe('');
    const again = await mkJsonAsync(work, ['get', name(1234), '-o', join(work, '..', 'two.bin')]);
    expect(again).toMatchObject({ packsInPart: 1, downloadedBytes: SIZE });
  });

  it('a registry that ignores Range: the bytes before the file are read and dropped (and counted); the file is right', async () => {
    const work = clone(`oci://${proxy.host}/team/range`);
    const out = join(work, '..', 'one.bin');
    await mkJsonAsync(work, ['get', name(7), '-o', join(work, '..', 'warm.bin')]); // root and lists cached
    proxy.clear();
    const rule = proxy.fault({ method: 'GET', path: /\/blobs\/sha256:/ }, { kind: 'ignore-range' }, 10);
    const r = await mkJsonAsync(work, ['get', name(2999), '-o', out]);
    expect(rule.applied).toBe(1);
    expect(readFileSync(out).equals(readFileSync(join(src, name(2999))))).toBe(true);
    const q = blobGets().find((x) => x.headers.range !== undefined)!;
    expect(q.status).toBe(200);
    // Everything up to the end of the file was received (a file list it lacked too); mk stopped reading there.
    const lists = blobGets()
      .filter((x) => x !== q)
      .reduce((n, x) => n + (x.bytes ?? 0), 0);
    expect(r.downloadedBytes - lists).toBeGreaterThan(SIZE);
    expect(r.downloadedBytes - lists).toBeLessThanOrEqual(await packSizeOf(q.url));
    expect(r).toMatchObject({ packsInPart: 1, rangeRequests: 1 });
  });

  it('bytes that do not match at the derived offset: the whole pack is read (verified) instead', async () => {
    const work = clone(`oci://${proxy.host}/team/range`);
    const out = join(work, '..', 'one.bin');
    await mkJsonAsync(work, ['get', name(8), '-o', join(work, '..', 'warm.bin')]);
    proxy.clear();
    const rule = proxy.fault({ method: 'GET', path: /\/blobs\/sha256:/ }, { kind: 'corrupt', at: 100 }, 1);
    const r = await mkJsonAsync(work, ['get', name(15), '-o', out]);
    expect(rule.applied).toBe(1);
    expect(readFileSync(out).equals(readFileSync(join(src, name(15))))).toBe(true);
    const gets = blobGets();
    expect(gets).toHaveLength(2); // the range, then the whole pack
    expect(gets[1]!.headers.range).toBeUndefined();
    expect(r.downloadedBytes).toBe(SIZE + (await packSizeOf(gets[1]!.url)));
    // The whole pack is now cached: the next file of that pack is read from the cache.
    const next = await mkJsonAsync(work, ['get', name(15), '-o', join(work, '..', 'again.bin')]);
    expect(next).toMatchObject({ downloaded: 0, downloadedBytes: 0 });
  });

  it('from an OCI layout: a read at the offset, the file alone', async () => {
    const work = clone(layoutDir);
    const out = join(work, '..', 'one.bin');
    await mkJsonAsync(work, ['get', name(3), '-o', join(work, '..', 'warm.bin')]);
    const r = await mkJsonAsync(work, ['get', name(2500), '-o', out]);
    expect(readFileSync(out).equals(readFileSync(join(src, name(2500))))).toBe(true);
    expect(r).toMatchObject({ packsInPart: 1, rangeRequests: 1, downloaded: 1, downloadedBytes: SIZE });
  });

  it('of a ModelKit reference, without Git: the Range request of the file, and only the file list of its pack', async () => {
    const box = tempDir('mk-range-nogit-');
    cleanups.push(box.cleanup);
    const ref = `${proxy.host}/team/range:${commit}`;
    proxy.clear();
    const r = await mkJsonAsync(box.dir, ['get', ref, name(1234), '-o', 'one.bin']);
    expect(readFileSync(join(box.dir, 'one.bin')).equals(readFileSync(join(src, name(1234))))).toBe(true);
    expect(r).toMatchObject({ reference: ref, commit, type: 'file', files: 1, bytes: SIZE, packsInPart: 1, rangeRequests: 1 });
    const ranged = blobGets().filter((q) => q.headers.range !== undefined);
    expect(ranged.map((q) => [q.status, q.bytes])).toEqual([[206, SIZE]]);
    const lists = blobGets().filter((q) => q.headers.range === undefined);
    // The config, the folder's root, and at most two of its three file lists (a binary search).
    expect(lists.length).toBeLessThanOrEqual(4);
    expect(readdirSync(box.dir)).toEqual(['one.bin']); // nothing else written: no cache
  });

  it('a folder of a ModelKit reference: exact files; a ModelKit without directory manifests is read layer by layer', async () => {
    const box = tempDir('mk-range-nogit-');
    cleanups.push(box.cleanup);
    const r = await mkJsonAsync(box.dir, ['get', `${proxy.host}/team/range:${commit}`, 'data/set/part-3', '-o', 'p3']);
    expect(r).toMatchObject({ type: 'dir', files: Math.ceil((FILES - 3) / 7) });
    expect(r.packsInPart).toBeGreaterThan(0);
    const want = readdirSync(join(src, 'data/set/part-3')).sort();
    expect(readdirSync(join(box.dir, 'p3')).sort()).toEqual(want);
    for (const f of want) expect(readFileSync(join(box.dir, 'p3', f)).equals(readFileSync(join(src, 'data/set/part-3', f)))).toBe(true);
    const whole = await mkJsonAsync(box.dir, ['get', `oci:${bare}:${commit}`, name(42), '-o', 'k.bin']);
    expect(readFileSync(join(box.dir, 'k.bin')).equals(readFileSync(join(src, name(42))))).toBe(true);
    expect(whole).toMatchObject({ packsInPart: 0, rangeRequests: 0, files: 1 });
    expect(whole.downloadedBytes).toBeGreaterThan(100 * SIZE);
    const bad = await mkAsync(box.dir, ['get', `oci:${bare}:${commit}`, 'data/set/part-9']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/data\/set\/part-9 is not in ModelKit/);
  });
});
