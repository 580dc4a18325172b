/**
 * A byte flipped on its way to the registry (`400 DIGEST_INVALID` on the upload): mk hashed what
 * it sent and it matched, so the local copy is good and the bytes changed in transit. The upload
 * is tried again; when every try is corrupted the one line says what really happened (network or
 * proxy corruption), never that the local copy may be corrupt. A real registry behind a proxy
 * that flips a byte of the request body.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource, readAll } from '../../../src/content/storage.js';
import { isMkError, type MkError } from '../../../src/errors/index.js';
import { anonymous, RegistryStore } from '../../../src/stores/registry/index.js';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.js';
import { put, randomBytesFrom, rng } from '../../support/files.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { expectMkError, git, makeRepo, mk } from '../../support/repo.js';
import { mkAsync } from '../modelkit/tools.js';
import { blob } from '../../support/target-contract.js';

const UPLOAD = /\/blobs\/uploads\//;

describe('a byte flipped on the way to the registry', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  const stores: RegistryStore[] = [];
  const open = (repository: string) => {
    const s = new RegistryStore({ host: proxy.host, repository, credentials: anonymous, retry: { baseDelayMs: 5, maxDelayMs: 20, maxTries: 3 } });
    stores.push(s);
    return s;
  };
  beforeAll(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy(reg.url);
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await proxy?.stop();
    await reg?.stop();
  });

  it('once: the upload is sent again and lands whole', async () => {
    const b = blob(50_000);
    const rule = proxy.fault({ method: 'PUT', path: UPLOAD }, { kind: 'corrupt-request', at: 1000 }, 1);
    const s = open('flip/once');
    await s.push(b.desc, bufferSource(b.bytes));
    expect(rule.applied).toBe(1);
    expect((await readAll(await s.fetch(b.desc))).equals(b.bytes)).toBe(true);
  });

  it('every time: one line that blames the way, not the local copy', async () => {
    const b = blob(30_000);
    proxy.clear();
    proxy.fault({ method: 'PUT', path: UPLOAD }, { kind: 'corrupt-request', at: 10 }, 1000);
    const e = await open('flip/always')
      .push(b.desc, bufferSource(b.bytes))
      .then(
        () => undefined,
        (x: unknown) => x,
      );
    expect(isMkError(e)).toBe(true);
    const err = e as MkError;
    expect(err.code).toBe('EDIGEST');
    expect(err.message).toMatch(/the registry received other bytes than mk sent \(it answered 400 DIGEST_INVALID/);
    expect(err.hint).toMatch(/the local copy is good: something between mk and the registry \(the network, a proxy/);
    expect(err.hint).not.toMatch(/local copy may be corrupt/);
    proxy.clear();
  });

  it('mk push says so in one line', async () => {
    const repo = makeRepo();
    try {
      put(join(repo.dir, 'model.bin'), randomBytesFrom(rng(3), 40_000));
      mk(repo.dir, 'add', 'model.bin');
      mk(repo.dir, 'remote', 'add', 'origin', `oci://${proxy.host}/flip/cli`);
      git(repo.dir, 'add', '-A');
      git(repo.dir, 'commit', '-qm', 'model');
      proxy.fault({ method: 'PUT', path: UPLOAD }, { kind: 'corrupt-request', at: 5 }, 1000);
      // Asynchronously: the proxy runs in this process.
      const r = await mkAsync(repo.dir, ['push']);
      expect(expectMkError(r)).toMatch(/the registry received other bytes than mk sent/);
      expect(r.stderr).toMatch(/^hint: the local copy is good/m);
    } finally {
      proxy.clear();
      repo.cleanup();
    }
  });
});
