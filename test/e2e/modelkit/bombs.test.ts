/**
 * Decompression bombs (issue 22): ModelKit layers of a few KiB to 3 MiB that stand for 3 GiB,
 * built here by hand (zstd RLE blocks, repeated gzip members), in a local OCI layout, unpacked
 * by the real CLI. Each is refused at the first byte past what its ModelKit declares (the tar's
 * own end, a file's declared size, the free space a declared size needs), or, declared in
 * full but with a wrong diffId, streamed whole into a temporary place and refused at its end;
 * in one line, and:
 * - mk's peak resident memory (the process's own maxRSS, reported at its exit by a preloaded
 *   module) stays under 200 MiB: the zstd path used to inflate a whole chunk at once (3.1 GiB);
 * - the bytes mk writes (its own write calls, /proc/self/io) stay within what is declared,
 *   plus the compressed layer copied into the cache (and 1% for the 8-byte wake-ups libuv's
 *   threads write to the event loop, which count as writes too): nothing fills the target disk;
 * - the target folder is left with nothing.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { expectMkError, gitEnv, MK_BIN, tempDir } from '../../support/repo.js';

const GiB = 1 << 30;
const MiB = 1 << 20;
const BOMB = 3 * GiB;
const PEAK_LIMIT = 200 * MiB;
const REPORT = fileURLToPath(new URL('../../support/resource-report.mjs', import.meta.url));

const tmp = tempDir('mk-bombs-');
afterAll(() => tmp.cleanup());

const sha = (b: Uint8Array) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** A ustar header for one regular file (`size` may exceed ustar's 8 GiB: then base-256, as GNU tar writes it). */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  if (size < 8 * GiB) h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  else {
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--, v >>= 8n) h[i] = Number(v & 0xffn);
  }
  h.write('00000000000\0', 136);
  h.write('0', 156);
  h.write('ustar\0' + '00', 257);
  h.write('        ', 148);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

/** A small tar: one file of `n` bytes under data/ and the end marker. */
function smallTar(n: number): Buffer {
  const body = Buffer.alloc(Math.ceil(n / 512) * 512, 0x61);
  body.fill(0, n);
  return Buffer.concat([tarHeader('data/small.bin', n), body, Buffer.alloc(1024)]);
}

/**
 * A zstd frame of `prefix` (raw blocks) followed by `byte` repeated up to `total` bytes (RLE
 * blocks of 128 KiB: 4 bytes each), with a 128 KiB window, written by hand (RFC 8878).
 */
function zstdBomb(prefix: Buffer, byte: number, total: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3])];
  const block = (type: number, size: number, last: boolean) => {
    const h = (size << 3) | (type << 1) | (last ? 1 : 0);
    return Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]);
  };
  let left = total;
  for (let off = 0; off < prefix.length; off += 128 << 10) {
    const chunk = prefix.subarray(off, off + (128 << 10));
    left -= chunk.length;
    parts.push(block(0, chunk.length, left === 0), chunk);
  }
  const rle = block(1, 128 << 10, false);
  while (left > 0) {
    const n = Math.min(left, 128 << 10);
    left -= n;
    parts.push(n === 128 << 10 && left > 0 ? rle : block(1, n, left === 0), Buffer.from([byte]));
  }
  return Buffer.concat(parts);
}

/** gzip members (gzip allows several, one after another): `prefix`, then 16 MiB runs of `byte` up to `total`. */
function gzipBomb(prefix: Buffer, byte: number, total: number): Buffer {
  const run = gzipSync(Buffer.alloc(16 * MiB, byte), { level: 9 });
  const parts = [gzipSync(prefix)];
  let left = total - prefix.length;
  while (left >= 16 * MiB) {
    parts.push(run);
    left -= 16 * MiB;
  }
  if (left > 0) parts.push(gzipSync(Buffer.alloc(left, byte)));
  return Buffer.concat(parts);
}

/** An OCI layout holding one ModelKit (kit's format) whose only layer is `layer`; returns its reference. */
function layout(name: string, layer: Buffer, mediaType: string, entry: Record<string, unknown>, annotations?: Record<string, string>): string {
  const dir = join(tmp.dir, `layout-${name}`);
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer) => {
    writeFileSync(join(dir, 'blobs', 'sha256', sha(b).slice(7)), b);
    return { digest: sha(b), size: b.length };
  };
  const l = put(layer);
  const config = put(Buffer.from(JSON.stringify({ manifestVersion: '1.0.0', package: { name: 'bomb' }, ...entry, ...{} }).replace('"LAYER"', JSON.stringify(l.digest))));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.kitops.modelkit.manifest.v1+json',
      config: { mediaType: 'application/vnd.kitops.modelkit.config.v1+json', ...config },
      layers: [{ mediaType, ...l, ...(annotations ? { annotations } : {}) }],
    }),
  );
  const m = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }),
  );
  return `oci:${dir}:v1`;
}

/** `mk modelkit unpack` with its own peak memory and written bytes reported at exit. */
function unpack(name: string, ref: string): { status: number; stdout: string; stderr: string; peak: number; written: number; target: string } {
  const target = join(tmp.dir, `target-${name}`);
  const report = join(tmp.dir, `report-${name}.json`);
  const r = spawnSync(process.execPath, [MK_BIN, 'modelkit', 'unpack', ref, '-d', target], {
    cwd: tmp.dir,
    encoding: 'utf8',
    env: gitEnv({ MK_CACHE_DIR: join(tmp.dir, `cache-${name}`), NODE_OPTIONS: `--import ${REPORT}`, MK_TEST_RESOURCE_REPORT: report }),
  });
  const rep = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as { maxRssBytes: number; writtenBytes: number }) : { maxRssBytes: NaN, writtenBytes: NaN };
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr + (r.signal ? `(killed by ${r.signal})` : ''), peak: rep.maxRssBytes, written: rep.writtenBytes, target };
}

function expectNothingIn(target: string): void {
  if (existsSync(target)) expect(readdirSync(target, { recursive: true })).toEqual([]);
}

const KIT_TAR = (c: string) => `application/vnd.kitops.modelkit.dataset.v1.tar+${c}`;
const KIT_RAW = (c: string) => `application/vnd.kitops.modelkit.model.v1.raw+${c}`;
const dataset = { datasets: [{ name: 'd', path: 'data', digest: 'LAYER' }] };
const model = { model: { name: 'm', path: 'model.bin', digest: 'LAYER' } };

describe.each([
  ['zstd', zstdBomb],
  ['gzip', gzipBomb],
] as const)('a 3 GiB %s bomb', (c, bomb) => {
  it('behind a small tar: refused a few MiB past the tar end, in bounded memory, nothing written', () => {
    const layer = bomb(smallTar(1000), 0, BOMB);
    expect(layer.length).toBeLessThan(4 * MiB);
    const r = unpack(`tail-${c}`, layout(`tail-${c}`, layer, KIT_TAR(c), dataset));
    expectMkError(r, /goes on for more than 4 MiB past the end its tar entries declare: a decompression bomb/);
    expect(r.peak).toBeLessThan(PEAK_LIMIT);
    expect(r.written).toBeLessThan(layer.length + 2 * MiB); // the layer into the cache, and the one small file staged
    expectNothingIn(r.target);
  });

  it('as a raw layer that declares 1 MiB: refused at its first byte past 1 MiB, in bounded memory', () => {
    const layer = bomb(Buffer.alloc(0), 0x41, BOMB);
    const meta = JSON.stringify({ name: 'model.bin', mode: 0o644, size: MiB });
    const r = unpack(`raw-${c}`, layout(`raw-${c}`, layer, KIT_RAW(c), model, { 'org.cncf.model.filepath': 'model.bin', 'org.cncf.model.file.metadata+json': meta }));
    expectMkError(r, `decompresses to more than the ${MiB} bytes its ModelKit declares: a decompression bomb`);
    expect(r.peak).toBeLessThan(PEAK_LIMIT);
    expect(r.written).toBeLessThan(layer.length + MiB + MiB / 2);
    expectNothingIn(r.target);
  });

  it('as a tar that declares its 3 GiB but whose diffId is wrong: streamed whole in bounded memory into a temp place, refused at the end, nothing left', () => {
    const layer = bomb(tarHeader('data/big.bin', BOMB - 1536), 0, BOMB);
    const wrong = { datasets: [{ name: 'd', path: 'data', digest: 'LAYER', diffId: `sha256:${'0'.repeat(64)}` }] };
    const r = unpack(`diffid-${c}`, layout(`diffid-${c}`, layer, KIT_TAR(c), wrong));
    expectMkError(r, /decompressed bytes do not match the diffId/);
    expect(r.peak).toBeLessThan(PEAK_LIMIT);
    expect(r.written).toBeLessThan(layer.length + BOMB * 1.01); // the declared file, once, and no more
    expectNothingIn(r.target);
  });

  it('behind a tar header that declares more than the disk holds: refused before a byte of it is written', () => {
    const layer = bomb(tarHeader('data/huge.bin', 2 ** 50), 0, BOMB);
    const r = unpack(`huge-${c}`, layout(`huge-${c}`, layer, KIT_TAR(c), dataset));
    expectMkError(r, /data\/huge\.bin needs 1048576\.0 GiB and .* free/);
    expect(r.peak).toBeLessThan(PEAK_LIMIT);
    expect(r.written).toBeLessThan(layer.length + MiB);
    expectNothingIn(r.target);
  });
});
