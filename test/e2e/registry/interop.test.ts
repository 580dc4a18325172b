/**
 * What RegistryStore writes, other clients read (skopeo); what they write, it reads, on
 * distribution 2.8 (Debian's docker-registry) and v3. Also the Target contract on v3 (the
 * contract-*.test.ts files run it on 2.8), TLS with a private CA, and a registry that sends
 * relative Location headers.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plain } from '../../../src/content/descriptor.js';
import { bufferSource, readAll } from '../../../src/content/storage.js';
import { OciLayoutStore } from '../../../src/stores/oci-layout/layout-store.js';
import { anonymous, RegistryStore } from '../../../src/stores/registry/index.js';
import { REGISTRY_VERSIONS, startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { blob, EMPTY, manifestFor, targetContract } from '../../support/target-contract.js';

const run = promisify(execFile);
const stores: RegistryStore[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'mk-interop-'));
afterAll(async () => {
  for (const s of stores) await s.close();
  rmSync(tmp, { recursive: true, force: true });
});

function open(o: ConstructorParameters<typeof RegistryStore>[0]): RegistryStore {
  const s = new RegistryStore({ credentials: anonymous, retry: { baseDelayMs: 5, maxTries: 2 }, ...o });
  stores.push(s);
  return s;
}

async function pushArtifact(s: RegistryStore, tag: string): Promise<ReturnType<typeof manifestFor>> {
  const layer = blob(4096);
  await s.push(EMPTY, bufferSource(Buffer.from('{}')));
  await s.push(layer.desc, bufferSource(layer.bytes));
  const m = manifestFor([layer.desc], { 'org.opencontainers.image.title': 'interop' });
  await s.pushManifest(m.desc, m.bytes, tag);
  return m;
}

describe.each(REGISTRY_VERSIONS)('skopeo on $name', ({ version }) => {
  let reg: RunningRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ version });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('reads a manifest pushed by RegistryStore, byte for byte', async () => {
    const s = open({ host: reg.host, repository: 'interop/skopeo' });
    const m = await pushArtifact(s, 'v1');
    const byTag = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/interop/skopeo:v1`]);
    expect(Buffer.from(byTag.stdout).equals(m.bytes)).toBe(true);
    const byDigest = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/interop/skopeo@${m.desc.digest}`]);
    expect(byDigest.stdout).toBe(m.bytes.toString());
  });

  it('writes what RegistryStore reads: skopeo copy from an OCI layout', async () => {
    const layout = new OciLayoutStore(join(tmp, 'layout')).init();
    const layer = blob(10_000);
    await layout.push(EMPTY, bufferSource(Buffer.from('{}')));
    await layout.push(layer.desc, bufferSource(layer.bytes));
    const m = manifestFor([layer.desc]);
    await layout.push(m.desc, bufferSource(m.bytes));
    await layout.tag(m.desc, 'v2');
    await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--preserve-digests', `oci:${layout.root}:v2`, `docker://${reg.host}/interop/copied:v2`]);
    const s = open({ host: reg.host, repository: 'interop/copied' });
    expect(plain(await s.resolve('v2'))).toEqual(m.desc);
    expect((await readAll(await s.fetch(layer.desc))).equals(layer.bytes)).toBe(true);
    expect(await s.tags()).toEqual(['v2']);
  });
});

describe('distribution v3', () => {
  let reg: RunningRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ version: 'v3' });
  });
  afterAll(async () => {
    await reg?.stop();
  });
  targetContract('RegistryStore on distribution v3, no auth', async (name) => {
    const store = new RegistryStore({ host: reg.host, repository: `mk/${name}`, credentials: anonymous, retry: { baseDelayMs: 5 } });
    return { target: store, close: () => store.close() };
  });
});

describe('TLS with a private CA', () => {
  let reg: RunningRegistry;
  let caFile: string;
  beforeAll(async () => {
    const dir = join(tmp, 'tls');
    execFileSync('mkdir', ['-p', dir]);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    caFile = join(dir, 'ca.crt');
    execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', join(dir, 'ca.key'), '-out', caFile, '-days', '2', '-subj', '/CN=mk-test-ca'], { stdio: 'ignore' });
    execFileSync('openssl', ['req', ...ec, '-keyout', join(dir, 'srv.key'), '-out', join(dir, 'srv.csr'), '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n');
    execFileSync(
      'openssl',
      ['x509', '-req', '-in', join(dir, 'srv.csr'), '-CA', caFile, '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, 'srv.crt'), '-days', '2', '-extfile', join(dir, 'ext.cnf')],
      { stdio: 'ignore' },
    );
    reg = await startRegistry({ tls: { certFile: join(dir, 'srv.crt'), keyFile: join(dir, 'srv.key') } });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('works with caFile', async () => {
    const s = open({ host: reg.host, repository: 'tls/ok', plainHttp: false, caFile });
    const m = await pushArtifact(s, 'v1');
    expect(plain(await s.resolve('v1'))).toEqual(m.desc);
  });

  it('fails once, clearly, without the CA, and works with insecure', async () => {
    const s = open({ host: reg.host, repository: 'tls/no-ca', plainHttp: false, retry: { baseDelayMs: 5, maxTries: 4 } });
    const err = await s.tags().then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string; hint: string; retriable: boolean },
    );
    expect(err).toMatchObject({ code: 'ENETWORK', retriable: false });
    expect(err!.message).toMatch(/TLS handshake with 127\.0\.0\.1:\d+ failed/);
    expect(err!.hint).toContain('caFile');
    const insecure = open({ host: reg.host, repository: 'tls/insecure', plainHttp: false, insecure: true });
    expect(await insecure.tags()).toEqual([]);
  });
});

describe('relative Location headers', () => {
  let reg: RunningRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ relativeUrls: true });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('pushes monolithic and chunked', async () => {
    const s = open({ host: reg.host, repository: 'rel/mono' });
    const b = blob(10_000);
    await s.push(b.desc, bufferSource(b.bytes));
    const c = open({ host: reg.host, repository: 'rel/chunked', upload: 'chunked', chunkSize: 3000 });
    const d = blob(10_000);
    await c.push(d.desc, bufferSource(d.bytes));
    expect((await readAll(await c.fetch(d.desc))).equals(d.bytes)).toBe(true);
  });
});
