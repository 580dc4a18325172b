import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { MkError } from '../errors/index.js';
import { sha256 } from '../hashing/digest.js';
import type { TrackedPointer } from '../git/pointers.js';
import type { RepoContext } from '../repo/context.js';
import { MemoryStore } from '../stores/memory/memory-store.js';
import { overlay } from '../stores/overlay.js';
import { copyGraph, GraphIncompleteError } from '../transfer/graph-copy.js';
import { artifactLayers, expandConfig, type BuiltModelKit, type PlannedLayer } from './builder.js';
import { encodeConfig, encodeManifest } from './json.js';
import { kitEntries, type Kitfile, type KitEntryRef } from './kitfile.js';
import { routedTag } from './tags.js';
import { fileLayer } from './tree-layer.js';

/** On a routed artifact's own ModelKit: the artifact's path (its layers name files from the repository root). */
export const ROUTED_PATH_ANNOTATION = 'vnd.mk.routed.path';
/** On a routed artifact's own ModelKit: the digest its pointer records (a file's digest, or a folder's directory manifest). */
export const ROUTED_DIGEST_ANNOTATION = 'vnd.mk.routed.digest';

export interface BuiltRoutedModelKit extends BuiltModelKit {
  /** The tag it has in its repository (routedTag). */
  tag: string;
  path: string;
}

/**
 * The ModelKit of one routed artifact (remotes by path), published in its own remote's
 * repository and named by the commit's ModelKit (`remotePath`, or `model.path` for the model).
 * It depends on the artifact alone (its path and data), not on a commit: the same data at the
 * same path is the same ModelKit, tagged `routedTag(path, digest)`, whichever commit published
 * it. The artifact is its one dataset (kit follows a remote dataset into datasets only). Its layers are the artifact's own blobs (the same raw files and packs mk stores), named
 * from the repository root as in the commit's ModelKit, so `kit unpack` of it into a project
 * folder puts the files where they belong. Always the KitOps format. The data must be in the
 * cache (its directory manifest, for a folder). `commit` is the commit being published: what
 * its signatures' provenance names.
 */
export async function buildRoutedModelKit(ctx: RepoContext, t: TrackedPointer, commit: string): Promise<BuiltRoutedModelKit> {
  const name = t.path.split('/').pop()!;
  // A dataset whatever the artifact's kind: the commit's ModelKit lists it as a remote dataset (see withRoutedEntries).
  const kf: Kitfile = { manifestVersion: '1.0.0', package: { name }, datasets: [{ name, path: t.path }] };
  const entries: KitEntryRef[] = kitEntries(kf);
  const planned = new Map<KitEntryRef, PlannedLayer[]>();
  for (const e of entries) planned.set(e, await artifactLayers(ctx, t, 'dataset', e));
  // Two identical large files of one folder would be one raw blob twice: later copies become one-file tar layers, as in a commit's ModelKit.
  const used = new Set<string>();
  for (const e of entries)
    for (const l of planned.get(e) ?? []) {
      if (used.has(l.desc.digest) && l.file && l.desc.mediaType.endsWith('.raw')) {
        const x = await fileLayer(ctx.stateDir, ctx.cache, l.file.path, l.file.mode, l.desc);
        l.desc = { mediaType: l.desc.mediaType.replace(/\.raw$/, '.tar'), digest: x.digest, size: x.size };
        delete l.file;
      }
      used.add(l.desc.digest);
    }
  const layers: Descriptor[] = entries.flatMap((e) => (planned.get(e) ?? []).map((l) => l.desc));
  const configBytes = encodeConfig(expandConfig(kf, entries, planned));
  const config: Descriptor = { mediaType: MediaType.kitConfig, digest: sha256(configBytes), size: configBytes.length };
  const annotations = { 'org.opencontainers.image.title': name, [ROUTED_PATH_ANNOTATION]: t.path, [ROUTED_DIGEST_ANNOTATION]: t.pointer.digest };
  const manifestBytes = encodeManifest(config, layers, annotations);
  const manifest: Descriptor = { mediaType: MediaType.ociManifest, digest: sha256(manifestBytes), size: manifestBytes.length, artifactType: MediaType.kitManifestArtifact };
  const store = new MemoryStore(`the ModelKit of ${t.path}`);
  store.put(config.mediaType, configBytes);
  store.put(MediaType.ociManifest, manifestBytes);
  try {
    await copyGraph(overlay(store, ctx.cache), ctx.cache, [manifest]);
  } catch (e) {
    if (!(e instanceof GraphIncompleteError)) throw e;
    throw new MkError('ENOTCACHED', `the data of ${t.path} is not in the local cache`, { hint: "run 'mk fetch' first" });
  }
  return { commit, manifest, manifestBytes, config, layers, skipped: [], store, tag: routedTag(t.path, t.pointer.digest), path: t.path };
}
