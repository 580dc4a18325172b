/**
 * RegistryStore behaviour beyond the Target contract, against distribution 2.8: manifest
 * rules, deletes, Accept exactness, transfer slots.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plain } from '../../../src/content/descriptor.js';
import { bufferSource, readAll } from '../../../src/content/storage.js';
import { anonymous, RegistryStore, type RegistryStoreOptions } from '../../../src/stores/registry/index.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { blob, EMPTY, indexFor, manifestFor } from '../../support/target-contract.js';

let reg: RunningRegistry;
const stores: RegistryStore[] = [];
let n = 0;
beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await reg?.stop();
});

function store(o: Partial<RegistryStoreOptions> = {}): RegistryStore {
  const s = new RegistryStore({ host: reg.host, repository: `store/r${++n}`, credentials: anonymous, retry: { baseDelayMs: 5 }, ...o });
  stores.push(s);
  return s;
}

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string; ociCode?: string }> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as { code: string; message: string; hint?: string; ociCode?: string },
  );
}

describe('manifests', () => {
  it('refuses a manifest whose blobs are missing, with a hint to push them first', async () => {
    const s = store();
    const m = manifestFor([blob(10).desc]);
    const err = await rejection(s.push(m.desc, bufferSource(m.bytes)));
    expect(err.code).toBe('EREGISTRY');
    expect(err.ociCode).toBe('MANIFEST_BLOB_UNKNOWN');
    expect(err.message).toMatch(/^push manifest sha256:[0-9a-f]{64} to 127\.0\.0\.1:\d+\/store\/r\d+: registry answered 400 \(MANIFEST_BLOB_UNKNOWN/);
    expect(err.hint).toContain('before the manifest');
  });

  it('checks the digest of manifest bytes before sending them', async () => {
    const s = store();
    const m = manifestFor([]);
    const err = await rejection(s.pushManifest(m.desc, Buffer.concat([m.bytes, Buffer.from(' ')])));
    expect(err.code).toBe('EDIGEST');
  });

  it('pushes under a tag directly, reads by tag, and keeps the exact bytes', async () => {
    const s = store();
    await s.push(EMPTY, bufferSource(Buffer.from('{}')));
    // Unusual but valid formatting: the digest is over these exact bytes.
    const bytes = Buffer.from(
      `{\n  "schemaVersion": 2,\n  "mediaType": "application/vnd.oci.image.manifest.v1+json",\n  "artifactType": "application/vnd.mk.test",\n  "config": ${JSON.stringify(EMPTY)},\n  "layers": []\n}\n`,
    );
    const { sha256 } = await import('../../../src/hashing/digest.js');
    const desc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(bytes), size: bytes.length };
    await s.pushManifest(desc, bytes, 'direct');
    const got = await s.fetchManifest('direct');
    expect(got.bytes.equals(bytes)).toBe(true);
    expect(got.desc).toEqual(desc);
    expect(plain(await s.resolve('direct'))).toEqual(desc);
  });

  it('resolves an index with its own media type (2.8 needs it in Accept)', async () => {
    const s = store();
    await s.push(EMPTY, bufferSource(Buffer.from('{}')));
    const m = manifestFor([]);
    await s.push(m.desc, bufferSource(m.bytes));
    const idx = indexFor([m.desc]);
    await s.pushManifest(idx.desc, idx.bytes, 'idx');
    expect(await s.resolve('idx')).toEqual(idx.desc);
    expect(await s.exists(idx.desc)).toBe(true);
  });

  it('deletes a manifest by digest (its tags go with it) and a blob', async () => {
    const s = store();
    const layer = blob(100);
    await s.push(EMPTY, bufferSource(Buffer.from('{}')));
    await s.push(layer.desc, bufferSource(layer.bytes));
    const m = manifestFor([layer.desc]);
    await s.pushManifest(m.desc, m.bytes, 'gone');
    await s.deleteManifest(m.desc.digest);
    expect((await rejection(s.resolve('gone'))).code).toBe('ENOTFOUND');
    expect(await s.exists(m.desc)).toBe(false);
    await s.deleteBlob(layer.desc.digest);
    expect(await s.exists(layer.desc)).toBe(false);
  });
});

describe('transfer slots', () => {
  it('are released when a fetch fails and when the reader stops early', async () => {
    const s = store({ concurrency: 1 });
    const b = blob(3 << 20);
    await s.push(b.desc, bufferSource(b.bytes));
    // The store's one slot: held while a body is read, free again once it is read or dropped.
    const slots = (s as unknown as { slots: { active: number; pending: number } }).slots;
    const settled = () => new Promise((r) => setImmediate(r));
    expect((await rejection(s.fetch(blob(10).desc))).code).toBe('ENOTFOUND');
    await settled();
    expect(slots.active, 'a slot leaked by a failed fetch').toBe(0);
    for await (const chunk of await s.fetch(b.desc)) {
      expect(chunk.length).toBeGreaterThan(0);
      expect(slots.active).toBe(1);
      break;
    }
    await settled();
    expect(slots.active, 'a slot leaked by a reader that stopped early').toBe(0);
    expect((await readAll(await s.fetch(b.desc))).equals(b.bytes)).toBe(true);
  });
});
