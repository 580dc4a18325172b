import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { parseImageIndex } from '../content/oci-manifest.js';
import type { CacheStore, Target } from '../content/storage.js';
import { isMkError } from '../errors/index.js';
import { MemoryStore } from '../stores/memory/memory-store.js';
import { overlay } from '../stores/overlay.js';
import { copyGraph, type GraphCopyOptions } from '../transfer/graph-copy.js';
import { readManifest } from './publish.js';

/** The artifact type of the manifest that keeps a commit's directory manifests reachable. */
export const DIR_MANIFESTS_ARTIFACT = 'application/vnd.mk.directory-manifests.v1';

/** The OCI 1.1 referrers fallback tag of a manifest. */
export function referrersTag(subject: Pick<Descriptor, 'digest'>): string {
  return `sha256-${subject.digest.slice(7)}`;
}

/**
 * Keeps a commit's directory manifests (roots and file lists) reachable on a remote. Packs
 * and raw files are layers of the tagged ModelKit, so a registry's garbage collection keeps
 * them; the directory manifests are nobody's layers. This sends an OCI artifact listing them
 * as layers, with the ModelKit as its `subject`, and records it in the OCI 1.1 referrers
 * fallback tag `sha256-<ModelKit digest>` (an index), which works on registries with and
 * without the referrers API and on layouts: `oras discover` shows it, kit ignores it. Both
 * go through the one graph copy (the referrer after what it names, the index after the
 * referrer). Returns false when the referrer was attached already.
 */
export async function attachDirManifests(cache: CacheStore, dst: Target, subject: Descriptor, blobs: Descriptor[], commit: string, opts: GraphCopyOptions = {}): Promise<boolean> {
  if (blobs.length === 0) return false;
  const mem = new MemoryStore();
  const config = mem.put(MediaType.ociEmpty, Buffer.from('{}'));
  const layers = [...new Map(blobs.map((b) => [b.digest, { mediaType: b.mediaType, digest: b.digest, size: b.size }])).values()].sort((x, y) => (x.digest < y.digest ? -1 : 1));
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: DIR_MANIFESTS_ARTIFACT,
    config,
    layers,
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { 'org.opencontainers.image.revision': commit },
  };
  const referrer = mem.put(MediaType.ociManifest, Buffer.from(JSON.stringify(manifest)));
  const src = overlay(mem, cache);
  await copyGraph(src, dst, [referrer], opts);
  const tag = referrersTag(subject);
  const manifests = await referrers(dst, subject);
  if (manifests.some((m) => m.digest === referrer.digest)) return false;
  manifests.push({ ...referrer, artifactType: DIR_MANIFESTS_ARTIFACT });
  const index = mem.put(MediaType.ociIndex, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests })));
  await copyGraph(src, dst, [index], { ...opts, tags: [{ desc: index, name: tag }] });
  return true;
}

/**
 * The referrers a store lists for `subject` under its fallback tag (none when there is no such
 * tag); in an OCI layout, also the untagged manifests of its index.json whose `subject` is it
 * (where `oras copy -r` and other OCI layout writers record referrers).
 */
export async function referrers(store: Target, subject: Pick<Descriptor, 'digest'>): Promise<Descriptor[]> {
  const tag = referrersTag(subject);
  let desc: Descriptor | undefined;
  try {
    desc = await store.resolve(tag);
  } catch (e) {
    if (!isMkError(e, 'ENOTFOUND')) throw e;
  }
  const listed = desc ? parseImageIndex(await readManifest(store, { ...desc, mediaType: desc.mediaType || MediaType.ociIndex }), `the referrers index ${tag} in ${store.location}`).manifests : [];
  const layout = store as Target & { taggedManifests?: () => Descriptor[] };
  if (typeof layout.taggedManifests !== 'function') return listed;
  const known = new Set(listed.map((d) => d.digest));
  for (const d of layout.taggedManifests()) {
    if (known.has(d.digest) || d.digest === subject.digest || d.mediaType !== MediaType.ociManifest || d.annotations?.['org.opencontainers.image.ref.name'] !== undefined || d.size > 4 << 20) continue;
    try {
      const m = JSON.parse((await readManifest(store, d)).toString('utf8')) as { subject?: { digest?: unknown } };
      if (m?.subject?.digest !== subject.digest) continue;
    } catch {
      continue; // unreadable: not a referrer mk can use
    }
    known.add(d.digest);
    listed.push(d);
  }
  return listed;
}

/**
 * Copies every referrer of `subject` that `src` lists (under the fallback tag) to `dst`, each
 * graph children first, then records them in `dst`'s own index for that subject, keeping the
 * referrers it had. Returns how many were listed.
 */
export async function copyReferrers(src: Target, dst: Target, subject: Descriptor, opts: GraphCopyOptions = {}): Promise<number> {
  const list = await referrers(src, subject);
  if (list.length === 0) return 0;
  for (const r of list) await copyGraph(src, dst, [r], opts);
  const had = await referrers(dst, subject);
  const merged = [...new Map([...had, ...list].map((d) => [d.digest, d])).values()];
  if (merged.length === had.length && had.length > 0) return list.length;
  const mem = new MemoryStore();
  const index = mem.put(MediaType.ociIndex, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: merged })));
  await copyGraph(overlay(mem, dst), dst, [index], { ...opts, tags: [{ desc: index, name: referrersTag(subject) }] });
  return list.length;
}

/** One OCI 1.1 artifact to attach to a subject: its type, its blobs (layers) and its annotations. */
export interface ReferrerArtifact {
  artifactType: string;
  layers: Array<{ mediaType: string; bytes: Buffer; annotations?: Record<string, string> }>;
  annotations?: Record<string, string>;
}

/**
 * Attaches artifacts to `subject` as referrers (an OCI 1.1 image manifest each, empty config,
 * `subject` set) and lists them, with their annotations, in the subject's referrers fallback
 * tag, keeping what it listed: the layout cosign uses for Sigstore bundles, which `oras
 * discover` and `oras copy -r` follow. All of them in one index update (the tag is read,
 * extended and written once). Returns the referrers' descriptors.
 */
export async function attachReferrers(dst: Target, subject: Descriptor, artifacts: ReferrerArtifact[], opts: GraphCopyOptions = {}): Promise<Descriptor[]> {
  if (artifacts.length === 0) return [];
  const mem = new MemoryStore();
  const config = mem.put(MediaType.ociEmpty, Buffer.from('{}'));
  const added: Descriptor[] = [];
  for (const a of artifacts) {
    const layers = a.layers.map((l) => {
      const d = mem.put(l.mediaType, l.bytes);
      return { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(l.annotations ? { annotations: l.annotations } : {}) };
    });
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: a.artifactType,
      config,
      layers,
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      ...(a.annotations ? { annotations: a.annotations } : {}),
    };
    const d = mem.put(MediaType.ociManifest, Buffer.from(JSON.stringify(manifest)));
    added.push({ ...d, artifactType: a.artifactType, ...(a.annotations ? { annotations: a.annotations } : {}) });
  }
  const src = overlay(mem, dst);
  await copyGraph(src, dst, added, opts);
  const had = await referrers(dst, subject);
  const known = new Set(had.map((d) => d.digest));
  const manifests = [...had, ...added.filter((d) => !known.has(d.digest))];
  const index = mem.put(MediaType.ociIndex, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests })));
  await copyGraph(src, dst, [index], { ...opts, tags: [{ desc: index, name: referrersTag(subject) }] });
  return added;
}
