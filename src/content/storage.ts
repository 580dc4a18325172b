import { MkError } from '../errors/index.js';
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
  /** The caller has just found that the store lacks this content: a store may skip asking again. */
  absent?: boolean;
  /** Called when the store got the blob without its bytes: a registry mounted it from another repository (`from`). */
  onMounted?: (from: string) => void;
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

/** Optional: learn a blob's size from its digest alone (HEAD on a registry, stat on a layout). */
export interface BlobStat {
  statBlob(digest: string): Promise<number | undefined>;
}

export function hasBlobStat(t: unknown): t is BlobStat {
  return typeof (t as BlobStat).statBlob === 'function';
}

/**
 * Optional: a store on this machine answers existence and size from stat data, without a
 * request and without waiting (status and the hooks ask for thousands of blobs).
 */
export interface LocalStat {
  existsSync(desc: Pick<Descriptor, 'digest' | 'size'> & { mediaType?: string }): boolean;
  statBlobSync(digest: string): number | undefined;
}

export function hasLocalStat(t: unknown): t is LocalStat {
  return typeof (t as LocalStat).existsSync === 'function' && typeof (t as LocalStat).statBlobSync === 'function';
}

/**
 * Optional: a reopenable source for sending a blob elsewhere, which may be a local file (so
 * the receiver can copy it in-kernel) and may be vouched for by the store's trust rule (so
 * the receiver need not hash it again).
 */
export interface Sourcing {
  source(desc: Descriptor): BlobSource;
}

export function hasSourcing(t: unknown): t is Sourcing {
  return typeof (t as Sourcing).source === 'function';
}

/**
 * Optional: blobs copied out to new files, only with bytes that match their digest (the
 * store's one trust rule decides when a blob need not be hashed again). `dest` must not
 * exist; the caller renames it into place. `link` shares the blob's bytes instead of copying
 * them (after verifying them).
 */
export interface CopyOut {
  copyOut(desc: Descriptor, dest: string, opts: { mode: number; link?: 'hardlink' | 'symlink' }): Promise<void>;
}

/** A blob stored by an ingest: named by the digest of the bytes written. */
export interface IngestResult {
  digest: string;
  size: number;
  /** The cache did not hold these bytes before. */
  written: boolean;
}

/**
 * A blob being written into the cache. The store hashes every byte as it is written and names
 * the blob by that hash on commit: callers never pass a digest, so none can give a blob a
 * wrong name.
 */
export interface IngestWriter {
  /** Appends bytes (hashed at once; written in large batches, overlapped with the caller's work). Keep the chunk unchanged until commit. */
  write(chunk: Uint8Array): Promise<void>;
  /** Appends bytes synchronously (for writers that batch their own writes); not mixed with write(). */
  writeSync(chunk: Uint8Array): void;
  /** Finishes: the blob is in the cache under the digest of what was written. */
  commit(): Promise<IngestResult>;
  /** Gives up: nothing of it stays. */
  abort(): Promise<void>;
}

/** A file's stat data taken before it is read: an ingest refuses the file if it changed meanwhile. */
export interface SourceStat {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

/**
 * Optional: the store's own ingest. Every blob a writer adds (a file being added, a pack, a
 * merge result, a file git hands the filter) goes through it, and is claimed, so a concurrent
 * `mk gc` (in any clone sharing the cache) keeps it.
 */
export interface Ingest {
  /** A new blob, written chunk by chunk. */
  ingest(hint: string): Promise<IngestWriter>;
  /** Copies a local file in, hashing it in the same pass; `before` (its stat data from before) lets a large settled file be copied in-kernel, and a file that changed meanwhile is refused. */
  ingestFile(path: string, opts?: { before?: SourceStat; what?: string }): Promise<IngestResult>;
  /**
   * Claims a blob a pointer is about to name (kept by any gc running now); true when the
   * cache holds it. A writer that gets false stores the bytes again.
   */
  claim(desc: Pick<Descriptor, 'digest' | 'size'>): boolean;
}

/** Optional: small metadata blobs (directory manifests, file lists) read whole and verified, at once. */
export interface SmallReads {
  /** The verified bytes (a blob that does not match is dropped from mk's cache); NotFoundError if absent. */
  readSmall(digest: string, what: string, limit?: number): Buffer;
  /** The first `n` bytes of a blob, unverified (to recognise a kind of blob), or undefined. */
  readHead(digest: string, n: number): Buffer | undefined;
}

/** Optional: re-checks and repairs. */
export interface Verify {
  /** Re-hashes a blob; a blob that no longer matches its name is dropped from mk's cache. A wrong size in `desc` is a WrongSizeError. */
  verify(desc: Descriptor): Promise<boolean>;
  /** Explains a size mismatch found by stat: always throws (WrongSizeError when the blob is good, DigestMismatchError when not). */
  wrongSize(desc: Pick<Descriptor, 'digest' | 'size'>, actual: number): Promise<never>;
  /**
   * A work-tree file that is a hard link to a blob (checkout.link: hardlink) and was edited
   * in place changed the blob too: drop that blob (never serve it again). True if it did.
   */
  dropIfLinked(digest: string, st: { ino: number; nlink: number }): boolean;
}

/** One gc run over a cache (see the store's claims): blobs written or claimed since it began are never freed by it. */
export interface BlobSweep {
  /** Frees these blobs except those claimed meanwhile; returns the digests freed. */
  free(digests: string[]): Promise<string[]>;
  /** Ends the run (always call it). */
  end(): void;
}

/** Optional: maintenance (gc). */
export interface Maintenance {
  listBlobs(): Promise<Array<{ digest: string; size: number }>>;
  /** Starts a gc run (waits for another one on the same cache to end). Call before anything is scanned. */
  beginSweep(): Promise<BlobSweep>;
  /** Removes what killed writers left in the ingest folder. */
  cleanIngest(ageMs?: number): Promise<number>;
  /** The tagged manifests, with their tags in annotations. */
  taggedManifests(): Descriptor[];
}

/** mk's local cache: a store with every local ability. Callers name this interface, never the class behind it. */
export interface CacheStore extends Target, BlobStat, LocalStat, Sourcing, CopyOut, Ingest, SmallReads, Verify, Maintenance {}

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
    if (n > limit)
      throw new MkError('ETOOLARGE', `content larger than the ${limit} bytes allowed here`, { hint: 'it is not what mk expected (a manifest or a list is at most a few MiB): check the reference' });
    parts.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  }
  return Buffer.concat(parts, n);
}
