/**
 * A registry (or a proxy, or a token server) that answers garbage: bodies cut short, not
 * JSON, JSON of the wrong shape, too large; a Location that is not a URL, a redirect loop, a
 * wrong Docker-Content-Digest, an error body over several lines. A cut-short answer is asked
 * for again within the retry budget, like a dropped download; everything else is one typed
 * MkError line with a hint, never a SyntaxError or TypeError ("internal error" in the CLI).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../../src/content/media-types.js';
import { bufferSource, readAll } from '../../../src/content/storage.js';
import { isMkError, type MkError } from '../../../src/errors/index.js';
import { sha256 } from '../../../src/hashing/digest.js';
import { anonymous, parseRegistryReference, RegistryStore, staticCredentials, type RegistryStoreOptions } from '../../../src/stores/registry/index.js';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { expectMkError, mkSpawn, tempDir } from '../../support/repo.js';
import { startTokenIssuer, type TokenIssuer } from '../../support/token-issuer.js';
import { blob, EMPTY, manifestFor } from '../../support/target-contract.js';

const TRIES = 4;
const stores: RegistryStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

function open(host: string, repository: string, o: Partial<RegistryStoreOptions> = {}): RegistryStore {
  const s = new RegistryStore({ host, repository, credentials: anonymous, retry: { baseDelayMs: 5, maxDelayMs: 20, maxTries: TRIES }, ...o });
  stores.push(s);
  return s;
}

/** The error of a failed promise: an MkError of one line, with a hint. */
async function failure(p: Promise<unknown>): Promise<MkError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(isMkError(e), `expected an MkError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`).toBe(true);
  const err = e as MkError;
  expect(err.message).not.toMatch(/[\r\n]/);
  expect(err.hint, `no hint for: ${err.message}`).toBeTruthy();
  return err;
}

describe('answers from the registry', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  let s: RegistryStore;
  const m = manifestFor([]);
  const MANIFEST = /\/manifests\/v1$/;
  const TAGS = /\/tags\/list/;
  const gets = (path: RegExp) => proxy.requests.filter((r) => r.method === 'GET' && path.test(r.url)).length;

  beforeAll(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy(reg.url);
    s = open(proxy.host, 'answers/repo');
    await s.push(EMPTY, bufferSource(Buffer.from('{}')));
    await s.push(m.desc, bufferSource(m.bytes));
    await s.tag(m.desc, 'v1');
    proxy.clear();
  });
  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
  });
  afterEach(() => proxy.clear());

  describe('a manifest', () => {
    it('cut short (fewer bytes than Content-Length) is asked for again, and then read', async () => {
      proxy.fault({ method: 'GET', path: MANIFEST }, { kind: 'drop-response', afterBytes: 20 }, 2);
      const got = await s.fetchManifest('v1');
      expect(got.bytes.equals(m.bytes)).toBe(true);
      expect(got.desc.digest).toBe(m.desc.digest);
      expect(gets(MANIFEST)).toBe(3);
    });

    it('cut short on every try: one ENETWORK line, after the whole retry budget', async () => {
      proxy.fault({ method: 'GET', path: MANIFEST }, { kind: 'drop-response', afterBytes: 20 }, 100);
      const err = await failure(s.fetchManifest('v1'));
      expect(err.code).toBe('ENETWORK');
      expect(err.message).toMatch(new RegExp(`^fetch manifest tag 'v1' from 127\\.0\\.0\\.1:\\d+/answers/repo: the answer broke off after 20 of ${m.bytes.length} bytes`));
      expect(gets(MANIFEST)).toBe(TRIES);
    });

    it('cut short on every try, through the CLI: one mk: line and a hint, not an internal error', async () => {
      proxy.fault({ method: 'GET', path: /\/manifests\// }, { kind: 'drop-response', afterBytes: 20 }, 100);
      const t = tempDir();
      try {
        // Not spawnSync: the fault proxy runs in this process and must keep answering.
        const r = await mkSpawn(t.dir, ['modelkit', 'inspect', `${proxy.host}/answers/repo:v1`]).done;
        expectMkError(r, /^mk: fetch manifest sha256:[0-9a-f]{64} from 127\.0\.0\.1:\d+\/answers\/repo: the answer broke off after 20 of \d+ bytes/);
        expect(r.stderr).toContain('hint: ');
        expect(gets(/\/manifests\//)).toBe(5);
      } finally {
        t.cleanup();
      }
    });

    it('by digest, cut short, is asked for again', async () => {
      proxy.fault({ method: 'GET', path: /\/manifests\/sha256:/ }, { kind: 'drop-response', afterBytes: 10 }, 1);
      expect((await readAll(await s.fetch(m.desc))).equals(m.bytes)).toBe(true);
    });

    it('under a descriptor that says more bytes than a complete answer holds is EDIGEST at once, not a retry', async () => {
      const err = await failure(s.fetchManifest({ ...m.desc, size: m.desc.size + 10 }));
      expect(err.code).toBe('EDIGEST');
      expect(gets(/\/manifests\/sha256:/)).toBe(1);
    });

    it('whose JSON ends early (a complete-looking answer) is asked for again', async () => {
      const cut = m.bytes.subarray(0, 30).toString();
      proxy.fault({ method: 'GET', path: MANIFEST }, { kind: 'status', status: 200, headers: { 'content-type': MediaType.ociManifest }, body: cut }, 2);
      expect((await s.fetchManifest('v1')).bytes.equals(m.bytes)).toBe(true);
      proxy.clear();
      proxy.fault({ method: 'GET', path: MANIFEST }, { kind: 'status', status: 200, headers: { 'content-type': MediaType.ociManifest }, body: cut }, 100);
      const err = await failure(s.fetchManifest('v1'));
      expect(err.code).toBe('EPROTOCOL');
      expect(err.message).toMatch(/: the answer is not valid JSON$/);
      expect(gets(MANIFEST)).toBe(TRIES);
    });

    it('that is an HTML page (a proxy login page, answered 200) is refused', async () => {
      proxy.fault({ method: 'GET', path: MANIFEST }, { kind: 'status', status: 200, headers: { 'content-type': 'text/html' }, body: '<html><body>Please log in</body></html>' }, 100);
      expect((await failure(s.fetchManifest('v1'))).code).toBe('EPROTOCOL');
    });

    it('that is JSON but not an object is refused at once', async () => {
      for (const body of ['null', '[]', '"x"', '42']) {
        proxy.clear();
        proxy.fault({ method: 'GET', path: MANIFEST }, { kind: 'status', status: 200, headers: { 'content-type': MediaType.ociManifest }, body }, 100);
        const err = await failure(s.fetchManifest('v1'));
        expect(err.code).toBe('EPROTOCOL');
        expect(err.message).toContain('not an object');
        expect(gets(MANIFEST)).toBe(1);
      }
    });

    it('whose bytes match their digest but are not JSON is refused, without retrying', async () => {
      const junk = Buffer.from('not json at all');
      const d = { mediaType: MediaType.ociManifest, digest: sha256(junk), size: junk.length };
      proxy.fault({ method: 'GET', path: /\/manifests\/sha256:/ }, { kind: 'status', status: 200, headers: { 'content-type': MediaType.ociManifest }, body: junk.toString() }, 100);
      const err = await failure(s.fetchManifest(d));
      expect(err.code).toBe('EPROTOCOL');
      expect(gets(/\/manifests\//)).toBe(1);
    });

    it('with a wrong Docker-Content-Digest is EDIGEST', async () => {
      const wrong = sha256('something else');
      proxy.fault({ method: 'GET', path: MANIFEST }, { kind: 'status', status: 200, headers: { 'content-type': MediaType.ociManifest, 'docker-content-digest': wrong }, body: m.bytes.toString() });
      const err = await failure(s.fetchManifest('v1'));
      expect(err.code).toBe('EDIGEST');
      expect(err.message).toContain(wrong);
    });

    it('larger than 4 MiB is refused before it is read', async () => {
      const huge = JSON.stringify({ schemaVersion: 2, pad: 'x'.repeat(5 << 20) });
      proxy.fault({ method: 'GET', path: MANIFEST }, { kind: 'status', status: 200, headers: { 'content-type': MediaType.ociManifest }, body: huge });
      const err = await failure(s.fetchManifest('v1'));
      expect(err.message).toContain('larger than 4194304 bytes');
    });
  });

  describe('the tag list', () => {
    it('cut short, or ending early, is asked for again', async () => {
      proxy.fault({ method: 'GET', path: TAGS }, { kind: 'drop-response', afterBytes: 5 }, 1);
      proxy.fault({ method: 'GET', path: TAGS }, { kind: 'status', status: 200, body: '{"name":"answers/repo","tags":["v' }, 1);
      expect(await s.tags()).toEqual(['v1']);
      expect(gets(TAGS)).toBe(3);
    });

    it('of the wrong shape is one EPROTOCOL line', async () => {
      for (const body of ['null', '{"tags":"v1"}', '{"tags":{"a":1}}']) {
        proxy.clear();
        proxy.fault({ method: 'GET', path: TAGS }, { kind: 'status', status: 200, body }, 100);
        expect((await failure(s.tags())).code, body).toBe('EPROTOCOL');
      }
    });

    it('with a next-page Link that is not a URL is one EPROTOCOL line', async () => {
      proxy.fault({ method: 'GET', path: TAGS }, { kind: 'status', status: 200, headers: { link: '<http://[::zz]/v2/x/tags/list?last=a>; rel="next"' }, body: '{"tags":["a"]}' });
      expect((await failure(s.tags())).code).toBe('EPROTOCOL');
    });
  });

  describe('redirects and Locations', () => {
    it('a redirect to a Location that is not a URL is one EPROTOCOL line', async () => {
      const b = blob(100);
      await s.push(b.desc, bufferSource(b.bytes));
      proxy.clear();
      proxy.fault({ method: 'GET', path: /\/blobs\/sha256:/ }, { kind: 'status', status: 307, headers: { location: 'http://[::zz]:1/blob' }, body: '' });
      const err = await failure(s.fetch(b.desc));
      expect(err.code).toBe('EPROTOCOL');
      expect(err.message).toContain('Location that is not a URL');
    });

    it('an upload Location that is not a URL is one EPROTOCOL line', async () => {
      const b = blob(100);
      proxy.fault({ method: 'POST', path: /\/blobs\/uploads\// }, { kind: 'status', status: 202, headers: { location: 'http://[::zz]:1/upload' }, body: '' });
      expect((await failure(s.push(b.desc, bufferSource(b.bytes)))).code).toBe('EPROTOCOL');
    });

    it('a redirect loop ends after 5 redirects with one EPROTOCOL line', async () => {
      proxy.fault({ method: 'GET', path: TAGS }, { kind: 'status', status: 302, headers: { location: '/v2/answers/repo/tags/list?n=1000' }, body: '' }, 100);
      const err = await failure(s.tags());
      expect(err.code).toBe('EPROTOCOL');
      expect(err.message).toContain('more than 5 redirects');
      expect(gets(TAGS)).toBe(6);
    });
  });

  it('an error body over several lines still gives one line', async () => {
    proxy.fault({ method: 'GET', path: TAGS }, { kind: 'status', status: 400, body: JSON.stringify({ errors: [{ code: 'BAD\nCODE\r\nX', message: 'first\nsecond' }] }) });
    const e = await s.tags().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isMkError(e), String(e)).toBe(true);
    expect((e as MkError).message).not.toMatch(/[\r\n]/);
    expect((e as MkError).message).toContain('400 (BAD CODE X: first second)');
  });
});

describe('answers from the token server', () => {
  let issuer: TokenIssuer;
  let tproxy: FaultProxy;
  let reg: RunningRegistry;
  const PASSWORD = 'answers-Passw0rd-31c';
  const TOKEN = /^\/token/;
  const tokenGets = () => tproxy.requests.filter((r) => TOKEN.test(r.url)).length;
  let n = 0;
  const store = () => open(reg.host, `tok/r${++n}`, { credentials: staticCredentials({ username: 'dana', password: PASSWORD }) });

  beforeAll(async () => {
    issuer = await startTokenIssuer({ users: { dana: PASSWORD } });
    tproxy = await startFaultProxy(new URL(issuer.realm).origin);
    reg = await startRegistry({ token: { ...issuer, realm: `${tproxy.url}/token` } });
  });
  afterAll(async () => {
    await reg?.stop();
    await tproxy?.stop();
    await issuer?.stop();
  });
  afterEach(() => tproxy.clear());

  it('a token answer cut short, or whose JSON ends early, is asked for again', async () => {
    tproxy.fault({ path: TOKEN }, { kind: 'drop-response', afterBytes: 10 }, 1);
    tproxy.fault({ path: TOKEN }, { kind: 'status', status: 200, body: '{"token":"eyJhbGciOi' }, 1);
    const b = blob(100);
    await store().push(b.desc, bufferSource(b.bytes));
    expect(tokenGets()).toBe(3);
  });

  it('a token answer that is never a token is one EPROTOCOL line with a hint', async () => {
    for (const body of ['<html>proxy</html>', 'null', '{"token":42}', '{"token":"a\\r\\nX-Injected: 1"}']) {
      tproxy.clear();
      tproxy.fault({ path: TOKEN }, { kind: 'status', status: 200, headers: { 'content-type': 'text/html' }, body }, 100);
      const err = await failure(store().tags());
      expect(err.code, body).toBe('EPROTOCOL');
      expect(err.message, body).toMatch(/^get a token for 127\.0\.0\.1:\d+ from 127\.0\.0\.1:\d+: /);
      expect(err.message + err.hint).not.toContain(PASSWORD);
    }
  });

  it('a token answer larger than 1 MiB is refused', async () => {
    tproxy.fault({ path: TOKEN }, { kind: 'status', status: 200, body: JSON.stringify({ token: 'x'.repeat(2 << 20) }) }, 100);
    const err = await failure(store().tags());
    expect(err.message).toContain('larger than');
  });
});

describe('settings that cannot work', () => {
  it('a host with a port above 65535, or a bracketed host that is not IPv6, is a usage error', () => {
    for (const host of ['127.0.0.1:99999', '[1.2.3.4]:5000', '[:::]']) {
      let e: unknown;
      try {
        new RegistryStore({ host, repository: 'a' });
      } catch (x) {
        e = x;
      }
      expect(isMkError(e, 'EUSAGE'), `${host}: ${String(e)}`).toBe(true);
      expect(() => parseRegistryReference(`${host}/a:b`)).toThrow(/invalid registry host/);
    }
  });

  it('a CA bundle that cannot be read is one line', () => {
    let e: unknown;
    try {
      new RegistryStore({ host: 'registry.example.com', repository: 'a', caFile: '/nonexistent/ca.pem' });
    } catch (x) {
      e = x;
    }
    expect(isMkError(e), String(e)).toBe(true);
    expect((e as MkError).message).toBe('cannot read the CA bundle /nonexistent/ca.pem (ENOENT)');
  });
});
