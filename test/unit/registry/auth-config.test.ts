/**
 * Credentials without a registry: WWW-Authenticate parsing, scopes, docker config lookup
 * (credHelpers → credsStore → auths), credential helpers, login/logout, environment.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeScopes, parseScope } from '../../../src/stores/registry/auth/scope.js';
import {
  chainCredentials,
  envCredentials,
  login,
  logout,
  lookupDockerCredential,
  parseRegistryReference,
  parseWwwAuthenticate,
  dockerConfigCredentials,
  InsecureRegistryError,
  RegistryStore,
  type DockerConfig,
} from '../../../src/stores/registry/index.js';

describe('WWW-Authenticate', () => {
  it('parses a bearer challenge with quoted parameters', () => {
    expect(parseWwwAuthenticate('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' } },
    ]);
  });

  it('parses several challenges, token values, escapes and odd spacing', () => {
    const got = parseWwwAuthenticate('Basic realm="reg", BEARER Realm = "https://x/t\\"q" , error=insufficient_scope,scope="a:b:c d:e:f"');
    expect(got).toEqual([
      { scheme: 'basic', params: { realm: 'reg' } },
      { scheme: 'bearer', params: { realm: 'https://x/t"q', error: 'insufficient_scope', scope: 'a:b:c d:e:f' } },
    ]);
    expect(parseWwwAuthenticate('')).toEqual([]);
    expect(parseWwwAuthenticate('Negotiate')).toEqual([{ scheme: 'negotiate', params: {} }]);
  });
});

describe('scopes', () => {
  it('keeps a port in the resource name and merges actions', () => {
    expect(parseScope('repository:localhost:5000/a/b:pull,push')).toEqual({ type: 'repository', name: 'localhost:5000/a/b', actions: ['pull', 'push'] });
    expect(mergeScopes(['repository:a:pull', 'repository:a:push repository:b:pull', 'repository:a:pull'])).toEqual(['repository:a:pull,push', 'repository:b:pull']);
  });
});

describe('references', () => {
  it('parses oci:// URLs', () => {
    expect(parseRegistryReference('oci://127.0.0.1:5000/team/data:v1')).toEqual({ host: '127.0.0.1:5000', repository: 'team/data', tag: 'v1' });
    expect(parseRegistryReference('localhost/a@sha256:' + 'a'.repeat(64))).toEqual({ host: 'localhost', repository: 'a', digest: 'sha256:' + 'a'.repeat(64) });
    expect(parseRegistryReference('oci://[::1]:5000/x/y')).toEqual({ host: '[::1]:5000', repository: 'x/y' });
  });

  it('refuses bad names, and credentials in the URL without echoing them', () => {
    expect(() => parseRegistryReference('oci://host/Upper')).toThrow(/invalid repository name/);
    expect(() => parseRegistryReference('oci://host/a:-bad')).toThrow(/invalid tag/);
    try {
      parseRegistryReference('oci://carol:url-secret-1d2e@registry.example.com/a');
      expect.unreachable();
    } catch (e) {
      expect(inspect(e, { depth: 5 })).not.toContain('url-secret-1d2e');
      expect((e as Error).message).toBe("'oci://carol:***@registry.example.com/a' holds credentials; mk does not take credentials in a URL");
    }
  });

  it('allows plain HTTP only to loopback unless insecure', () => {
    expect(() => new RegistryStore({ host: 'registry.example.com', repository: 'a', plainHttp: true })).toThrow(InsecureRegistryError);
    expect(new RegistryStore({ host: 'registry.example.com', repository: 'a' }).base.protocol).toBe('https:');
    expect(new RegistryStore({ host: 'registry.example.com', repository: 'a', plainHttp: true, insecure: true }).base.protocol).toBe('http:');
    for (const h of ['127.0.0.1:5000', '127.8.9.10', 'localhost:1', '[::1]:5000']) {
      expect(new RegistryStore({ host: h, repository: 'a' }).base.protocol).toBe('http:');
    }
  });
});

describe('docker config', () => {
  let dir: string;
  let bin: string;
  let env: NodeJS.ProcessEnv;
  const helperStore = (): Record<string, { Username: string; Secret: string }> => JSON.parse(readFileSync(join(dir, 'helper-store.json'), 'utf8'));

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mk-dockercfg-'));
    bin = join(dir, 'bin');
    mkdirSync(bin);
    // A real credential helper implementing the protocol, backed by a JSON file.
    const helper = `#!/usr/bin/env node
const fs = require('fs');
const file = process.env.MK_TEST_HELPER_STORE;
const db = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
const input = fs.readFileSync(0, 'utf8').trim();
const action = process.argv[2];
if (action === 'get') {
  if (!db[input]) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  process.stdout.write(JSON.stringify({ ServerURL: input, ...db[input] }));
} else if (action === 'store') {
  const j = JSON.parse(input);
  if (j.Secret.includes('fail')) { process.stderr.write('cannot store ' + j.Username + ' with secret ' + j.Secret + '\\n'); process.exit(3); }
  db[j.ServerURL] = { Username: j.Username, Secret: j.Secret };
  fs.writeFileSync(file, JSON.stringify(db));
} else if (action === 'erase') {
  delete db[input];
  fs.writeFileSync(file, JSON.stringify(db));
} else process.exit(2);
`;
    writeFileSync(join(bin, 'docker-credential-mktest'), helper);
    chmodSync(join(bin, 'docker-credential-mktest'), 0o755);
    writeFileSync(join(bin, 'docker-credential-other'), helper.replace('MK_TEST_HELPER_STORE', 'MK_TEST_OTHER_STORE'));
    chmodSync(join(bin, 'docker-credential-other'), 0o755);
    env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, MK_TEST_HELPER_STORE: join(dir, 'helper-store.json'), MK_TEST_OTHER_STORE: join(dir, 'other-store.json') };
    writeFileSync(join(dir, 'helper-store.json'), JSON.stringify({ 'helped.example': { Username: 'hana', Secret: 'helper-pass' }, 'tok.example': { Username: '<token>', Secret: 'refresh-xyz' } }));
    writeFileSync(join(dir, 'other-store.json'), JSON.stringify({ 'both.example': { Username: 'per-host', Secret: 'per-host-pass' } }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const b64 = (s: string): string => Buffer.from(s).toString('base64');

  it('decodes auths entries: auth, username/password, identitytoken, registrytoken, scheme-prefixed keys', async () => {
    const cfg: DockerConfig = {
      auths: {
        'a.example': { auth: b64('ann:pa:ss') },
        'b.example': { username: 'ben', password: 'pw' },
        'c.example': { auth: b64('cid:'), identitytoken: 'idt' },
        'd.example': { registrytoken: 'rt' },
        'https://e.example/v1/': { auth: b64('eve:pe') },
        'https://index.docker.io/v1/': { auth: b64('hub:ph') },
      },
    };
    expect(await lookupDockerCredential(cfg, 'a.example')).toEqual({ username: 'ann', password: 'pa:ss' });
    expect(await lookupDockerCredential(cfg, 'b.example')).toEqual({ username: 'ben', password: 'pw' });
    expect(await lookupDockerCredential(cfg, 'c.example')).toEqual({ username: 'cid', identityToken: 'idt' });
    expect(await lookupDockerCredential(cfg, 'd.example')).toEqual({ registryToken: 'rt' });
    expect(await lookupDockerCredential(cfg, 'e.example')).toEqual({ username: 'eve', password: 'pe' });
    expect(await lookupDockerCredential(cfg, 'registry-1.docker.io')).toEqual({ username: 'hub', password: 'ph' });
    expect(await lookupDockerCredential(cfg, 'nope.example')).toBeUndefined();
  });

  it('prefers credHelpers[host], then credsStore, then auths', async () => {
    const cfg: DockerConfig = {
      credsStore: 'mktest',
      credHelpers: { 'both.example': 'other', 'missing-helper.example': 'not-installed' },
      auths: { 'both.example': { auth: b64('file:fp') }, 'plain.example': { auth: b64('plain:pp') }, 'missing-helper.example': { auth: b64('m:mp') } },
    };
    const look = (h: string) => lookupDockerCredential(cfg, h, { env });
    expect(await look('both.example')).toEqual({ username: 'per-host', password: 'per-host-pass' });
    expect(await look('helped.example')).toEqual({ username: 'hana', password: 'helper-pass' });
    expect(await look('tok.example')).toEqual({ identityToken: 'refresh-xyz' });
    // The store has nothing for it: fall through to auths.
    expect(await look('plain.example')).toEqual({ username: 'plain', password: 'pp' });
    // A helper that is not installed falls through as well.
    expect(await look('missing-helper.example')).toEqual({ username: 'm', password: 'mp' });
  });

  it('login writes auths the way docker does, keeping other entries, mode 0600; logout erases', async () => {
    const cfgDir = join(dir, 'plain-login');
    mkdirSync(cfgDir);
    writeFileSync(join(cfgDir, 'config.json'), JSON.stringify({ auths: { 'keep.example': { auth: b64('k:kp') } }, psFormat: 'table', 'https://old.example/': 1 }), { mode: 0o644 });
    await login('reg.example:5000', 'lena', 'login-secret-42', { configDir: cfgDir, env });
    const cfg = JSON.parse(readFileSync(join(cfgDir, 'config.json'), 'utf8')) as DockerConfig;
    expect(cfg.auths!['reg.example:5000']).toEqual({ auth: b64('lena:login-secret-42') });
    expect(cfg.auths!['keep.example']).toEqual({ auth: b64('k:kp') });
    expect(cfg.psFormat).toBe('table');
    expect(statSync(join(cfgDir, 'config.json')).mode & 0o777).toBe(0o600);
    const provider = dockerConfigCredentials({ configDir: cfgDir, env });
    expect(await provider('reg.example:5000')).toEqual({ username: 'lena', password: 'login-secret-42' });

    expect(await logout('reg.example:5000', { configDir: cfgDir, env })).toBe(true);
    const after = JSON.parse(readFileSync(join(cfgDir, 'config.json'), 'utf8')) as DockerConfig;
    expect(after.auths!['reg.example:5000']).toBeUndefined();
    expect(after.auths!['keep.example']).toBeDefined();
    expect(await provider('reg.example:5000')).toBeUndefined();
  });

  it('login and logout go through credsStore when configured', async () => {
    const cfgDir = join(dir, 'store-login');
    mkdirSync(cfgDir);
    writeFileSync(join(cfgDir, 'config.json'), JSON.stringify({ credsStore: 'mktest' }));
    const r = await login('vault.example', 'vic', 'store-secret-7', { configDir: cfgDir, env });
    expect(r.storedIn).toBe('docker-credential-mktest');
    expect(helperStore()['vault.example']).toEqual({ Username: 'vic', Secret: 'store-secret-7' });
    const text = readFileSync(join(cfgDir, 'config.json'), 'utf8');
    expect(text).not.toContain('store-secret-7');
    expect(JSON.parse(text).auths).toEqual({ 'vault.example': {} });
    expect(await dockerConfigCredentials({ configDir: cfgDir, env })('vault.example')).toEqual({ username: 'vic', password: 'store-secret-7' });
    await logout('vault.example', { configDir: cfgDir, env });
    expect(helperStore()['vault.example']).toBeUndefined();
  });

  it('never shows a secret that a failing helper prints', async () => {
    const cfgDir = join(dir, 'failing-helper');
    mkdirSync(cfgDir);
    writeFileSync(join(cfgDir, 'config.json'), JSON.stringify({ credsStore: 'mktest' }));
    const err = await login('vault.example', 'vic', 'will-fail-secret-93', { configDir: cfgDir, env }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'EAUTH' });
    expect((err as Error).message).toContain('docker-credential-mktest store failed (exit 3)');
    expect(inspect(err, { depth: 5 })).not.toContain('will-fail-secret-93');
  });

  it('environment credentials come first', async () => {
    const cfgDir = join(dir, 'env-first');
    mkdirSync(cfgDir);
    writeFileSync(join(cfgDir, 'config.json'), JSON.stringify({ auths: { 'reg.example': { auth: b64('file:fp') } } }));
    const chain = (e: NodeJS.ProcessEnv) => chainCredentials(envCredentials(e), dockerConfigCredentials({ configDir: cfgDir, env: e }));
    expect(await chain({ MK_REGISTRY_HOST: 'reg.example', MK_REGISTRY_USERNAME: 'ci', MK_REGISTRY_PASSWORD: 'cp' })('reg.example')).toEqual({ username: 'ci', password: 'cp' });
    expect(await chain({ MK_REGISTRY_HOST: 'REG.example', MK_REGISTRY_TOKEN: 'bearer-1' })('reg.example')).toEqual({ registryToken: 'bearer-1' });
    expect(await chain({})('reg.example')).toEqual({ username: 'file', password: 'fp' });
  });

  it('environment credentials belong to one host: MK_REGISTRY_HOST, else the one the command chose; never another', async () => {
    const ci = { MK_REGISTRY_USERNAME: 'ci', MK_REGISTRY_PASSWORD: 'cp', MK_REGISTRY_TOKEN: undefined };
    // No host named and none chosen: nobody gets them.
    expect(await envCredentials(ci)('reg.example')).toBeUndefined();
    // The host the command chose (its remote, or the one on the command line).
    expect(await envCredentials(ci, 'reg.example:5000')('reg.example:5000')).toEqual({ username: 'ci', password: 'cp' });
    expect(await envCredentials(ci, 'reg.example:5000')('reg.example')).toBeUndefined(); // another port is another registry
    expect(await envCredentials(ci, 'reg.example:5000')('other.example:5000')).toBeUndefined();
    // MK_REGISTRY_HOST wins over the chosen host.
    expect(await envCredentials({ ...ci, MK_REGISTRY_HOST: 'pinned.example' }, 'reg.example')('reg.example')).toBeUndefined();
    expect(await envCredentials({ ...ci, MK_REGISTRY_HOST: 'pinned.example' }, 'reg.example')('pinned.example')).toEqual({ username: 'ci', password: 'cp' });
    // Docker Hub's names are one registry.
    expect(await envCredentials({ ...ci, MK_REGISTRY_HOST: 'docker.io' })('registry-1.docker.io')).toEqual({ username: 'ci', password: 'cp' });
  });
});
