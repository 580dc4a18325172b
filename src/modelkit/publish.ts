import type { Descriptor } from '../content/descriptor.js';
import { readAll, type CacheStore, type Fetcher, type Target } from '../content/storage.js';
import { overlay } from '../stores/overlay.js';
import { copyGraph, type GraphCopyOptions } from '../transfer/graph-copy.js';
import type { BuiltModelKit } from './builder.js';
import { MkError } from '../errors/index.js';

/**
 * Publishes a built ModelKit (manifest, config and layers in the cache) to `target`, through
 * the one graph copy: the blobs the target lacks, then the manifest, then each tag.
 */
export async function publishModelKit(
  cache: CacheStore,
  target: Target,
  mk: BuiltModelKit,
  tags: string[],
  opts: GraphCopyOptions = {},
): Promise<{ uploaded: number; mounted: number; bytes: number }> {
  const r = await copyGraph(overlay(mk.store, cache), target, [mk.manifest], { ...opts, tags: tags.map((name) => ({ desc: mk.manifest, name })) });
  return { uploaded: r.copied.length, mounted: r.mounted.length, bytes: r.bytes };
}

/** Reads a manifest's exact bytes from any store. */
export async function readManifest(target: Fetcher, desc: Descriptor): Promise<Buffer> {
  const t = target as Fetcher & { fetchManifest?: (d: Descriptor) => Promise<{ bytes: Buffer }> };
  if (typeof t.fetchManifest === 'function') return (await t.fetchManifest(desc)).bytes;
  return readAll(await target.fetch(desc), 4 << 20);
}

/**
 * The commit a tag on `target` names, from its manifest's `org.opencontainers.image.revision`
 * annotation (mk writes it on every ModelKit): undefined when there is no such tag, null
 * when the tag names something without that annotation (e.g. a ModelKit made by kit).
 */
export async function taggedCommit(target: Target, tag: string): Promise<string | null | undefined> {
  let desc: Descriptor;
  try {
    desc = await target.resolve(tag);
  } catch (e) {
    if (e instanceof MkError && e.code === 'ENOTFOUND') return undefined;
    throw e;
  }
  try {
    const m = JSON.parse((await readManifest(target, desc)).toString('utf8')) as { annotations?: Record<string, unknown> } | null;
    const rev = m?.annotations?.[REVISION];
    return typeof rev === 'string' && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(rev) ? rev : null;
  } catch (e) {
    if (e instanceof SyntaxError) return null;
    throw e;
  }
}

const REVISION = 'org.opencontainers.image.revision';
