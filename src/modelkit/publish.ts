import type { Descriptor } from '../content/descriptor.js';
import { bufferSource, readAll, type Target } from '../content/storage.js';
import { copyBlobs, type CopyOptions } from '../transfer/copy.js';
import type { CacheStore } from '../content/storage.js';
import type { BuiltModelKit } from './builder.js';

/**
 * Publishes a built ModelKit to `target`: config and layers the target lacks first, then the
 * manifest, then each tag. Never a manifest before its blobs.
 */
export async function publishModelKit(cache: CacheStore, target: Target, mk: BuiltModelKit, tags: string[], opts: CopyOptions = {}): Promise<{ uploaded: number; bytes: number }> {
  const r = await copyBlobs(cache, target, [mk.config, ...mk.layers], opts);
  await target.push(mk.manifest, bufferSource(mk.manifestBytes), { signal: opts.signal });
  for (const t of tags) await target.tag(mk.manifest, t);
  return { uploaded: r.copied.length, bytes: r.bytes };
}

/** Reads a manifest's exact bytes from any target. */
export async function readManifest(target: Target, desc: Descriptor): Promise<Buffer> {
  const t = target as Target & { fetchManifest?: (d: Descriptor) => Promise<{ bytes: Buffer }> };
  if (typeof t.fetchManifest === 'function') return (await t.fetchManifest(desc)).bytes;
  return readAll(await target.fetch(desc), 4 << 20);
}
