/**
 * Auth against real registries: token auth (x5c-signed ES256 and kid-signed RS256 JWTs),
 * htpasswd Basic auth. Tokens are asked with the scopes an operation needs (push asks
 * pull,push at once) and cached; missing or wrong credentials give one EAUTH line; no
 * secret ever appears in an error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource, readAll } from '../../../src/content/storage.js';
import { isMkError } from '../../../src/errors/index.js';
import { anonymous, dockerConfigCredentials, staticCredentials, RegistryStore, type CredentialsProvider, type RegistryStoreOptions } from '../../../src/stores/registry/index.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { startTokenIssuer, type TokenIssuer } from '../../support/token-issuer.js';
import { blob } from '../../support/target-contract.js';

const PASSWORD = 'Sup3r-Secret-Passw0rd-5521';
const SECRETS = [PASSWORD, Buffer.from(`dana:${PASSWORD}`).toString('base64'), 'refresh-token-secret-8c1e'];

const stores: RegistryStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

function open(reg: RunningRegistry, repository: string, credentials: CredentialsProvider, o: Partial<RegistryStoreOptions> = {}): RegistryStore {
  const s = new RegistryStore({ host: reg.host, repository, credentials, retry: { baseDelayMs: 5, maxTries: 2 }, ...o });
  stores.push(s);
  return s;
}

/** The error of a failed promise, checked to be one MkError line without any secret. */
async function authFailure(p: Promise<unknown>): Promise<Error & { code: string; hint?: string }> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(isMkError(e), `expected an MkError, got ${String(e)}`).toBe(true);
  const err = e as Error & { code: string; hint?: string };
  expect(err.message).not.toContain('\n');
  const everything = [err.message, err.hint ?? '', err.stack ?? '', inspect(err, { depth: 10, showHidden: true }), JSON.stringify(err)].join('\n');
  for (const s of SECRETS) expect(everything).not.toContain(s);
  return err;
}

describe('token auth (ES256, x5c)', () => {
  let issuer: TokenIssuer;
  let reg: RunningRegistry;
  const dana = staticCredentials({ username: 'dana', password: PASSWORD });

  beforeAll(async () => {
    issuer = await startTokenIssuer({ users: { dana: PASSWORD }, refreshTokens: { 'refresh-token-secret-8c1e': 'dana' }, anonymousPull: true });
    reg = await startRegistry({ token: issuer });
  });
  afterAll(async () => {
    await reg?.stop();
    await issuer?.stop();
  });

  it('asks pull,push up front for a push, and reuses the cached token', async () => {
    const s = open(reg, 'team/push-scope', dana);
    const blobs = [blob(1000), blob(2000), blob(3000)];
    for (const b of blobs) await s.push(b.desc, bufferSource(b.bytes));
    const asked = issuer.requests.filter((r) => r.scopes.some((x) => x.includes('team/push-scope')));
    expect(asked.map((r) => r.scopes)).toEqual([['repository:team/push-scope:pull,push']]);
    expect(asked[0]!.user).toBe('dana');
    expect(asked[0]!.service).toBe(issuer.service);
    // A pull-only operation gets its own (pull) token once.
    await s.exists(blobs[0]!.desc);
    await s.exists(blobs[1]!.desc);
    const again = issuer.requests.filter((r) => r.scopes.some((x) => x.includes('team/push-scope')));
    expect(again.map((r) => r.scopes)).toEqual([['repository:team/push-scope:pull,push'], ['repository:team/push-scope:pull']]);
  });

  it('mounts a blob from another repository of the same registry', async () => {
    const a = open(reg, 'team/source', dana);
    const b = blob(40_000);
    await a.push(b.desc, bufferSource(b.bytes));
    const target = open(reg, 'team/target', dana, { mountFrom: 'team/source' });
    let progress = 0;
    await target.push(b.desc, bufferSource(b.bytes), { onProgress: (n) => (progress += n) });
    expect(progress).toBe(0); // mounted, not uploaded
    expect((await readAll(await target.fetch(b.desc))).equals(b.bytes)).toBe(true);
    const scopes = issuer.requests.filter((r) => r.scopes.some((x) => x.includes('team/target'))).flatMap((r) => r.scopes);
    expect(scopes).toContain('repository:team/source:pull');
  });

  it('falls back to an upload when the mount source does not have the blob', async () => {
    const target = open(reg, 'team/target2', dana, { mountFrom: 'team/empty-source' });
    const b = blob(5000);
    let progress = 0;
    await target.push(b.desc, bufferSource(b.bytes), { onProgress: (n) => (progress += n) });
    expect(progress).toBe(5000);
    expect(await target.exists(b.desc)).toBe(true);
  });

  it('uses an identity token (OAuth2 refresh_token grant) from the docker config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mk-idtoken-'));
    try {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('dana:').toString('base64'), identitytoken: 'refresh-token-secret-8c1e' } } }));
      const s = open(reg, 'team/idtoken', dockerConfigCredentials({ configDir: dir }));
      const b = blob(100);
      await s.push(b.desc, bufferSource(b.bytes));
      const posts = issuer.requests.filter((r) => r.method === 'POST' && r.scopes.some((x) => x.includes('team/idtoken')));
      expect(posts.length).toBe(1);
      expect(posts[0]!.user).toBe('dana');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sends a registry token as is (MK_REGISTRY_TOKEN)', async () => {
    const token = issuer.issue('dana', ['repository:team/rt:pull,push']);
    const s = open(reg, 'team/rt', staticCredentials({ registryToken: token }));
    const before = issuer.requests.length;
    const b = blob(100);
    await s.push(b.desc, bufferSource(b.bytes));
    expect(await s.exists(b.desc)).toBe(true);
    expect(issuer.requests.length).toBe(before);
  });

  it('pulls anonymously when the token server allows it, and refuses an anonymous push with one EAUTH line', async () => {
    const owner = open(reg, 'team/public', dana);
    const b = blob(500);
    await owner.push(b.desc, bufferSource(b.bytes));
    const anon = open(reg, 'team/public', anonymous);
    expect((await readAll(await anon.fetch(b.desc))).equals(b.bytes)).toBe(true);
    const c = blob(500);
    const err = await authFailure(anon.push(c.desc, bufferSource(c.bytes)));
    expect(err.code).toBe('EAUTH');
    expect(err.message).toMatch(/^push blob sha256:[0-9a-f]{64} to 127\.0\.0\.1:\d+\/team\/public: registry answered 401/);
    expect(err.hint).toContain(`mk login ${reg.host}`);
  });

  it('reports wrong credentials without showing them', async () => {
    const s = open(reg, 'team/wrong', staticCredentials({ username: 'dana', password: PASSWORD + 'x' }));
    SECRETS.push(PASSWORD + 'x');
    const err = await authFailure(s.push(blob(10).desc, bufferSource(blob(10).bytes)));
    expect(err.code).toBe('EAUTH');
    expect(err.message).toContain('the token server rejected the credentials (401)');
    const err2 = await authFailure(open(reg, 'team/wrong', staticCredentials({ identityToken: 'refresh-token-secret-8c1e-wrong' })).tags());
    SECRETS.push('refresh-token-secret-8c1e-wrong');
    expect(err2.code).toBe('EAUTH');
  });

  it('ping checks the registry and the credentials', async () => {
    await open(reg, 'team/ping', dana).ping();
  });
});

describe('token auth (RS256, kid = libtrust key id)', () => {
  let issuer: TokenIssuer;
  let reg: RunningRegistry;
  beforeAll(async () => {
    issuer = await startTokenIssuer({ users: { dana: PASSWORD }, alg: 'RS256', keyHeader: 'kid' });
    reg = await startRegistry({ token: issuer });
  });
  afterAll(async () => {
    await reg?.stop();
    await issuer?.stop();
  });

  it('pushes, tags and lists', async () => {
    const s = open(reg, 'kid/repo', staticCredentials({ username: 'dana', password: PASSWORD }));
    const b = blob(1234);
    await s.push(b.desc, bufferSource(b.bytes));
    expect((await readAll(await s.fetch(b.desc))).equals(b.bytes)).toBe(true);
    expect(await s.tags()).toEqual([]);
  });
});

describe('htpasswd basic auth', () => {
  let reg: RunningRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: [{ username: 'dana', password: PASSWORD }] });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('says that credentials are needed when there are none', async () => {
    const err = await authFailure(open(reg, 'b/none', anonymous).tags());
    expect(err.code).toBe('EAUTH');
    expect(err.message).toMatch(/^list tags of 127\.0\.0\.1:\d+\/b\/none: registry answered 401/);
    expect(err.hint).toContain('requires authentication');
  });

  it('says that the credentials were refused, without showing them', async () => {
    const err = await authFailure(open(reg, 'b/wrong', staticCredentials({ username: 'dana', password: `${PASSWORD}-nope` })).tags());
    expect(err.code).toBe('EAUTH');
    expect(err.hint).toContain('were refused');
    const b = blob(100);
    const err2 = await authFailure(open(reg, 'b/wrong', staticCredentials({ username: 'dana', password: `${PASSWORD}-nope` })).push(b.desc, bufferSource(b.bytes)));
    expect(err2.code).toBe('EAUTH');
  });

  it('works with the right credentials', async () => {
    const s = open(reg, 'b/right', staticCredentials({ username: 'dana', password: PASSWORD }));
    await s.ping();
    const b = blob(100);
    await s.push(b.desc, bufferSource(b.bytes));
    expect(await s.exists(b.desc)).toBe(true);
  });
});
