/**
 * The one graph copy (src/transfer/graph-copy.ts) between memory stores: it walks image
 * manifests, indexes and directory roots; writes leaves first, so a destination never holds a
 * parent without its children; skips what the destination has; refuses, before sending
 * anything, a graph whose blobs neither side holds; never stores bytes that do not match their
 * digest; keeps to its concurrency; tags last. (Between the cache, a layout and a registry
 * through the CLI: test/e2e/transfer/graph-copy.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Descriptor } from '../../../src/content/descriptor.js';
import { MediaType } from '../../../src/content/media-types.js';
import { bufferSource, type BlobSource, type PushOptions } from '../../../src/content/storage.js';
import { isMkError } from '../../../src/errors/index.js';
import { encodeDirManifest } from '../../../src/formats/dir-manifest.js';
import { sha256 } from '../../../src/hashing/digest.js';
import { MemoryStore } from '../../../src/stores/memory/memory-store.js';
import { copyGraph, GraphIncompleteError } from '../../../src/transfer/graph-copy.js';
import { indexFor, manifestFor } from '../../support/target-contract.js';

/** A memory store that records the order of pushes and the most pushes in flight at once. */
class RecordingStore extends MemoryStore {
  order: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  tagged: string[] = [];
  override async push(expected: Descriptor, source: BlobSource, opts?: PushOptions): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setImmediate(r)); // let other pushes start, as a network store would
      await super.push(expected, source, opts);
      this.order.push(expected.digest);
    } finally {
      this.inFlight--;
    }
  }
  override async tag(desc: Descriptor, reference: string): Promise<void> {
    this.tagged.push(`${reference}@${this.order.length}`);
    await super.tag(desc, reference);
  }
}

/** A store whose copy of one blob went bad: it serves other bytes under that blob's name. */
class RottenStore extends MemoryStore {
  constructor(private readonly rotten: string) {
    super('rotten');
  }
  override source(desc: Descriptor): BlobSource {
    return desc.digest === this.rotten ? bufferSource(randomBytes(desc.size)) : super.source(desc);
  }
}

const blob = (store: MemoryStore, size: number, mediaType = MediaType.octet): Descriptor => store.put(mediaType, randomBytes(size));

/** A ModelKit-like graph in `src`: a manifest naming a config and layers, and a directory root naming a file list and a pack. */
function graph(src: MemoryStore) {
  const config = src.put(MediaType.ociEmpty, Buffer.from('{}'));
  const layers = [blob(src, 3000), blob(src, 70_000), blob(src, 10)];
  const pack = blob(src, 5000);
  const raw = blob(src, 900);
  const enc = encodeDirManifest({
    files: [
      { path: 'a.txt', mode: 0o644, size: 2000, digest: 'sha256:' + 'a'.repeat(64), layer: 0 },
      { path: 'b.txt', mode: 0o644, size: 2000, digest: 'sha256:' + 'b'.repeat(64), layer: 0 },
      { path: 'big.bin', mode: 0o644, size: raw.size, digest: raw.digest, layer: 1 },
    ],
    layers: [
      { format: 'tar', digest: pack.digest, size: pack.size },
      { format: 'raw', digest: raw.digest, size: raw.size },
    ],
  });
  const lists = enc.lists.map((l) => src.put(MediaType.mkFileList, l.bytes));
  const root = src.put(MediaType.mkDirectory, enc.root);
  const m = manifestFor([...layers, root]);
  const manifest = src.put(MediaType.ociManifest, m.bytes);
  // The manifest helper names the empty config by the OCI empty descriptor.
  expect(m.bytes.toString()).toContain(config.digest);
  return { manifest, config, layers, root, lists, pack, raw, all: [config, ...layers, pack, raw, ...lists, root, manifest] };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isMkError(e) ? e.code : `not an MkError: ${String(e)}`;
  }
}

describe('copyGraph between memory stores', () => {
  it('copies every node below the roots, children before their parents, tags last', async () => {
    const src = new MemoryStore('src');
    const g = graph(src);
    const dst = new RecordingStore('dst');
    const r = await copyGraph(src, dst, [g.manifest], { tags: [{ desc: g.manifest, name: 'v1' }] });
    expect(new Set(r.copied.map((d) => d.digest))).toEqual(new Set(g.all.map((d) => d.digest)));
    for (const d of g.all) expect(await dst.exists(d), d.mediaType).toBe(true);
    const at = (d: Descriptor) => dst.order.indexOf(d.digest);
    for (const child of [g.config, ...g.layers, g.root]) expect(at(child)).toBeLessThan(at(g.manifest));
    for (const child of [...g.lists, g.pack, g.raw]) expect(at(child)).toBeLessThan(at(g.root));
    expect(dst.tagged).toEqual([`v1@${g.all.length}`]);
    expect((await dst.resolve('v1')).digest).toBe(g.manifest.digest);
  });

  it('skips what the destination holds, and asks nothing about what `known` says it holds', async () => {
    const src = new MemoryStore('src');
    const g = graph(src);
    const dst = new RecordingStore('dst');
    await copyGraph(src, dst, [g.root]);
    dst.order = [];
    const r = await copyGraph(src, dst, [g.manifest]);
    expect(r.skipped.map((d) => d.digest).sort()).toEqual([g.root, ...g.lists, g.pack, g.raw].map((d) => d.digest).sort());
    expect(dst.order.sort()).toEqual([g.config, ...g.layers, g.manifest].map((d) => d.digest).sort());
    // Everything there already: nothing pushed. With `known`, not even asked.
    dst.order = [];
    const asked: string[] = [];
    const probe = Object.assign(Object.create(dst) as RecordingStore, {
      exists: async (d: Descriptor) => {
        asked.push(d.digest);
        return dst.exists(d);
      },
      existsSync: undefined,
    });
    const held = new Set(g.all.map((d) => d.digest));
    const again = await copyGraph(src, probe, [g.manifest], { known: { has: (d) => held.has(d.digest), add: () => undefined } });
    expect(again.copied).toEqual([]);
    expect(dst.order).toEqual([]);
    expect(asked).toEqual([]);
  });

  it('refuses a graph whose blobs neither side holds, naming them, and copies nothing', async () => {
    const src = new MemoryStore('src');
    const g = graph(src);
    const gone = { mediaType: MediaType.octet, digest: sha256('not here'), size: 8 };
    const m = manifestFor([...g.layers, gone]);
    const manifest = src.put(MediaType.ociManifest, m.bytes);
    const dst = new RecordingStore('dst');
    const e = await copyGraph(src, dst, [manifest]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GraphIncompleteError);
    expect((e as GraphIncompleteError).missing.map((d) => d.digest)).toEqual([gone.digest]);
    expect((e as GraphIncompleteError).roots.map((d) => d.digest)).toEqual([manifest.digest]);
    expect(dst.order).toEqual([]);
  });

  it('takes a node the source lacks but the destination holds as complete there', async () => {
    const src = new MemoryStore('src');
    const dst = new RecordingStore('dst');
    const old = graph(dst); // an older referrer, at the destination only
    const idx = indexFor([old.manifest]);
    const index = src.put(MediaType.ociIndex, idx.bytes);
    const r = await copyGraph(src, dst, [index]);
    expect(r.copied.map((d) => d.digest)).toEqual([index.digest]);
  });

  it('never stores bytes that do not match their digest: the copy fails and the parents are not written', async () => {
    const good = new MemoryStore('good');
    const g = graph(good);
    const src = new RottenStore(g.pack.digest);
    for (const d of g.all) src.put(d.mediaType, good.readSmall(d.digest, 'a blob'));
    const dst = new RecordingStore('dst');
    expect(await codeOf(copyGraph(src, dst, [g.manifest]))).toBe('EDIGEST');
    expect(await dst.exists(g.pack)).toBe(false);
    expect(await dst.exists(g.root)).toBe(false);
    expect(await dst.exists(g.manifest)).toBe(false);
  });

  it('keeps at most `concurrency` pushes in flight, and reports progress up to every byte', async () => {
    const src = new MemoryStore('src');
    const layers = Array.from({ length: 12 }, (_, i) => blob(src, 1000 + i));
    const m = manifestFor(layers);
    src.put(MediaType.ociEmpty, Buffer.from('{}'));
    const manifest = src.put(MediaType.ociManifest, m.bytes);
    const dst = new RecordingStore('dst');
    let last = { doneBytes: 0, totalBytes: -1, copiedBlobs: 0, totalBlobs: -1 };
    await copyGraph(src, dst, [manifest], { concurrency: 3, onProgress: (p) => (last = { ...p }) });
    expect(dst.maxInFlight).toBeLessThanOrEqual(3);
    expect(dst.maxInFlight).toBeGreaterThan(1);
    expect(last.copiedBlobs).toBe(last.totalBlobs);
    expect(last.doneBytes).toBe(last.totalBytes);
    expect(last.totalBlobs).toBe(14);
  });
});
