import { createReadStream } from 'node:fs';
import type { Descriptor } from '../../content/descriptor.js';
import type { BlobSource } from '../../content/storage.js';
import { MediaType } from '../../content/media-types.js';
import { newHasher } from '../../hashing/digest.js';
import type { RegistryClient } from './client.js';
import { RegistryDigestError, RegistryError, RegistryProtocolError } from './errors.js';
import { header, type HttpResponse } from './http.js';
import { withRetry } from './retry.js';

export type UploadMode = 'auto' | 'monolithic' | 'chunked';

export interface BlobPushOptions {
  scopes: string[];
  upload: UploadMode;
  /** Chunk size for chunked uploads; in 'auto' mode, blobs larger than this are chunked. */
  chunkSize: number;
  /** Other repositories on the same registry that may hold the blob: try a cross-repository mount from each, in order, first. */
  mountFrom?: string[];
  /** The caller has just asked (HEAD) and the registry lacks it: do not ask again. */
  absent?: boolean;
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
  /** Called when the registry mounted the blob from `from` (no bytes sent). */
  onMounted?: (from: string) => void;
}

/** Whether the blob is there (HEAD). */
export async function blobExists(client: RegistryClient, desc: Descriptor, scopes: string[], signal?: AbortSignal): Promise<boolean> {
  const res = await client.request({
    method: 'HEAD',
    path: `blobs/${desc.digest}`,
    scopes,
    what: `check blob ${desc.digest} in ${client.name}`,
    ok: [200, 404],
    signal,
  });
  await res.body.dump().catch(() => undefined);
  if (res.status === 404) return false;
  const len = header(res.headers, 'content-length');
  return len === undefined || Number(len) === desc.size;
}

/** The size of a blob from a HEAD request (Content-Length), or undefined when the registry lacks it. */
export async function blobSize(client: RegistryClient, digest: string, scopes: string[], signal?: AbortSignal): Promise<number | undefined> {
  const res = await client.request({
    method: 'HEAD',
    path: `blobs/${digest}`,
    scopes,
    what: `check blob ${digest} in ${client.name}`,
    ok: [200, 404],
    signal,
  });
  await res.body.dump().catch(() => undefined);
  if (res.status === 404) return undefined;
  const len = header(res.headers, 'content-length');
  const n = len === undefined ? NaN : Number(len);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Uploads a blob unless the registry has it: HEAD, then (optionally) a mount from another
 * repository, else POST → PUT `?digest=` (monolithic) or POST → PATCH… → PUT (chunked),
 * always following the newest Location. Any failure restarts the whole upload with a new
 * POST, reopening the source, up to the retry policy's tries; the failed session is
 * cancelled (DELETE) on a best-effort basis. The bytes are hashed as they are sent: a source
 * that does not match `expected` aborts the upload with DigestMismatchError.
 */
export async function pushBlob(client: RegistryClient, expected: Descriptor, source: BlobSource, opts: BlobPushOptions): Promise<void> {
  if (!opts.absent && (await blobExists(client, expected, opts.scopes, opts.signal))) return;
  const meter = new Meter(expected, opts.onProgress, source.trusted === true);
  const what = `push blob ${expected.digest} to ${client.name}`;
  await withRetry(client.retry, () => uploadOnce(client, expected, source, opts, meter, what), {
    signal: opts.signal,
    onRetry: (e, delayMs, attempt) => client.notifyRetry(what, attempt, delayMs, e),
  });
}

async function uploadOnce(client: RegistryClient, expected: Descriptor, source: BlobSource, opts: BlobPushOptions, meter: Meter, what: string): Promise<void> {
  const common = { scopes: opts.scopes, what, retry: false, signal: opts.signal } as const;
  let loc: URL | undefined;
  try {
    const sources = (opts.mountFrom ?? []).filter((r) => r !== client.repository);
    const mountQuery = (from: string) => `?mount=${encodeURIComponent(expected.digest)}&from=${encodeURIComponent(from)}`;
    // Every source but the last: a 202 (not mounted) opened an upload session, cancelled before the next try.
    for (const from of sources.slice(0, -1)) {
      const tried = await client.request({ ...common, method: 'POST', path: `blobs/uploads/${mountQuery(from)}`, headers: { 'content-length': '0' }, ok: [201, 202] });
      await tried.body.dump().catch(() => undefined);
      if (tried.status === 201) return opts.onMounted?.(from);
      await cancel(client, client.location(tried, what), opts.scopes);
    }
    const mount = sources.length ? mountQuery(sources.at(-1)!) : '';
    const post = await client.request({ ...common, method: 'POST', path: `blobs/uploads/${mount}`, headers: { 'content-length': '0' }, ok: [201, 202] });
    await post.body.dump().catch(() => undefined);
    if (post.status === 201) {
      if (mount) return opts.onMounted?.(sources.at(-1)!); // mounted: nothing to send
      throw new RegistryProtocolError(`${what}: the registry answered 201 to an upload POST`);
    }
    loc = client.location(post, what);
    const chunked = opts.upload === 'chunked' || (opts.upload === 'auto' && expected.size > opts.chunkSize);
    if (!chunked) {
      const put = await client.request({
        ...common,
        method: 'PUT',
        url: withDigest(loc, expected.digest),
        headers: { 'content-type': MediaType.octet, 'content-length': String(expected.size) },
        body: () => meter.body(open(source, 0, expected.size, true), 0, expected.size, true),
        ok: [201],
      });
      await created(put, expected, what);
      return;
    }
    const minChunk = Number(header(post.headers, 'oci-chunk-min-length')) || 0;
    const chunk = Math.max(1, opts.chunkSize, minChunk);
    for (let offset = 0; offset < expected.size;) {
      const n = Math.min(chunk, expected.size - offset);
      const last = offset + n === expected.size;
      const at = offset;
      const patch = await client.request({
        ...common,
        method: 'PATCH',
        url: loc,
        headers: { 'content-type': MediaType.octet, 'content-length': String(n), 'content-range': `${at}-${at + n - 1}` },
        body: () => meter.body(open(source, at, n, last), at, n, last),
        ok: [202],
      });
      await patch.body.dump().catch(() => undefined);
      loc = client.location(patch, what);
      const range = header(patch.headers, 'range');
      if (range !== undefined && range.replace(/^bytes=/, '') !== `0-${at + n - 1}`) {
        throw new RegistryProtocolError(`${what}: after sending bytes ${at}-${at + n - 1} the registry reports Range ${range}`, { retriable: true });
      }
      offset += n;
    }
    const put = await client.request({ ...common, method: 'PUT', url: withDigest(loc, expected.digest), headers: { 'content-length': '0' }, ok: [201] });
    await created(put, expected, what);
  } catch (e) {
    if (loc) await cancel(client, loc, opts.scopes);
    if (e instanceof RegistryError && e.ociCode === 'DIGEST_INVALID') {
      if (meter.digest && meter.digest !== expected.digest) throw RegistryDigestError.source(`source of blob ${expected.digest}`, expected.digest, meter.digest);
      // What was sent hashed right (or came from the verified cache): it changed on the way.
      throw new RegistryError(
        `${what}: the registry received other bytes than mk sent (it answered ${e.status ?? 400} DIGEST_INVALID, and the bytes mk sent match ${expected.digest.slice(0, 19)})`,
        { status: e.status, ociCode: e.ociCode, retriable: true, hint: IN_TRANSIT_HINT, cause: e },
        'EDIGEST',
      );
    }
    throw e;
  }
}

const IN_TRANSIT_HINT =
  'the local copy is good: something between mk and the registry (the network, a proxy or a TLS-inspecting middlebox) changed the bytes. It was retried; check that path, then push again';

async function created(res: HttpResponse, expected: Descriptor, what: string): Promise<void> {
  await res.body.dump().catch(() => undefined);
  const got = header(res.headers, 'docker-content-digest');
  if (got && got.startsWith('sha256:') && got !== expected.digest) {
    throw new RegistryProtocolError(`${what}: the registry stored the blob as ${got}`);
  }
}

/** Appends `digest=` to an upload Location, keeping its own query (distribution's `_state`) as is. */
export function withDigest(loc: URL, digest: string): URL {
  const u = new URL(loc);
  const q = `digest=${encodeURIComponent(digest)}`;
  u.search = u.search && u.search !== '?' ? `${u.search}&${q}` : `?${q}`;
  return u;
}

async function cancel(client: RegistryClient, loc: URL, scopes: string[]): Promise<void> {
  try {
    const res = await client.request({
      method: 'DELETE',
      url: loc,
      scopes,
      what: 'cancel upload',
      ok: [202, 204, 404],
      retry: false,
      signal: AbortSignal.timeout(2000),
    });
    await res.body.dump().catch(() => undefined);
  } catch {
    /* best effort: the registry purges stale uploads */
  }
}

/** The source's bytes [offset, offset+length), or from offset to its end when `toEnd` (so extra bytes are seen). */
function open(source: BlobSource, offset: number, length: number, toEnd: boolean): AsyncIterable<Uint8Array> {
  if (source.path) {
    return createReadStream(source.path, { start: offset, ...(toEnd ? {} : { end: offset + length - 1 }), highWaterMark: 1 << 20 });
  }
  return source.open(offset);
}

/**
 * Hashes and counts what is sent, by position in the blob: bytes sent again (a replay after
 * a 401, a restarted upload) are neither hashed nor reported twice. When the last byte has
 * been hashed the digest is checked before the body ends, so a registry never completes
 * an upload of wrong bytes.
 */
class Meter {
  private readonly hasher = newHasher();
  private done = 0;
  digest: string | undefined;

  /** `trusted`: the source is a verified, untouched cache blob; the registry still checks the digest it receives. */
  constructor(
    private readonly expected: Descriptor,
    private readonly onProgress?: (bytes: number) => void,
    private readonly trusted = false,
  ) {}

  async *body(src: AsyncIterable<Uint8Array>, offset: number, length: number, last: boolean): AsyncIterable<Uint8Array> {
    const what = `source of blob ${this.expected.digest}`;
    let n = 0;
    for await (const chunk of src) {
      let c = chunk;
      if (n + c.length > length) {
        if (last) throw RegistryDigestError.source(what, `${this.expected.size} bytes`, `more than ${this.expected.size} bytes`);
        c = c.subarray(0, length - n);
      }
      if (c.length === 0) continue;
      this.advance(offset + n, c);
      n += c.length;
      yield c;
      if (n === length && !last) break;
    }
    if (n < length) throw RegistryDigestError.source(what, `${this.expected.size} bytes`, `${offset + n} bytes`);
    if (last && this.done === this.expected.size) {
      this.digest ??= this.trusted ? this.expected.digest : 'sha256:' + this.hasher.digest('hex');
      if (this.digest !== this.expected.digest) throw RegistryDigestError.source(what, this.expected.digest, this.digest);
    }
  }

  private advance(pos: number, c: Uint8Array): void {
    const end = pos + c.length;
    if (end <= this.done || pos > this.done) return;
    const fresh = c.subarray(this.done - pos);
    if (!this.trusted) this.hasher.update(fresh);
    this.done = end;
    this.onProgress?.(fresh.length);
  }
}
