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
});
