import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import { MkError } from '../errors/index.js';
import { zstdBlocks } from './zstd.js';

/** The layer compressions mk reads (kit's `--compression gzip`, `gzip-fastest` and `zstd`; ModelPack's `tar+gzip`, `tar+zstd`). */
export const COMPRESSIONS = ['gzip', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export function isCompression(c: string | undefined): c is Compression {
  return c !== undefined && (COMPRESSIONS as readonly string[]).includes(c);
}

export interface DecompressOptions {
  /** sha256 digest the decompressed bytes must have (a layer's diffId): a mismatch fails at the end. */
  diffId?: string;
  /**
   * The number of decompressed bytes declared for the layer (a ModelPack file's size): the
   * first byte past it fails, before it is handed on, and so does a shorter stream.
   */
  size?: number;
}

/**
 * The decompressed bytes of `src`, streamed in bounded memory whatever the ratio (a layer of
 * 100 KiB may stand for gigabytes): a chunk is decompressed only when the reader asks for the
 * next one, and none is larger than a few hundred KiB. The whole of `src` is read, even past
 * the end of the compressed stream, so a verifying source (the cache's fetch) checks its
 * digest; bytes after the compressed stream are refused, not ignored. Errors are one typed
 * line naming `what`.
 */
export async function* decompress(src: AsyncIterable<Uint8Array>, compression: Compression, what: string, opts: DecompressOptions = {}): AsyncGenerator<Buffer> {
  const h = opts.diffId ? createHash('sha256') : undefined;
  const inner = compression === 'gzip' ? gunzip(src, what) : unzstd(src, what);
  let n = 0;
  for await (const chunk of inner) {
    n += chunk.length;
    if (opts.size !== undefined && n > opts.size) throw tooLong(what, opts.size);
    h?.update(chunk);
    yield chunk;
  }
  if (opts.size !== undefined && n !== opts.size)
    throw new MkError('EMODELKIT', `${what} decompresses to ${n} bytes, not the ${opts.size} its ModelKit declares`, { hint: 'the ModelKit is damaged or was tampered with; nothing was written' });
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
  try {
    for await (const c of zstdBlocks(src)) yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  } catch (e) {
    throw bad(what, 'zstd', e);
  }
}

/** The first byte past what a layer declares: a decompression bomb or a damaged layer. */
export function tooLong(what: string, declared: number): MkError {
  return new MkError('EMODELKIT', `${what} decompresses to more than the ${declared} bytes its ModelKit declares: a decompression bomb or a damaged layer`, {
    hint: 'nothing was written; get the ModelKit again from its source',
  });
}
