import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { MkError } from '../errors/index.js';

/** The layer compressions mk reads (kit's `--compression gzip`, `gzip-fastest` and `zstd`; ModelPack's `tar+gzip`, `tar+zstd`). */
export const COMPRESSIONS = ['gzip', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export function isCompression(c: string | undefined): c is Compression {
  return c !== undefined && (COMPRESSIONS as readonly string[]).includes(c);
}

export interface DecompressOptions {
  /** sha256 digest the decompressed bytes must have (a layer's diffId): a mismatch fails at the end. */
  diffId?: string;
}

/**
 * The decompressed bytes of `src`. The whole of `src` is always read, even past the end of
 * the compressed stream, so a verifying source (the cache's fetch) checks its digest; bytes
 * after the compressed stream are refused, not ignored. Errors are one typed line naming `what`.
 */
export async function* decompress(src: AsyncIterable<Uint8Array>, compression: Compression, what: string, opts: DecompressOptions = {}): AsyncGenerator<Buffer> {
  const h = opts.diffId ? createHash('sha256') : undefined;
  const inner = compression === 'gzip' ? gunzip(src, what) : unzstd(src, what);
  for await (const chunk of inner) {
    h?.update(chunk);
    yield chunk;
  }
  if (h && opts.diffId && `sha256:${h.digest('hex')}` !== opts.diffId) {
    throw new MkError('EDIGEST', `${what}: its decompressed bytes do not match the diffId ${opts.diffId.slice(0, 19)} the ModelKit's config gives`, {
      hint: 'the ModelKit is damaged or was tampered with; nothing was written',
    });
  }
}

function bad(what: string, compression: Compression, e: unknown): MkError {
  if (e instanceof MkError) return e;
  return new MkError('EMODELKIT', `${what} is not valid ${compression} data (${(e as Error).message})`, { hint: 'the layer is damaged, or its media type names the wrong compression' });
}

async function* gunzip(src: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Buffer> {
  const z = createGunzip();
  // Fed by hand (not piped) so that the source is read to its end whatever zlib does.
  const feeding = (async () => {
    try {
      for await (const chunk of src) {
        if (z.destroyed) return;
        if (!z.write(chunk)) await Promise.race([once(z, 'drain'), once(z, 'close')]);
      }
      z.end();
    } catch (e) {
      z.destroy(e as Error);
      throw e;
    }
  })();
  feeding.catch(() => undefined);
  try {
    // zlib reads further gzip members (gzip allows them) and refuses anything else after the first.
    for await (const chunk of z) yield chunk as Buffer;
    await feeding;
  } catch (e) {
    z.destroy();
    throw bad(
      what,
      'gzip',
      (await feeding.then(
        () => e,
        (f: unknown) => f,
      )) ?? e,
    );
  }
}

async function* unzstd(src: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Buffer> {
  const out: Uint8Array[] = [];
  const d = new ZstdDecompress((chunk) => {
    if (chunk.length) out.push(chunk);
  });
  const take = () => {
    const c = out.shift()!;
    return Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  };
  try {
    for await (const chunk of src) {
      d.push(chunk);
      while (out.length) yield take();
    }
    d.push(new Uint8Array(0), true);
  } catch (e) {
    throw bad(what, 'zstd', e);
  }
  while (out.length) yield take();
}
