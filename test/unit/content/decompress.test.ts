/**
 * Compressed ModelKit layers (gzip, zstd) are decompressed on the fly, and what comes from
 * outside is checked: the source is always read to its end (so the cache's digest check runs),
 * bytes after the compressed stream are refused, the diffId is checked, and every failure is
 * one typed error. The zstd input is made by the real `zstd` tool when the machine has it, and
 * by kit in test/e2e/modelkit/kit-interop.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompress } from '../../../src/content/decompress.js';
import { isMkError } from '../../../src/errors/index.js';

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** The bytes in chunks of `size` (as a stream hands them over), then `onEnd` (a verifying source checks there). */
async function* chunks(b: Buffer, size = 777, onEnd?: () => void): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
  onEnd?.();
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A zstd frame of `data` from the zstd CLI (skipped where the machine has none). */
function zstd(data: Buffer): Buffer | undefined {
  try {
    return execFileSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 1 << 28 });
  } catch {
    return undefined;
  }
}

describe('decompressing layers', () => {
  const data = Buffer.concat([randomBytes(300_000), Buffer.alloc(200_000, 'a')]);

  it('gzip: the bytes come back, in one member or several', async () => {
    expect((await collect(decompress(chunks(gzipSync(data)), 'gzip', 'layer x'))).equals(data)).toBe(true);
    const two = Buffer.concat([gzipSync(data.subarray(0, 1000)), gzipSync(data.subarray(1000))]);
    expect((await collect(decompress(chunks(two), 'gzip', 'layer x'))).equals(data)).toBe(true);
  });

  it('gzip: the source is read to its end, so its digest check runs and its error wins', async () => {
    let ended = false;
    await collect(
      decompress(
        chunks(gzipSync(data), 4096, () => (ended = true)),
        'gzip',
        'layer x',
      ),
    );
    expect(ended).toBe(true);
    const failing = chunks(gzipSync(data), 4096, () => {
      throw Object.assign(new Error('digest mismatch'), { code: 'EDIGEST' });
    });
    await expect(collect(decompress(failing, 'gzip', 'layer x'))).rejects.toThrow(/digest mismatch/);
  });

  it('gzip: bytes after the compressed stream, a truncated stream, or no gzip at all are one typed error', async () => {
    for (const bad of [Buffer.concat([gzipSync(data), Buffer.from('trailing garbage')]), gzipSync(data).subarray(0, 5000), data.subarray(0, 4000)]) {
      const e = await collect(decompress(chunks(bad), 'gzip', 'layer 0123')).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(isMkError(e), String(e)).toBe(true);
      expect((e as Error).message).toMatch(/layer 0123/);
    }
  });

  it('the diffId is checked: the right one passes, another fails with EDIGEST', async () => {
    expect((await collect(decompress(chunks(gzipSync(data)), 'gzip', 'layer x', { diffId: sha(data) }))).length).toBe(data.length);
    const e = await collect(decompress(chunks(gzipSync(data)), 'gzip', 'layer x', { diffId: sha(Buffer.from('other')) })).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isMkError(e, 'EDIGEST')).toBe(true);
  });

  it('zstd: the bytes come back; damaged or trailing bytes are one typed error', async () => {
    const z = zstd(data);
    if (!z) return expect.fail('the zstd tool is needed for this test (apt-get install zstd; test/support/setup.sh installs it)');
    expect((await collect(decompress(chunks(z, 1000), 'zstd', 'layer z'))).equals(data)).toBe(true);
    expect((await collect(decompress(chunks(z, 1000), 'zstd', 'layer z', { diffId: sha(data) }))).equals(data)).toBe(true);
    for (const bad of [Buffer.concat([z, Buffer.from('trailing garbage!')]), z.subarray(0, z.length - 100), Buffer.from('not zstd at all, not even close')]) {
      const e = await collect(decompress(chunks(bad), 'zstd', 'layer z')).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(isMkError(e), String(e)).toBe(true);
    }
  });

  it('zstd: several frames, skippable frames, checksums, and any chunking give the bytes back', async () => {
    const a = zstd(data.subarray(0, 100_000));
    const b = zstd(data.subarray(100_000));
    if (!a || !b) return expect.fail('the zstd tool is needed for this test (apt-get install zstd; test/support/setup.sh installs it)');
    const skippable = Buffer.concat([Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 5, 0, 0, 0]), Buffer.from('skip!')]);
    const all = Buffer.concat([skippable, a, skippable, b]);
    for (const size of [1, 3, 17, 4096, all.length]) expect((await collect(decompress(chunks(all, size), 'zstd', 'layer z'))).equals(data), `chunks of ${size}`).toBe(true);
  });

  it('zstd: a bomb is decompressed a block at a time, only as the reader asks (bounded memory), and refused past its declared size', async () => {
    // 512 MiB of zeros in 16 KiB: one frame of RLE blocks (4 bytes for 128 KiB each), handed over in one chunk.
    const blocks = 4096;
    const frame = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3])];
    for (let i = 0; i < blocks; i++) {
      const h = ((128 << 10) << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0);
      frame.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0]));
    }
    const bomb = Buffer.concat(frame);
    let biggest = 0;
    let n = 0;
    const it = decompress(chunks(bomb, bomb.length), 'zstd', 'layer b')[Symbol.asyncIterator]();
    for (let i = 0; i < 10; i++) {
      const c = (await it.next()).value as Buffer;
      biggest = Math.max(biggest, c.length);
      n += c.length;
    }
    await it.return?.(undefined);
    expect(biggest).toBeLessThanOrEqual(128 << 10);
    expect(n).toBe(10 * (128 << 10)); // ten steps asked for, ten blocks made: not the whole 512 MiB at once
    const e = await collect(decompress(chunks(bomb, bomb.length), 'zstd', 'layer b', { size: 1 << 20 })).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isMkError(e, 'EMODELKIT')).toBe(true);
    expect((e as Error).message).toMatch(/decompresses to more than the 1048576 bytes its ModelKit declares/);
  });

  it('zstd: a window larger than zstd decodes by default (128 MiB), a reserved block type or an oversized block is refused', async () => {
    const header = (wd: number) => Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, wd]);
    const rawBlock = (size: number, type = 0) => {
      const h = (size << 3) | (type << 1) | 1;
      return Buffer.concat([Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), Buffer.alloc(type === 1 ? 1 : size)]);
    };
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.concat([header(18 << 3), rawBlock(10)]), /window is 256 MiB, more than the 128 MiB/],
      [Buffer.concat([header(7 << 3), rawBlock(10, 3)]), /reserved block type/],
      [Buffer.concat([header(10 << 3), rawBlock((128 << 10) + 1)]), /more than a block may hold/],
    ];
    for (const [bad, why] of cases) {
      const e = await collect(decompress(chunks(bad), 'zstd', 'layer w')).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(isMkError(e), String(e)).toBe(true);
      expect((e as Error).message).toMatch(why);
    }
    // Within the limits, the same hand-made frame decodes.
    expect((await collect(decompress(chunks(Buffer.concat([header(7 << 3), rawBlock(10)])), 'zstd', 'layer w'))).equals(Buffer.alloc(10))).toBe(true);
  });
});
