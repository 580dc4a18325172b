/**
 * A registry that fails: through a fault proxy, uploads and downloads are cut mid-body,
 * requests answered 500 or 429, bodies corrupted, ranges mangled. Each operation either
 * completes after retries or fails with one clear MkError line; wrong bytes never
 * complete as a success.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { bufferSource, readAll } from '../../src/content/storage.js';
import { isMkError, type MkError } from '../../src/errors/index.js';
import { anonymous, RegistryStore, type RegistryStoreOptions, type RetryInfo } from '../../src/stores/registry/index.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startRegistry, type RunningRegistry } from '../support/registry-server.js';
import { blob, EMPTY, manifestFor } from '../support/target-contract.js';

let reg: RunningRegistry;
let proxy: FaultProxy;
const stores: RegistryStore[] = [];
let repoN = 0;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.url);
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await proxy?.stop();
  await reg?.stop();
});
afterEach(() => proxy.clear());

function store(o: Partial<RegistryStoreOptions> = {}): RegistryStore {
  const s = new RegistryStore({
    host: proxy.host,
    repository: `faults/r${++repoN}`,
    credentials: anonymous,
    retry: { baseDelayMs: 5, maxDelayMs: 20, maxTries: 4 },
    ...o,
  });
  stores.push(s);
  return s;
}

async function failure(p: Promise<unknown>): Promise<MkError> {
  try {
    await p;
  } catch (e) {
    expect(isMkError(e), `expected an MkError, got ${String(e)}`).toBe(true);
    const err = e as MkError;
    expect(err.message).not.toContain('\n');
    return err;
  }
  throw new Error('expected a failure');
}

const UPLOAD = /\/blobs\/uploads\//;
const BLOB = /\/blobs\/sha256:/;

describe('uploads', () => {
  it('restart with a new POST after the connection drops mid-body', async () => {
    const s = store();
    const b = blob(200_000);
    proxy.fault({ method: 'PUT', path: UPLOAD }, { kind: 'drop-request', afterBytes: 50_000 });
    let progress = 0;
    await s.push(b.desc, bufferSource(b.bytes), { onProgress: (n) => (progress += n) });
    expect(proxy.requests.filter((r) => r.method === 'POST').length).toBe(2);
    expect(progress).toBe(b.desc.size);
    expect((await readAll(await s.fetch(b.desc))).equals(b.bytes)).toBe(true);
  });

  it('restart a chunked upload after a drop in the second chunk, following the newest Location', async () => {
    const s = store({ upload: 'chunked', chunkSize: 8192 });
    const b = blob(30_000);
    proxy.fault({ method: 'PATCH', path: UPLOAD }, { kind: 'drop-request', afterBytes: 4000 }, 1, 1);
    let progress = 0;
    await s.push(b.desc, bufferSource(b.bytes), { onProgress: (n) => (progress += n) });
    const ops = proxy.requests.filter((r) => UPLOAD.test(r.url) && r.method !== 'DELETE');
    // Attempt 1: POST, PATCH, PATCH (cut). Attempt 2: POST, 4 PATCHes (8192 × 3 + 5424), PUT.
    expect(ops.map((r) => r.method)).toEqual(['POST', 'PATCH', 'PATCH', 'POST', 'PATCH', 'PATCH', 'PATCH', 'PATCH', 'PUT']);
    const second = ops.slice(3);
    const ranges = second.filter((r) => r.method === 'PATCH').map((r) => r.headers['content-range']);
    expect(ranges).toEqual(['0-8191', '8192-16383', '16384-24575', '24576-29999']);
    const states = second.filter((r) => r.method !== 'POST').map((r) => new URL(r.url, 'http://x').searchParams.get('_state'));
    expect(new Set(states).size).toBe(5);
    expect(second.at(-1)!.url).toMatch(/&digest=sha256%3A[0-9a-f]{64}$/);
    expect(progress).toBe(b.desc.size);
    expect((await readAll(await s.fetch(b.desc))).equals(b.bytes)).toBe(true);
  });

  it('fail with one clear line when every attempt drops', async () => {
    const retries: RetryInfo[] = [];
    const s = store({ onRetry: (i) => retries.push(i) });
    const b = blob(100_000);
    proxy.fault({ method: 'PUT', path: UPLOAD }, { kind: 'drop-request', afterBytes: 10_000 }, 100);
    const err = await failure(s.push(b.desc, bufferSource(b.bytes)));
    expect(err.code).toBe('ENETWORK');
    expect(err.message).toMatch(/^push blob sha256:[0-9a-f]{64} to 127\.0\.0\.1:\d+\/faults\/r\d+: connection to/);
    expect(retries.length).toBe(3);
    expect(proxy.requests.filter((r) => r.method === 'POST').length).toBe(4);
    expect(await s.exists(b.desc)).toBe(false);
  });

  it('retry a 500 on the upload and then succeed', async () => {
    const s = store();
    const b = blob(10_000);
    proxy.fault({ method: 'PUT', path: UPLOAD }, { kind: 'status', status: 500 }, 2);
    await s.push(b.desc, bufferSource(b.bytes));
    expect(proxy.requests.filter((r) => r.method === 'POST').length).toBe(3);
    expect(await s.exists(b.desc)).toBe(true);
  });
});

describe('downloads', () => {
  async function seeded(o: Partial<RegistryStoreOptions> = {}, size = 120_000): Promise<{ s: RegistryStore; b: ReturnType<typeof blob> }> {
    const s = store(o);
    const b = blob(size);
    await s.push(b.desc, bufferSource(b.bytes));
    proxy.clear();
    return { s, b };
  }

  it('resume with a Range from the offset reached after the connection drops mid-body', async () => {
    const { s, b } = await seeded();
    proxy.fault({ method: 'GET', path: BLOB }, { kind: 'drop-response', afterBytes: 30_000 }, 2);
    let progress = 0;
    const got = await readAll(await s.fetch(b.desc, { onProgress: (n: number) => (progress += n) }));
    expect(got.equals(b.bytes)).toBe(true);
    expect(progress).toBe(b.desc.size);
    const gets = proxy.requests.filter((r) => r.method === 'GET');
    expect(gets.map((r) => r.headers.range)).toEqual([undefined, 'bytes=30000-119999', 'bytes=60000-119999']);
  });

  it('resume a range read too', async () => {
    const { s, b } = await seeded();
    proxy.fault({ method: 'GET', path: BLOB }, { kind: 'drop-response', afterBytes: 10_000 });
    const got = await readAll(await s.fetch(b.desc, { range: { start: 1000, end: 101_000 } }));
    expect(got.equals(b.bytes.subarray(1000, 101_000))).toBe(true);
    expect(proxy.requests.map((r) => r.headers.range)).toEqual(['bytes=1000-100999', 'bytes=11000-100999']);
  });

  it('fail with one clear line when the download keeps dropping', async () => {
    const { s, b } = await seeded();
    proxy.fault({ method: 'GET', path: BLOB }, { kind: 'drop-response', afterBytes: 5000 }, 100);
    const err = await failure(readAll(await s.fetch(b.desc)));
    expect(err.code).toBe('ENETWORK');
    expect(err.message).toMatch(/^fetch blob sha256:[0-9a-f]{64} from 127\.0\.0\.1:\d+\/faults\/r\d+: interrupted at byte 20000 of 120000 after 4 tries/);
  });

  it('never return corrupted bytes as a success', async () => {
    const { s, b } = await seeded();
    proxy.fault({ method: 'GET', path: BLOB }, { kind: 'corrupt', at: 77_777 });
    const err = await failure(readAll(await s.fetch(b.desc)));
    expect(err.code).toBe('EDIGEST');
    expect(err.message).toContain(b.desc.digest);
    // The next read is good again.
    expect((await readAll(await s.fetch(b.desc))).equals(b.bytes)).toBe(true);
  });

  it('verify manifests too', async () => {
    const s = store();
    await s.push(EMPTY, bufferSource(Buffer.from('{}')));
    const m = manifestFor([]);
    await s.push(m.desc, bufferSource(m.bytes));
    proxy.clear();
    proxy.fault({ method: 'GET', path: /\/manifests\// }, { kind: 'corrupt', at: 5 });
    expect((await failure(s.fetch(m.desc).then(readAll))).code).toBe('EDIGEST');
  });

  it('refuse a 206 whose Content-Range does not match the request', async () => {
    const { s, b } = await seeded({}, 1000);
    proxy.fault({ method: 'GET', path: BLOB }, { kind: 'status', status: 206, headers: { 'content-range': 'bytes 0-4/1000', 'content-type': 'application/octet-stream' }, body: 'abcde' });
    const err = await failure(s.fetch(b.desc, { range: { start: 10, end: 15 } }));
    expect(err.code).toBe('EPROTOCOL');
    expect(err.message).toContain("got Content-Range 'bytes 0-4/1000'");
  });

  it('a registry that ignores Range (200, the whole blob): the range is cut from the body, the bytes before it counted; a 200 of another length is refused', async () => {
    const { s, b } = await seeded({}, 1000);
    const rule = proxy.fault({ method: 'GET', path: BLOB }, { kind: 'ignore-range' });
    let skipped = 0;
    const got = await readAll(await s.fetch(b.desc, { range: { start: 10, end: 15 }, onSkipped: (n) => (skipped += n) }));
    expect(rule.applied).toBe(1);
    expect(got.equals(b.bytes.subarray(10, 15))).toBe(true);
    expect(skipped).toBe(10);
    proxy.fault({ method: 'GET', path: BLOB }, { kind: 'status', status: 200, headers: { 'content-type': 'application/octet-stream' }, body: 'x'.repeat(500) });
    expect((await failure(s.fetch(b.desc, { range: { start: 10, end: 15 } }))).code).toBe('EPROTOCOL');
  });

  it('follow a redirect to another host without sending Authorization there', async () => {
    const { s, b } = await seeded({ credentials: async () => ({ registryToken: 'redirect-secret-token' }) }, 5000);
    // The registry has no auth: make the client learn a challenge first.
    proxy.fault({ method: 'HEAD', path: BLOB }, { kind: 'status', status: 401, headers: { 'www-authenticate': 'Bearer realm="http://127.0.0.1:1/token",service="x"' } });
    expect(await s.exists(b.desc)).toBe(true);
    proxy.fault({ method: 'GET', path: BLOB }, { kind: 'redirect', status: 307 });
    const got = await readAll(await s.fetch(b.desc));
    expect(got.equals(b.bytes)).toBe(true);
    const viaProxy = proxy.requests.filter((r) => r.method === 'GET' && r.origin === 'proxy');
    const viaStorage = proxy.requests.filter((r) => r.origin === 'storage');
    expect(viaProxy[0]!.headers.authorization).toBe('Bearer redirect-secret-token');
    expect(viaStorage.length).toBe(1);
    expect(viaStorage[0]!.headers.authorization).toBeUndefined();
  });
});

describe('status answers', () => {
  it('retry 500s with backoff and succeed', async () => {
    const s = store();
    const b = blob(1000);
    proxy.fault({ method: 'HEAD', path: BLOB }, { kind: 'status', status: 500 }, 3);
    await s.push(b.desc, bufferSource(b.bytes));
    expect(proxy.requests.filter((r) => r.method === 'HEAD').length).toBe(4);
    expect(await s.exists(b.desc)).toBe(true);
  });

  it('give up after the last try with the status and the registry code', async () => {
    const s = store();
    proxy.fault({ method: 'GET', path: /\/tags\/list/ }, { kind: 'status', status: 503 }, 100);
    const err = await failure(s.tags());
    expect(err.code).toBe('EREGISTRY');
    expect(err.message).toMatch(/^list tags of 127\.0\.0\.1:\d+\/faults\/r\d+: registry answered 503 \(UNKNOWN: injected 503\)$/);
    expect(err.hint).toBeTruthy();
    expect((err as unknown as { status: number }).status).toBe(503);
    expect(proxy.requests.length).toBe(4);
  });

  it('do not retry a 4xx', async () => {
    const s = store();
    proxy.fault({ method: 'GET', path: /\/tags\/list/ }, { kind: 'status', status: 400, body: '{"errors":[{"code":"NAME_INVALID","message":"invalid repository name"}]}' }, 100);
    const err = await failure(s.tags());
    expect(err.code).toBe('EREGISTRY');
    expect(err.message).toContain('400 (NAME_INVALID: invalid repository name)');
    expect(err.hint).toContain('repository name');
    expect(proxy.requests.length).toBe(1);
  });

  it('honour a 429 Retry-After', async () => {
    const retries: RetryInfo[] = [];
    const s = store({ onRetry: (i) => retries.push(i) });
    const b = blob(1000);
    proxy.fault({ method: 'HEAD', path: BLOB }, { kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const t0 = Date.now();
    await s.push(b.desc, bufferSource(b.bytes));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(retries.map((r) => r.delayMs)).toEqual([1000]);
  });

  it('fail at once when Retry-After is longer than the policy allows', async () => {
    const retries: RetryInfo[] = [];
    const s = store({ retry: { maxRetryAfterMs: 2000, baseDelayMs: 5 }, onRetry: (i) => retries.push(i) });
    proxy.fault({ method: 'GET', path: /\/tags\/list/ }, { kind: 'status', status: 429, headers: { 'retry-after': '3600' } });
    const err = await failure(s.tags());
    // At once: one request, no retry, no wait.
    expect(proxy.requests.length).toBe(1);
    expect(retries).toEqual([]);
    expect(err.code).toBe('ERATELIMIT');
    expect(err.hint).toContain('3600s');
  });

  it('stop retrying when the signal aborts', async () => {
    const retries: RetryInfo[] = [];
    // A minute between tries: an abort while it waits must end the push, not the wait.
    const s = store({ retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, maxTries: 10 }, onRetry: (i) => retries.push(i) });
    const b = blob(1000);
    proxy.fault({ method: 'HEAD', path: BLOB }, { kind: 'status', status: 500 }, 100);
    const ac = new AbortController();
    const pushed = s.push(b.desc, bufferSource(b.bytes), { signal: ac.signal });
    const aborted = expect(pushed).rejects.toMatchObject({ name: 'AbortError' });
    await vi.waitUntil(() => retries.length === 1, { timeout: 600_000, interval: 5 });
    ac.abort();
    await aborted;
    expect(proxy.requests.filter((r) => r.method === 'HEAD')).toHaveLength(1);
    expect(retries).toHaveLength(1);
  });
});

describe('concurrency', () => {
  it('keeps at most `concurrency` transfers in flight', async () => {
    const s = store({ concurrency: 2 });
    const blobs = Array.from({ length: 8 }, () => blob(300_000));
    await Promise.all(blobs.map((b) => s.push(b.desc, bufferSource(b.bytes))));
    expect(proxy.maxInFlight).toBeLessThanOrEqual(2);
    proxy.clear();
    const got = await Promise.all(blobs.map(async (b) => readAll(await s.fetch(b.desc))));
    expect(got.every((g, i) => g.equals(blobs[i]!.bytes))).toBe(true);
    expect(proxy.maxInFlight).toBeLessThanOrEqual(2);
  });
});

describe('protocol details', () => {
  it("'auto' uploads chunk only above chunkSize", async () => {
    const s = store({ upload: 'auto', chunkSize: 10_000 });
    const small = blob(10_000);
    const big = blob(25_000);
    await s.push(small.desc, bufferSource(small.bytes));
    expect(proxy.requests.filter((r) => r.method === 'PATCH').length).toBe(0);
    await s.push(big.desc, bufferSource(big.bytes));
    expect(proxy.requests.filter((r) => r.method === 'PATCH').map((r) => r.headers['content-range'])).toEqual(['0-9999', '10000-19999', '20000-24999']);
    expect((await readAll(await s.fetch(big.desc))).equals(big.bytes)).toBe(true);
  });

  it('tags follow Link pages and are sorted', async () => {
    const s = store();
    await s.push(EMPTY, bufferSource(Buffer.from('{}')));
    const m = manifestFor([]);
    await s.push(m.desc, bufferSource(m.bytes));
    for (const t of ['b', 'a']) await s.tag(m.desc, t);
    const repo = s.repository;
    proxy.clear();
    proxy.fault(
      { method: 'GET', path: /\/tags\/list\?n=1000$/ },
      {
        kind: 'status',
        status: 200,
        headers: { link: `</v2/${repo}/tags/list?n=1000&last=zz>; rel="next"` },
        body: JSON.stringify({ name: repo, tags: ['zz', 'c'] }),
      },
    );
    expect(await s.tags()).toEqual(['a', 'b', 'c', 'zz']);
    expect(proxy.requests.map((r) => r.url)).toEqual([`/v2/${repo}/tags/list?n=1000`, `/v2/${repo}/tags/list?n=1000&last=zz`]);
  });

  it('refuses a Link page on another origin', async () => {
    const s = store();
    proxy.fault(
      { method: 'GET', path: /\/tags\/list/ },
      {
        kind: 'status',
        status: 200,
        headers: { link: '<http://127.0.0.3:9/v2/x/tags/list?last=a>; rel="next"' },
        body: JSON.stringify({ tags: ['a'] }),
      },
    );
    expect((await failure(s.tags())).code).toBe('EPROTOCOL');
  });

  it('refuses an upload Location on another host', async () => {
    const s = store();
    const b = blob(100);
    proxy.fault({ method: 'POST', path: UPLOAD }, { kind: 'status', status: 202, headers: { location: 'http://127.0.0.3:9/v2/x/blobs/uploads/abc' }, body: '' });
    const err = await failure(s.push(b.desc, bufferSource(b.bytes)));
    expect(err.code).toBe('EPROTOCOL');
    expect(err.message).toContain('another host');
  });
});
