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
 * Memory is three 4 MiB buffers whatever the file size.
 */
export async function hashFile(src: string, dst?: string, mode = 0o444): Promise<HashResult> {
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
export async function* verifying(
  it: AsyncIterable<Uint8Array>,
  expected: { digest: string; size: number },
  what: string,
): AsyncIterable<Uint8Array> {
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
