import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { parseJsonObject } from '../content/oci-manifest.js';
import { readAll, type Target } from '../content/storage.js';
import { sha256, verifying } from '../hashing/digest.js';
import { readManifest } from '../modelkit/publish.js';
import { parseImageManifest } from '../modelkit/read.js';
import { referrers } from '../modelkit/referrers.js';
import { BUNDLE_MEDIA_TYPE } from './dsse.js';

/** A referrer manifest is small; a bundle is at most this large. */
const MAX_REFERRER = 4 << 20;
const MAX_BUNDLE = 16 << 20;

/**
 * A referrer of a subject that is a Sigstore bundle by its own manifest (its artifactType, or
 * else its config or its layer media type), whatever an index.json or a referrers index labels
 * it: registries and the layouts `oras copy -r` writes from them may label referrers wrongly or
 * not at all. `annotations` are the manifest's own. A referrer that cannot be read or checked
 * is kept, with `problem` (and the label's annotations), so a refusal can say why.
 */
export interface BundleReferrer {
  desc: Descriptor;
  annotations: Record<string, string>;
  /** The bundle blob (absent with a problem). */
  layer?: Descriptor;
  problem?: string;
}

/** The Sigstore-bundle referrers of `subject` in `store`, decided from the manifests themselves. */
export async function bundleReferrers(store: Target, subject: Pick<Descriptor, 'digest'>): Promise<BundleReferrer[]> {
  const out: BundleReferrer[] = [];
  for (const d of await referrers(store, subject)) {
    const labelled = d.artifactType === BUNDLE_MEDIA_TYPE;
    const unusable = (problem: string): void => {
      // Unreadable: a bundle only if the label says so (there is nothing else to go by).
      if (labelled) out.push({ desc: d, annotations: d.annotations ?? {}, problem });
    };
    if (d.size > MAX_REFERRER || (d.mediaType && d.mediaType !== MediaType.ociManifest)) {
      unusable(`it is not an image manifest of at most ${MAX_REFERRER} bytes`);
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = await readManifest(store, { ...d, mediaType: d.mediaType || MediaType.ociManifest });
    } catch (e) {
      unusable((e as Error).message);
      continue;
    }
    const where = `referrer ${d.digest.slice(7, 19)}`;
    if (sha256(bytes) !== d.digest) {
      unusable('its manifest does not match its digest');
      continue;
    }
    let m: ReturnType<typeof parseImageManifest>;
    let named: unknown;
    try {
      m = parseImageManifest(bytes, where);
      named = (parseJsonObject(bytes, where).subject as { digest?: unknown } | undefined)?.digest;
    } catch (e) {
      unusable((e as Error).message);
      continue;
    }
    const layer = m.layers[0];
    const isBundle = m.artifactType === BUNDLE_MEDIA_TYPE || m.config.mediaType === BUNDLE_MEDIA_TYPE || layer?.mediaType === BUNDLE_MEDIA_TYPE;
    if (!isBundle) continue;
    const r: BundleReferrer = { desc: { ...d, mediaType: MediaType.ociManifest, artifactType: BUNDLE_MEDIA_TYPE }, annotations: m.annotations };
    if (named !== subject.digest) r.problem = `it names ${typeof named === 'string' ? named : 'no subject'}, not this ModelKit`;
    else if (!layer || layer.mediaType !== BUNDLE_MEDIA_TYPE || layer.size > MAX_BUNDLE) r.problem = 'it holds no Sigstore bundle';
    else r.layer = layer;
    out.push(r);
  }
  return out;
}

/** The bundle of a referrer that has one, verified against its digest. */
export async function readBundle(store: Target, r: BundleReferrer): Promise<Buffer> {
  return readAll(verifying(await store.fetch(r.layer!), r.layer!, `referrer ${r.desc.digest.slice(7, 19)}`), MAX_BUNDLE);
}
