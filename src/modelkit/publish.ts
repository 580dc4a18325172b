import type { Descriptor } from '../content/descriptor.js';
import { readAll, type CacheStore, type Fetcher, type Target } from '../content/storage.js';
import { overlay } from '../stores/overlay.js';
import { copyGraph, type GraphCopyOptions } from '../transfer/graph-copy.js';
import type { BuiltModelKit } from './builder.js';

/**
 * Publishes a built ModelKit (manifest, config and layers in the cache) to `target`, through
 * the one graph copy: the blobs the target lacks, then the manifest, then each tag.
 */
export async function publishModelKit(cache: CacheStore, target: Target, mk: BuiltModelKit, tags: string[], opts: GraphCopyOptions = {}): Promise<{ uploaded: number; bytes: number }> {
  const r = await copyGraph(overlay(mk.store, cache), target, [mk.manifest], { ...opts, tags: tags.map((name) => ({ desc: mk.manifest, name })) });
  return { uploaded: r.copied.length, bytes: r.bytes };
}

/** Reads a manifest's exact bytes from any store. */
export async function readManifest(target: Fetcher, desc: Descriptor): Promise<Buffer> {
  const t = target as Fetcher & { fetchManifest?: (d: Descriptor) => Promise<{ bytes: Buffer }> };
  if (typeof t.fetchManifest === 'function') return (await t.fetchManifest(desc)).bytes;
  return readAll(await target.fetch(desc), 4 << 20);
}
