import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { bufferSource } from '../content/storage.js';
import { isMkError } from '../errors/index.js';
import { sha256 } from '../hashing/digest.js';
import type { RegistryStore } from '../stores/registry/registry-store.js';

/** The artifact type of the manifest that keeps a commit's directory manifests reachable. */
export const DIR_MANIFESTS_ARTIFACT = 'application/vnd.mk.directory-manifests.v1';

const EMPTY = Buffer.from('{}');
const EMPTY_DESC: Descriptor = { mediaType: MediaType.ociEmpty, digest: sha256(EMPTY), size: EMPTY.length };

/**
 * Keeps a commit's directory manifests (roots and file lists) reachable on a registry.
 * Packs and raw files are layers of the tagged ModelKit, so a garbage collection keeps them;
 * the directory manifests are nobody's layers. This pushes an OCI artifact listing them as
 * layers, with the ModelKit as its `subject`, and records it in the OCI 1.1 referrers
 * fallback tag `sha256-<ModelKit digest>` (an index), which works on registries with and
 * without the referrers API: `oras discover` shows it, kit ignores it.
 */
export async function attachDirManifests(store: RegistryStore, subject: Descriptor, blobs: Descriptor[], commit: string, signal?: AbortSignal): Promise<boolean> {
  if (blobs.length === 0) return false;
  if (!(await store.exists(EMPTY_DESC))) await store.push(EMPTY_DESC, bufferSource(EMPTY), { signal });
  const layers = [...new Map(blobs.map((b) => [b.digest, { mediaType: b.mediaType, digest: b.digest, size: b.size }])).values()].sort((x, y) => (x.digest < y.digest ? -1 : 1));
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: DIR_MANIFESTS_ARTIFACT,
    config: EMPTY_DESC,
    layers,
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { 'org.opencontainers.image.revision': commit },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const desc: Descriptor = { mediaType: MediaType.ociManifest, digest: sha256(bytes), size: bytes.length };
  await store.pushManifest(desc, bytes, undefined, { signal });
  // The fallback tag: an index of the subject's referrers, this one added once.
  const tag = `sha256-${subject.digest.slice(7)}`;
  let index: { schemaVersion: number; mediaType: string; manifests: Array<Descriptor & { artifactType?: string }> } = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  try {
    const got = await store.fetchManifest(tag, signal);
    const parsed = JSON.parse(got.bytes.toString('utf8'));
    if (parsed && Array.isArray(parsed.manifests)) index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: parsed.manifests };
  } catch (e) {
    if (!isMkError(e, 'ENOTFOUND')) throw e;
  }
  if (index.manifests.some((m) => m.digest === desc.digest)) return false;
  index.manifests.push({ mediaType: MediaType.ociManifest, digest: desc.digest, size: desc.size, artifactType: DIR_MANIFESTS_ARTIFACT });
  const indexBytes = Buffer.from(JSON.stringify(index));
  await store.pushManifest({ mediaType: MediaType.ociIndex, digest: sha256(indexBytes), size: indexBytes.length }, indexBytes, tag, { signal });
  return true;
}
