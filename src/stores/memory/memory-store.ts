import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Descriptor } from '../../content/descriptor.js';
import { isDigest } from '../../content/descriptor.js';
import { MediaType } from '../../content/media-types.js';
import { bufferSource, readAll, type BlobSource, type FetchOptions, type LocalStat, type PushOptions, type SmallReads, type Sourcing, type Target } from '../../content/storage.js';
import { DigestMismatchError, isMkError, MkError, NotFoundError } from '../../errors/index.js';

/**
 * Blobs and tags held in memory: what a writer has just encoded (file lists and a directory
 * root, a referrer manifest and its index) before one graph copy sends them, children first,
 * to the cache or a remote. Also a store for tests and dry runs. Every push is verified. It
 * keeps the same Target contract as the layout and the registry (test/unit/stores).
 */
export class MemoryStore implements Target, LocalStat, Sourcing, SmallReads {
  readonly location: string;
  private readonly blobs = new Map<string, Buffer>();
  private readonly refs = new Map<string, Descriptor>();
  /** The media type each blob was stored with (resolving a manifest by digest names it). */
  private readonly types = new Map<string, string>();

  constructor(location = 'memory') {
    this.location = location;
  }

  /** Adds bytes (their descriptor is computed) and returns the descriptor. */
  put(mediaType: string, bytes: Uint8Array): Descriptor {
    const buf = Buffer.from(bytes);
    const digest = 'sha256:' + createHash('sha256').update(buf).digest('hex');
    this.blobs.set(digest, buf);
    this.types.set(digest, mediaType);
    return { mediaType, digest, size: buf.length };
  }

  async exists(desc: Descriptor): Promise<boolean> {
    return this.existsSync(desc);
  }

  existsSync(desc: Pick<Descriptor, 'digest' | 'size'>): boolean {
    return this.blobs.get(desc.digest)?.length === desc.size;
  }

  statBlobSync(digest: string): number | undefined {
    return this.blobs.get(digest)?.length;
  }

  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const b = this.blobs.get(desc.digest);
    if (!b) throw new NotFoundError(`blob ${desc.digest} is not in ${this.location}`);
    const start = opts.range?.start ?? 0;
    const end = opts.range?.end ?? b.length;
    return bufferSource(b.subarray(start, end)).open(0);
  }

  source(desc: Descriptor): BlobSource {
    const b = this.blobs.get(desc.digest);
    if (!b) throw new NotFoundError(`blob ${desc.digest} is not in ${this.location}`);
    return bufferSource(b);
  }

  readSmall(digest: string, what: string): Buffer {
    const b = this.blobs.get(digest);
    if (!b) throw new NotFoundError(`${what} is not in ${this.location}`);
    return b;
  }

  readHead(digest: string, n: number): Buffer | undefined {
    return this.blobs.get(digest)?.subarray(0, n);
  }

  async push(expected: Descriptor, source: BlobSource, opts: PushOptions = {}): Promise<void> {
    if (!isDigest(expected.digest)) throw new MkError('EDIGEST', `not a sha256 digest: ${expected.digest}`);
    // One byte more than expected is read, so a longer source is a mismatch, not a cut-off copy.
    const bytes = source.path
      ? await readFile(source.path)
      : await readAll(source.open(0), expected.size + 1).catch((e: unknown) => {
          if (isMkError(e, 'ETOOLARGE')) return undefined;
          throw e;
        });
    const got = bytes ? 'sha256:' + createHash('sha256').update(bytes).digest('hex') : 'more bytes than expected';
    if (!bytes || got !== expected.digest || bytes.length !== expected.size) throw new DigestMismatchError(`blob ${expected.digest}`, expected.digest, got);
    const fresh = !this.blobs.has(expected.digest);
    this.blobs.set(expected.digest, bytes);
    this.types.set(expected.digest, expected.mediaType);
    if (fresh) opts.onProgress?.(bytes.length);
  }

  async resolve(reference: string): Promise<Descriptor> {
    if (isDigest(reference)) {
      const b = this.blobs.get(reference);
      if (!b) throw new NotFoundError(`${reference} is not in ${this.location}`);
      return { mediaType: this.types.get(reference) ?? MediaType.ociManifest, digest: reference, size: b.length };
    }
    const d = this.refs.get(reference);
    if (!d) throw new NotFoundError(`tag '${reference}' is not in ${this.location}`);
    return d;
  }

  async tag(desc: Descriptor, reference: string): Promise<void> {
    this.refs.set(reference, desc);
  }

  async tags(): Promise<string[]> {
    return [...this.refs.keys()].sort();
  }
}
