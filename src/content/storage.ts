import type { Descriptor } from './descriptor.js';

/** A byte range [start, end) of a blob. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface FetchOptions {
  range?: ByteRange;
  signal?: AbortSignal;
}

/**
 * Where the bytes of a push come from. `open` may be called more than once (retries),
 * each time from the given offset, so only reopenable sources (files, buffers) are used.
 */
export interface BlobSource {
  open(offset?: number): AsyncIterable<Uint8Array>;
  /** A local file holding exactly the bytes, when there is one (lets stores copy in-kernel). */
  path?: string;
  /**
   * `open(0)` yields the whole blob and itself throws at the end unless the bytes match the
   * descriptor (a verifying fetch): the receiving store need not hash them a second time.
   */
  selfVerifying?: boolean;
  /**
   * `path` holds bytes already known to match the descriptor: a blob of mk's cache that was
   * verified and whose stat data has not changed since. Receivers may copy it without
   * hashing it again.
   */
  trusted?: boolean;
}

export interface PushOptions {
  signal?: AbortSignal;
  /** Called with the number of new bytes transferred, for progress displays. */
  onProgress?: (bytes: number) => void;
}

/** Reads content by descriptor. */
export interface Fetcher {
  exists(desc: Descriptor): Promise<boolean>;
  /** Streams the blob's bytes. A whole-blob fetch is verified against desc by the store or by the caller. */
  fetch(desc: Descriptor, opts?: FetchOptions): Promise<AsyncIterable<Uint8Array>>;
}

/** Writes content that must match the expected descriptor (size and digest). */
export interface Pusher {
  push(expected: Descriptor, source: BlobSource, opts?: PushOptions): Promise<void>;
}

export interface Storage extends Fetcher, Pusher {}

/** Resolves and sets tags (references). */
export interface TagResolver {
  resolve(reference: string): Promise<Descriptor>;
  tag(desc: Descriptor, reference: string): Promise<void>;
  tags(): Promise<string[]>;
}

/** A store that holds blobs and manifests and resolves tags: the cache, a layout, a registry. */
export interface Target extends Storage, TagResolver {
  /** Human-readable location, for messages (never contains credentials). */
  readonly location: string;
}

/** Optional: a store whose blobs are files on this machine (lets copies link or copy in-kernel). */
export interface BlobFiles {
  blobPath(desc: Descriptor): string;
}

/** Optional: learn a blob's size from its digest alone (HEAD on a registry, stat on a layout). */
export interface BlobStat {
  statBlob(digest: string): Promise<number | undefined>;
}

export function hasBlobStat(t: unknown): t is BlobStat {
  return typeof (t as BlobStat).statBlob === 'function';
}

export function hasBlobFiles(t: unknown): t is BlobFiles {
  return typeof (t as BlobFiles).blobPath === 'function';
}

export function bufferSource(buf: Uint8Array): BlobSource {
  return {
    async *open(offset = 0) {
      if (offset < buf.length) yield buf.subarray(offset);
    },
  };
}

export async function readAll(it: AsyncIterable<Uint8Array>, limit = Infinity): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of it) {
    n += c.length;
    if (n > limit) throw new RangeError(`content larger than ${limit} bytes`);
    parts.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  }
  return Buffer.concat(parts, n);
}
