/**
 * Where a token request may go. A registry's 401 names a token realm; mk sends the user's
 * credentials there only if it is a public address or the registry's own host (any port).
 * A realm on any other loopback, private, link-local or unspecified address, however it is
 * written, is refused before a connection is made, and so is a redirect of the token
 * request to such an address. Blob redirects to another origin never carry Authorization.
 *
 * A "canary" listens on every local address (IPv4 and IPv6, port C) and records what reaches
 * it: a refused realm must leave it untouched.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource, readAll } from '../../../src/content/storage.js';
import { isMkError, type MkError } from '../../../src/errors/index.js';
import { RegistryStore, staticCredentials } from '../../../src/stores/registry/index.js';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { blob } from '../../support/target-contract.js';

const SECRET = 'realm-test-Passw0rd-77a1';
const BLOB = /\/blobs\/sha256:/;

let reg: RunningRegistry;
let proxy: FaultProxy;
let canary: Server;
let C: number;
const hits: Array<{ url: string; authorization?: string }> = [];
const stores: RegistryStore[] = [];
let n = 0;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.url);
  canary = createServer((req: IncomingMessage, res) => {
    hits.push({ url: req.url ?? '', authorization: req.headers.authorization });
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/redirect') {
      res.writeHead(307, { location: u.searchParams.get('to')!, 'content-length': '0' }).end();
      return;
    }
    const body = JSON.stringify({ token: 'canary-token', expires_in: 300 });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((r) => canary.listen(0, '::', () => r()));
  C = (canary.address() as { port: number }).port;
});
afterAll(async () => {
  for (const s of stores) await s.close();
  canary?.closeAllConnections();
  await new Promise((r) => canary?.close(r));
  await proxy?.stop();
  await reg?.stop();
});
afterEach(() => {
  proxy.clear();
  hits.length = 0;
});

/** A fresh store (no cached challenge) whose next blob HEAD is answered 401 with this realm. */
function challenged(realm: string): RegistryStore {
  const s = new RegistryStore({
    host: proxy.host,
    repository: `realm/r${++n}`,
    credentials: staticCredentials({ username: 'dana', password: SECRET }),
    retry: { baseDelayMs: 5, maxTries: 2 },
    timeouts: { connectMs: 500 },
  });
  stores.push(s);
  proxy.fault({ method: 'HEAD', path: BLOB }, { kind: 'status', status: 401, headers: { 'www-authenticate': `Bearer realm="${realm}",service="x"` } });
  return s;
}

async function refused(p: Promise<unknown>): Promise<MkError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(isMkError(e), `expected an MkError, got ${String(e)}`).toBe(true);
  const err = e as MkError;
  expect(err.code).toBe('EAUTH');
  expect(err.message).toContain('refusing to send credentials there');
  expect(err.message + (err.hint ?? '')).not.toContain(SECRET);
  expect(err.hint).toBeTruthy();
  return err;
}

describe('a token realm', () => {
  const forms = (): string[] => [
    `http://127.0.0.2:${C}/token`,
    `http://0x7f.0.0.2:${C}/token`,
    `http://2130706434:${C}/token`,
    `http://0177.0.0.2:${C}/token`,
    `http://[::1]:${C}/token`,
    `http://[::]:${C}/token`,
    `http://[::ffff:127.0.0.2]:${C}/token`,
    `http://[::ffff:7f00:2]:${C}/token`,
    `http://[::127.0.0.2]:${C}/token`,
    `http://localhost:${C}/token`,
    `http://localhost.:${C}/token`,
    `http://mk.localhost:${C}/token`,
    `http://0.0.0.0:${C}/token`,
    `http://0:${C}/token`,
    `http://169.254.169.254/token`,
    `http://[::ffff:169.254.169.254]/token`,
    `http://100.64.0.1:${C}/token`,
    `http://10.0.0.1:${C}/token`,
    `http://172.16.0.1:${C}/token`,
    `http://192.168.0.1:${C}/token`,
    `http://[fd00::1]:${C}/token`,
    `http://[fe80::1]:${C}/token`,
    `http://224.0.0.1:${C}/token`,
    `http://255.255.255.255:${C}/token`,
  ];

  it('on a non-public address that is not the registry host is refused, whatever its spelling, and nothing is sent there', async () => {
    const b = blob(10);
    for (const realm of forms()) {
      const err = await refused(challenged(realm).exists(b.desc));
      expect(err.message, realm).toMatch(/sent a token realm on an? [a-zA-Z ()-]+ address \(/);
    }
    expect(hits).toEqual([]);
  });

  it("on the registry's own host, on another port, is used (also when written differently)", async () => {
    const b = blob(10);
    for (const realm of [`http://127.0.0.1:${C}/token`, `http://2130706433:${C}/token`]) {
      hits.length = 0;
      expect(await challenged(realm).exists(b.desc)).toBe(false);
      expect(hits.map((h) => new URL(h.url, 'http://x').pathname)).toEqual(['/token']);
      expect(hits[0]!.authorization).toBe('Basic ' + Buffer.from(`dana:${SECRET}`).toString('base64'));
    }
  });

  it('is not followed by a redirect of the token request to another non-public address', async () => {
    const b = blob(10);
    for (const to of [`http://127.0.0.2:${C}/token`, `http://[::ffff:7f00:2]:${C}/token`, `http://localhost:${C}/token`, 'http://169.254.169.254/token']) {
      hits.length = 0;
      const err = await refused(challenged(`http://127.0.0.1:${C}/redirect?to=${encodeURIComponent(to)}`).exists(b.desc));
      expect(err.message).toContain('sent a redirect of the token request to');
      expect(hits.map((h) => new URL(h.url, 'http://x').pathname)).toEqual(['/redirect']);
    }
  });

  it('may redirect on its own host', async () => {
    const b = blob(10);
    expect(await challenged(`http://127.0.0.1:${C}/redirect?to=${encodeURIComponent(`http://127.0.0.1:${C}/token`)}`).exists(b.desc)).toBe(false);
    expect(hits.map((h) => new URL(h.url, 'http://x').pathname)).toEqual(['/redirect', '/token']);
  });
});

describe('a blob redirect', () => {
  it('to the same host on another port (another origin) carries no Authorization', async () => {
    const p2 = await startFaultProxy(reg.url, { storageHost: '127.0.0.1' });
    try {
      const s = new RegistryStore({ host: p2.host, repository: 'realm/blob', credentials: async () => ({ registryToken: 'blob-redirect-token' }), retry: { baseDelayMs: 5 } });
      stores.push(s);
      const b = blob(5000);
      await s.push(b.desc, bufferSource(b.bytes));
      // The registry has no auth: make the client learn a challenge first.
      p2.fault({ method: 'HEAD', path: BLOB }, { kind: 'status', status: 401, headers: { 'www-authenticate': 'Bearer realm="http://127.0.0.1:1/token",service="x"' } });
      expect(await s.exists(b.desc)).toBe(true);
      p2.clear();
      p2.fault({ method: 'GET', path: BLOB }, { kind: 'redirect', status: 302 });
      expect((await readAll(await s.fetch(b.desc))).equals(b.bytes)).toBe(true);
      expect(p2.storageOrigin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(p2.requests.find((r) => r.origin === 'proxy' && r.method === 'GET')!.headers.authorization).toBe('Bearer blob-redirect-token');
      const stored = p2.requests.filter((r) => r.origin === 'storage');
      expect(stored.length).toBe(1);
      expect(stored[0]!.headers.authorization).toBeUndefined();
    } finally {
      await p2.stop();
    }
  });
});
