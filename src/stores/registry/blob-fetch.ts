import type { Descriptor } from '../../content/descriptor.js';
import type { ByteRange } from '../../content/storage.js';
import { DigestMismatchError } from '../../errors/index.js';
import { verifying } from '../../hashing/digest.js';
import type { RegistryClient } from './client.js';
import { isRetriable, RegistryDigestError, RegistryNetworkError, RegistryProtocolError } from './errors.js';
import { discard, header, networkError, type HttpResponse } from './http.js';
import { retryDelay, sleep } from './retry.js';

export interface BlobFetchOptions {
  range?: ByteRange;
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
  /** Called with the bytes before the range that a registry ignoring Range sent anyway (read and dropped). */
  onSkipped?: (bytes: number) => void;
  scopes: string[];
}

/**
 * GET a blob. A whole-blob read is verified (size and sha256) as it streams: a mismatch
 * throws at the end, so wrong bytes never complete as a success. A range read sends
 * `Range: bytes=a-b` and requires a 206 with the matching Content-Range; a registry that
 * ignores Range (a 200 with the whole blob) is read from its start, the bytes before the range
 * dropped as they arrive (and counted, see onSkipped), never kept. When the
 * connection drops mid-body the download resumes with a Range from the offset reached,
 * up to the retry policy's tries. The first request (and its errors: 404, 401, ...) happens
 * before this returns; the body streams as the result is iterated.
 */
export async function fetchBlob(client: RegistryClient, desc: Descriptor, opts: BlobFetchOptions): Promise<AsyncIterable<Uint8Array>> {
  const whole = opts.range === undefined;
  const start = opts.range?.start ?? 0;
  const end = Math.min(opts.range?.end ?? desc.size, desc.size);
  const what = `fetch blob ${desc.digest} from ${client.name}`;
  if (!whole && end <= start) return (async function* () {})();

  const get = async (from: number, resuming: boolean): Promise<{ res: HttpResponse; skip: number }> => {
    const ranged = resuming || !whole;
    const res = await client.request({
      method: 'GET',
      path: `blobs/${desc.digest}`,
      headers: ranged ? { range: `bytes=${from}-${end - 1}` } : {},
      scopes: opts.scopes,
      what,
      ok: ranged ? [200, 206] : [200],
      signal: opts.signal,
    });
    if (ranged) return { res, skip: checkRange(res, from, end, desc.size, what) };
    else {
      const len = header(res.headers, 'content-length');
      if (len !== undefined && Number(len) !== desc.size) {
        discard(res.body);
        throw RegistryDigestError.fromRegistry(`blob ${desc.digest} from ${client.name}`, `${desc.size} bytes`, `${len} bytes`);
      }
    }
    return { res, skip: 0 };
  };

  const first = await get(start, false);
  const stream = resumingBody(client, first, start, end, get, what, opts);
  return whole ? servedVerified(stream, desc, client.name) : stream;
}

async function* servedVerified(stream: AsyncIterable<Uint8Array>, desc: Descriptor, name: string): AsyncIterable<Uint8Array> {
  try {
    yield* verifying(stream, desc, `blob ${desc.digest} from ${name}`);
  } catch (e) {
    if (e instanceof DigestMismatchError && !(e instanceof RegistryDigestError)) throw RegistryDigestError.served(e);
    throw e;
  }
}

/**
 * A 206 must carry `Content-Range: bytes from-(end-1)/size`. A 200 is the registry ignoring
 * Range: the whole blob (its Content-Length, when given, must be the blob's size), of which the
 * first `from` bytes are to be dropped: returns how many.
 */
function checkRange(res: HttpResponse, from: number, end: number, size: number, what: string): number {
  if (res.status === 200) {
    const len = header(res.headers, 'content-length');
    if (len !== undefined && Number(len) !== size) {
      discard(res.body);
      throw new RegistryProtocolError(`${what}: asked for bytes ${from}-${end - 1} of ${size}, got the whole body of ${len} bytes`);
    }
    return from;
  }
  const cr = header(res.headers, 'content-range') ?? '';
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(cr.trim());
  if (!m || Number(m[1]) !== from || Number(m[2]) !== end - 1 || (m[3] !== '*' && Number(m[3]) !== size)) {
    discard(res.body);
    throw new RegistryProtocolError(`${what}: asked for bytes ${from}-${end - 1}/${size}, got Content-Range '${cr || 'none'}'`);
  }
  return 0;
}

async function* resumingBody(
  client: RegistryClient,
  first: { res: HttpResponse; skip: number },
  start: number,
  end: number,
  get: (from: number, resuming: boolean) => Promise<{ res: HttpResponse; skip: number }>,
  what: string,
  opts: BlobFetchOptions,
): AsyncIterable<Uint8Array> {
  let res = first.res;
  let skip = first.skip;
  let offset = start;
  let failures = 0;
  try {
    for (;;) {
      try {
        for await (const chunk of heardChunks(res.body as AsyncIterable<Buffer>, client, what)) {
          let c: Uint8Array = chunk;
          if (skip > 0) {
            // A registry that ignored Range: the bytes before the range are dropped as they come.
            const drop = Math.min(skip, c.length);
            skip -= drop;
            opts.onSkipped?.(drop);
            c = c.subarray(drop);
            if (c.length === 0) continue;
          }
          if (offset + c.length > end) c = c.subarray(0, end - offset);
          if (c.length === 0) break;
          offset += c.length;
          opts.onProgress?.(c.length);
          yield c;
          if (offset >= end) break;
        }
        if (offset >= end) return;
        throw new RegistryNetworkError(`${what}: the body ended after ${offset - start} of ${end - start} bytes`, { retriable: true });
      } catch (e) {
        const err = networkError(e, what, res.url, opts.signal);
        failures++;
        const delay = retryDelay(client.retry, failures, err);
        if (delay === undefined) {
          if (err instanceof RegistryNetworkError && isRetriable(err)) {
            throw new RegistryNetworkError(`${what}: interrupted at byte ${offset} of ${end} after ${failures} tries: ${err.message.replace(`${what}: `, '')}`, {
              retriable: true,
              cause: err,
              hint: 'check the network and the registry, then run the command again',
            });
          }
          throw err;
        }
        client.notifyRetry(what, failures, delay, err);
        discard(res.body);
        await sleep(delay, opts.signal);
        ({ res, skip } = await get(offset, true));
      }
    }
  } finally {
    discard(res.body);
  }
}

/**
 * A response body whose every wait for the next chunk is a wait on the registry host (under the
 * command's deadline); the time between chunks, spent on mk's side, is not.
 */
async function* heardChunks(body: AsyncIterable<Buffer>, client: RegistryClient, what: string): AsyncIterable<Buffer> {
  const it = body[Symbol.asyncIterator]();
  for (;;) {
    const w = client.deadline.watch(client.host, what);
    let n: IteratorResult<Buffer>;
    try {
      n = await it.next();
    } catch (e) {
      // The deadline aborted the request: its reason (naming the host) is what happened.
      throw w.signal.aborted ? w.signal.reason : e;
    } finally {
      w.done();
    }
    if (n.done) return;
    yield n.value;
  }
}
