/**
 * One contract for every Target (the registry store and the local OCI layout): the same
 * tests prove the same behaviour of both.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Descriptor } from '../../src/content/descriptor.js';
import { plain } from '../../src/content/descriptor.js';
import { MediaType } from '../../src/content/media-types.js';
import { bufferSource, readAll, type Target } from '../../src/content/storage.js';
import { isMkError } from '../../src/errors/index.js';
import { sha256 } from '../../src/hashing/digest.js';

export interface ContractTarget {
  target: Target;
  close?: () => Promise<void>;
}

/** Makes a fresh, empty target; `name` is unique per call (a repository or a directory). */
export type TargetFactory = (name: string) => Promise<ContractTarget>;

export function blob(size: number, mediaType = 'application/vnd.mk.test.layer'): { desc: Descriptor; bytes: Buffer } {
  const bytes = randomBytes(size);
  return { desc: { mediaType, digest: sha256(bytes), size }, bytes };
}

export const EMPTY = { mediaType: MediaType.ociEmpty, digest: sha256('{}'), size: 2 };

export function manifestFor(layers: Descriptor[], annotations?: Record<string, string>): { desc: Descriptor; bytes: Buffer } {
  const m = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: 'application/vnd.mk.test.artifact',
    config: EMPTY,
    layers: layers.map(plain),
    ...(annotations ? { annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(m));
  return { desc: { mediaType: MediaType.ociManifest, digest: sha256(bytes), size: bytes.length }, bytes };
}

export function indexFor(manifests: Descriptor[]): { desc: Descriptor; bytes: Buffer } {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: manifests.map(plain) }));
  return { desc: { mediaType: MediaType.ociIndex, digest: sha256(bytes), size: bytes.length }, bytes };
}

async function fetchAll(t: Target, d: Descriptor, range?: { start: number; end?: number }): Promise<Buffer> {
  return readAll(await t.fetch(d, range ? { range } : {}));
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isMkError(e) ? e.code : `not an MkError: ${String(e)}`;
  }
}

export function targetContract(label: string, make: TargetFactory): void {
  describe(`Target contract: ${label}`, () => {
    let n = 0;
    const opened: ContractTarget[] = [];
    const fresh = async (): Promise<Target> => {
      const t = await make(`contract-${process.pid}-${++n}`);
      opened.push(t);
      return t.target;
    };
    afterAll(async () => {
      for (const t of opened) await t.close?.();
    });

    it('holds nothing at first: exists is false, fetch is ENOTFOUND, tags is empty', async () => {
      const t = await fresh();
      const b = blob(100);
      expect(await t.exists(b.desc)).toBe(false);
      expect(await codeOf(t.fetch(b.desc))).toBe('ENOTFOUND');
      expect(await t.tags()).toEqual([]);
    });

    it('pushes a blob and returns its exact bytes, reporting progress', async () => {
      const t = await fresh();
      const b = blob(70_000);
      let progress = 0;
      await t.push(b.desc, bufferSource(b.bytes), { onProgress: (x) => (progress += x) });
      expect(progress).toBe(b.desc.size);
      expect(await t.exists(b.desc)).toBe(true);
      expect((await fetchAll(t, b.desc)).equals(b.bytes)).toBe(true);
    });

    it('skips a blob it already has, and accepts a zero-byte blob', async () => {
      const t = await fresh();
      const b = blob(1000);
      await t.push(b.desc, bufferSource(b.bytes));
      await t.push(b.desc, bufferSource(b.bytes));
      const z = blob(0);
      await t.push(z.desc, bufferSource(z.bytes));
      expect(await t.exists(z.desc)).toBe(true);
      expect((await fetchAll(t, z.desc)).length).toBe(0);
    });

    it('pushes from a file source', async () => {
      const t = await fresh();
      const b = blob(50_000);
      const dir = mkdtempSync(join(tmpdir(), 'mk-src-'));
      try {
        const path = join(dir, 'f');
        writeFileSync(path, b.bytes);
        await t.push(b.desc, {
          path,
          open: () => {
            throw new Error('the path should be used');
          },
        });
        expect((await fetchAll(t, b.desc)).equals(b.bytes)).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('refuses bytes that do not match the descriptor, and keeps nothing', async () => {
      const t = await fresh();
      const b = blob(3000);
      const other = randomBytes(3000);
      expect(await codeOf(t.push(b.desc, bufferSource(other)))).toBe('EDIGEST');
      expect(await t.exists(b.desc)).toBe(false);
      const short = b.bytes.subarray(0, 2999);
      expect(await codeOf(t.push(b.desc, bufferSource(short)))).toBe('EDIGEST');
      const long = Buffer.concat([b.bytes, Buffer.from('x')]);
      expect(await codeOf(t.push(b.desc, bufferSource(long)))).toBe('EDIGEST');
      expect(await t.exists(b.desc)).toBe(false);
    });

    it('serves byte ranges [start, end)', async () => {
      const t = await fresh();
      const b = blob(10_000);
      await t.push(b.desc, bufferSource(b.bytes));
      expect((await fetchAll(t, b.desc, { start: 3, end: 10 })).equals(b.bytes.subarray(3, 10))).toBe(true);
      expect((await fetchAll(t, b.desc, { start: 9000 })).equals(b.bytes.subarray(9000))).toBe(true);
      expect((await fetchAll(t, b.desc, { start: 0, end: 1 })).equals(b.bytes.subarray(0, 1))).toBe(true);
      expect((await fetchAll(t, b.desc, { start: 9999, end: 10_000 })).equals(b.bytes.subarray(9999))).toBe(true);
      expect((await fetchAll(t, b.desc, { start: 42, end: 42 })).length).toBe(0);
    });

    it('pushes manifests and resolves them by digest and by tag; retagging moves the tag', async () => {
      const t = await fresh();
      const layer = blob(5000);
      await t.push(EMPTY, bufferSource(Buffer.from('{}')));
      await t.push(layer.desc, bufferSource(layer.bytes));
      const m1 = manifestFor([layer.desc], { 'org.opencontainers.image.title': 'one' });
      const m2 = manifestFor([layer.desc], { 'org.opencontainers.image.title': 'two' });
      await t.push(m1.desc, bufferSource(m1.bytes));
      await t.push(m2.desc, bufferSource(m2.bytes));
      expect(await t.exists(m1.desc)).toBe(true);
      expect(plain(await t.resolve(m1.desc.digest))).toEqual(m1.desc);
      expect((await fetchAll(t, m1.desc)).equals(m1.bytes)).toBe(true);

      await t.tag(m1.desc, 'v1');
      await t.tag(m1.desc, 'latest');
      expect(plain(await t.resolve('v1'))).toEqual(m1.desc);
      expect(await t.tags()).toEqual(['latest', 'v1']);

      await t.tag(m2.desc, 'v1');
      expect(plain(await t.resolve('v1'))).toEqual(m2.desc);
      expect(plain(await t.resolve('latest'))).toEqual(m1.desc);
      expect(await t.tags()).toEqual(['latest', 'v1']);
    });

    it('pushes an index over manifests and tags it', async () => {
      const t = await fresh();
      const layer = blob(100);
      await t.push(EMPTY, bufferSource(Buffer.from('{}')));
      await t.push(layer.desc, bufferSource(layer.bytes));
      const m = manifestFor([layer.desc]);
      await t.push(m.desc, bufferSource(m.bytes));
      const idx = indexFor([m.desc]);
      await t.push(idx.desc, bufferSource(idx.bytes));
      await t.tag(idx.desc, 'all');
      expect(plain(await t.resolve('all'))).toEqual(idx.desc);
      expect((await fetchAll(t, idx.desc)).equals(idx.bytes)).toBe(true);
    });

    it('sorts tags and reports an unknown tag as ENOTFOUND', async () => {
      const t = await fresh();
      await t.push(EMPTY, bufferSource(Buffer.from('{}')));
      const m = manifestFor([]);
      await t.push(m.desc, bufferSource(m.bytes));
      for (const tag of ['b', 'a10', 'C', 'a2', '_x']) await t.tag(m.desc, tag);
      expect(await t.tags()).toEqual(['C', '_x', 'a10', 'a2', 'b']);
      expect(await codeOf(t.resolve('nope'))).toBe('ENOTFOUND');
    });
  });
}
