import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { DigestMismatchError } from '../errors/index.js';

export function sha256(data: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function newHasher(): Hash {
  return createHash('sha256');
}

export interface HashResult {
  digest: string;
  size: number;
}

const CHUNK = 4 << 20;

/** Reused buffer triples: allocating 12 MiB per call made GC the main cost of copying many small blobs. */
const spare: Buffer[][] = [];
const takeBuffers = () => spare.pop() ?? [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
const giveBuffers = (b: Buffer[]) => void (spare.length < 8 && spare.push(b));

/**
 * Streams a file through sha256 and, when `dst` is given, copies it there in the same
 * pass: reads, hashes and writes overlap (the reads and writes run on libuv's thread pool
 * while this thread hashes), so a copy costs little more than the hash alone.
 * Memory is three 4 MiB buffers whatever the file size. `also` sees every chunk too (another
 * digest taken in the same pass); it must not keep the chunk, whose buffer is reused.
 */
export async function hashFile(src: string, dst?: string, mode = 0o444, also?: (chunk: Uint8Array) => void): Promise<HashResult> {
  const input = await open(src, 'r');
  let output: import('node:fs/promises').FileHandle | undefined;
  try {
    output = dst === undefined ? undefined : await open(dst, 'wx', mode);
  } catch (e) {
    await input.close();
    throw e;
  }
  try {
    const h = createHash('sha256');
    const bufs = takeBuffers();
    let pos = 0;
    let i = 0;
    let reading = input.read(bufs[0]!, 0, CHUNK, 0);
    let writing: Promise<unknown> = Promise.resolve();
    try {
      for (;;) {
        const { bytesRead } = await reading;
        if (bytesRead === 0) break;
        const buf = bufs[i % 3]!;
        const at = pos;
        pos += bytesRead;
        reading = input.read(bufs[(i + 1) % 3]!, 0, CHUNK, pos);
        await writing;
        if (output) writing = writeFully(output, buf, bytesRead, at);
        h.update(buf.subarray(0, bytesRead));
        also?.(buf.subarray(0, bytesRead));
        i++;
      }
      await writing;
    } catch (e) {
      // Let reads and writes still in flight finish before the buffers are reused.
      await Promise.allSettled([reading, writing]);
      throw e;
    }
    giveBuffers(bufs);
    return { digest: 'sha256:' + h.digest('hex'), size: pos };
  } finally {
    await input.close();
    if (output) await output.close();
  }
}

/**
 * Writes a stream of chunks to `fh` and hashes them (unless `hash` is false), overlapping
 * the two: chunks are gathered into 4 MiB buffers, and a full buffer is written on the
 * thread pool while the next one fills and this thread hashes. Network chunks are small
 * (64 KiB): awaiting a write per chunk left the hash, the socket and the disk taking turns.
 * Stops (without writing them) at bytes beyond `limit`. Returns the digest and byte count.
 */
export async function writeStreamHashed(
  it: AsyncIterable<Uint8Array>,
  fh: import('node:fs/promises').FileHandle,
  opts: { hash?: boolean; limit?: number; onChunk?: (n: number) => void } = {},
): Promise<{ digest?: string; size: number; truncated: boolean }> {
  const h = opts.hash === false ? undefined : createHash('sha256');
  const limit = opts.limit ?? Infinity;
  const bufs = takeBuffers();
  let cur = 0; // buffer being filled
  let fill = 0;
  let pos = 0; // file position of the start of the current buffer
  let n = 0;
  let truncated = false;
  const inFlight: Array<Promise<void> | undefined> = [undefined, undefined, undefined];
  const flush = async () => {
    if (fill === 0) return;
    const i = cur;
    inFlight[i] = writeFully(fh, bufs[i]!, fill, pos);
    pos += fill;
    cur = (cur + 1) % 3;
    fill = 0;
    await inFlight[cur]; // the buffer about to be filled must be written out first
    inFlight[cur] = undefined;
  };
  try {
    for await (const chunk of it) {
      if (n + chunk.length > limit) {
        truncated = true;
        break;
      }
      n += chunk.length;
      h?.update(chunk);
      let off = 0;
      while (off < chunk.length) {
        const take = Math.min(CHUNK - fill, chunk.length - off);
        bufs[cur]!.set(chunk.subarray(off, off + take), fill);
        fill += take;
        off += take;
        if (fill === CHUNK) await flush();
      }
      opts.onChunk?.(chunk.length);
    }
    await flush();
    await Promise.all(inFlight.filter((p) => p !== undefined));
  } catch (e) {
    await Promise.allSettled(inFlight.filter((p) => p !== undefined));
    throw e;
  }
  giveBuffers(bufs);
  return { digest: h ? 'sha256:' + h.digest('hex') : undefined, size: n, truncated };
}

async function writeFully(fh: import('node:fs/promises').FileHandle, buf: Buffer, len: number, at: number): Promise<void> {
  let off = 0;
  while (off < len) {
    const { bytesWritten } = await fh.write(buf, off, len - off, at + off);
    off += bytesWritten;
  }
}

/**
 * Wraps a byte stream so that it throws DigestMismatchError at the end when the bytes
 * do not match `expected` (or the size differs). Consumers must not commit what they
 * wrote until the iteration finishes without error.
 */
export async function* verifying(it: AsyncIterable<Uint8Array>, expected: { digest: string; size: number }, what: string): AsyncIterable<Uint8Array> {
  const h = createHash('sha256');
  let n = 0;
  for await (const c of it) {
    n += c.length;
    if (n > expected.size) throw new DigestMismatchError(what, expected.digest, `more than ${expected.size} bytes`);
    h.update(c);
    yield c;
  }
  const got = 'sha256:' + h.digest('hex');
  if (n !== expected.size) throw new DigestMismatchError(what, expected.digest, `${n} bytes instead of ${expected.size}`);
  if (got !== expected.digest) throw new DigestMismatchError(what, expected.digest, got);
}
