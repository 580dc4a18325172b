import { createHash } from 'node:crypto';
import { closeSync, constants as fsc, lstatSync, openSync, writeSync } from 'node:fs';
import { chmod, copyFile, open, rm, type FileHandle } from 'node:fs/promises';
import type { IngestResult, IngestWriter } from '../../content/storage.js';
import { MkError } from '../../errors/index.js';
import { invariant } from '../../errors/invariant.js';
import { hashFile } from '../../hashing/digest.js';
import { isRacy, racyWindowMs } from '../../hashing/racy.js';
import { afterWritten } from '../../util/buffers.js';

/** Bytes gathered before one write is started (views of the caller's chunks, never copied). */
const WRITE_BATCH = 4 << 20;

/** What the store does with a finished ingest file: names it by the digest given (computed here, from the bytes written). */
export type Place = (tmp: string, digest: string, size: number) => Promise<IngestResult>;

/**
 * A blob being written into the cache. Every byte is hashed here as it is written, and the
 * blob is named by that hash when it is committed: no caller computes or passes a digest, so
 * no caller can put bytes under a wrong name. Asynchronous writes gather chunks into batches
 * with one write in flight while the next batch fills and this thread hashes; synchronous
 * writes (for writers that batch themselves) go straight to the file.
 */
export class LayoutIngestWriter implements IngestWriter {
  private readonly hash = createHash('sha256');
  private size = 0;
  private pos = 0;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private done = false;

  private constructor(
    private readonly tmp: string,
    private readonly fd: number,
    private readonly fh: FileHandle | undefined,
    private readonly place: Place,
  ) {}

  static async open(tmp: string, place: Place): Promise<LayoutIngestWriter> {
    const fh = await open(tmp, 'wx', 0o444);
    return new LayoutIngestWriter(tmp, fh.fd, fh, place);
  }

  static openSync(tmp: string, place: Place): LayoutIngestWriter {
    return new LayoutIngestWriter(tmp, openSync(tmp, 'wx', 0o444), undefined, place);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.live();
    if (!chunk.length) return;
    this.hash.update(chunk);
    this.size += chunk.length;
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes >= WRITE_BATCH) await this.flush();
  }

  writeSync(chunk: Uint8Array): void {
    this.live();
    invariant(!this.batchBytes, 'LayoutIngestWriter: writeSync after write');
    this.hash.update(chunk);
    this.size += chunk.length;
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off, this.pos + off);
    this.pos += chunk.length;
  }

  async commit(): Promise<IngestResult> {
    this.live();
    try {
      await this.flush();
      await this.inFlight;
    } catch (e) {
      await this.abort();
      throw e;
    }
    this.done = true;
    await this.close();
    return this.place(this.tmp, 'sha256:' + this.hash.digest('hex'), this.size);
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.inFlight.catch(() => undefined);
    await this.close().catch(() => undefined);
    await rm(this.tmp, { force: true });
  }

  private live(): void {
    invariant(!this.done, 'LayoutIngestWriter: used after commit or abort');
  }

  private async close(): Promise<void> {
    if (this.fh) await this.fh.close();
    else closeSync(this.fd);
  }

  private async flush(): Promise<void> {
    if (!this.batchBytes) return;
    const b = this.batch;
    const at = this.pos;
    this.pos += this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    await this.inFlight; // at most one write in flight, one batch filling
    this.inFlight = writevFully(this.fh!, b as Buffer[], at);
  }
}

async function writevFully(fh: FileHandle, bufs: Buffer[], at: number): Promise<void> {
  let pos = at;
  let rest = bufs;
  while (rest.length) {
    const { bytesWritten } = await fh.writev(rest, pos);
    pos += bytesWritten;
    rest = afterWritten(rest, bytesWritten);
  }
}

/** Files at least this large are copied in-kernel while they are hashed, when their stat data can vouch for them. */
const PARALLEL_COPY_BYTES = 8 << 20;

/** A source file's stat data, taken before it was read: it must be the same after. */
export interface SourceStat {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

/**
 * Copies a file into an ingest file and hashes it, in one pass. When the caller gives the
 * file's stat data from before, a large file whose stat data is settled (older than the
 * file system's timestamp granularity) is copied in-kernel on one core while this thread
 * hashes it on another: both read the same bytes unless the file changes meanwhile, and a
 * change would give it a newer mtime/ctime, checked after. Any other file takes the single
 * pass that hashes exactly the bytes it writes. A file that changed while it was read is
 * refused (ECHANGED) and nothing is kept.
 */
export async function copyHashed(src: string, tmp: string, before?: SourceStat, what = src): Promise<{ digest: string; size: number }> {
  try {
    const settled = before !== undefined && before.size >= PARALLEL_COPY_BYTES && (await settles(before));
    const got = settled ? await hashWhileCopying(src, tmp) : await hashFile(src, tmp);
    if (before) {
      const after = lstatSync(src);
      if (got.size !== before.size || after.mtimeMs !== before.mtimeMs || after.ctimeMs !== before.ctimeMs || after.ino !== before.ino || after.size !== before.size) throw changed(what);
    }
    return got;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

function changed(what: string): MkError {
  return new MkError('ECHANGED', `${what} changed while mk was reading it`, { hint: 'run the command again once the file is no longer being written' });
}

/** Whether the file's stat data can vouch for it, after waiting out a short racy window. */
async function settles(before: SourceStat): Promise<boolean> {
  const left = racyWindowMs(before) - (Date.now() - Math.max(before.mtimeMs, before.ctimeMs));
  if (left <= 0) return true;
  if (left > 150) return false;
  await new Promise((r) => setTimeout(r, left + 5));
  return !isRacy(before, Date.now());
}

async function hashWhileCopying(src: string, tmp: string): Promise<{ digest: string; size: number }> {
  const [got] = await Promise.all([hashFile(src), copyFile(src, tmp, fsc.COPYFILE_EXCL)]);
  await chmod(tmp, 0o444);
  const st = lstatSync(tmp);
  if (st.size !== got.size) throw changed(src);
  return got;
}
