import { posix } from 'node:path';
import type { Descriptor } from './descriptor.js';
import { isDigest } from './descriptor.js';
import { MediaType } from './media-types.js';
import { MkError } from '../errors/index.js';

/**
 * OCI manifests and indexes read from outside (a registry, a layout someone sent, a tag a
 * teammate pushed): every field mk uses is checked for its type before anything uses it, so
 * a damaged or hostile one is one clear line, never a crash deep inside.
 */

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations: Record<string, string>;
}

const HINT = 'it is damaged or was not written by an OCI tool; push it again from its source';

export function bad(what: string, problem: string): MkError {
  return new MkError('EMODELKIT', `${what}: ${problem}`, { hint: HINT });
}

export function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (e) {
    throw bad(what, `not JSON (${(e as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(what, 'not a JSON object');
  return v as Record<string, unknown>;
}

function stringMap(v: unknown, what: string, field: string): Record<string, string> {
  if (v === undefined) return {};
  if (!v || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) throw bad(what, `${field} must map names to text`);
  return v as Record<string, string>;
}

/** Checks an OCI descriptor read from outside. */
export function checkDescriptor(v: unknown, what: string, field: string): Descriptor {
  const d = v as Partial<Descriptor> | undefined;
  if (!d || typeof d !== 'object') throw bad(what, `${field} is not a descriptor`);
  if (typeof d.mediaType !== 'string' || d.mediaType.length > 255) throw bad(what, `${field}.mediaType must be text`);
  if (!isDigest(d.digest)) throw bad(what, `${field}.digest is not a sha256 digest`);
  if (!Number.isSafeInteger(d.size) || d.size! < 0) throw bad(what, `${field}.size must be a whole number of bytes`);
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size! };
  if (d.annotations !== undefined) out.annotations = stringMap(d.annotations, what, `${field}.annotations`);
  if (d.artifactType !== undefined) {
    if (typeof d.artifactType !== 'string') throw bad(what, `${field}.artifactType must be text`);
    out.artifactType = d.artifactType;
  }
  return out;
}

/**
 * An OCI image manifest: schema version 2, a config descriptor, a list of layer descriptors.
 * An image index is told apart (it is not a ModelKit, but may hold one).
 */
export function parseImageManifest(bytes: Uint8Array, what: string): ImageManifest {
  const j = parseJsonObject(bytes, what);
  if (j.mediaType === MediaType.ociIndex || (Array.isArray(j.manifests) && j.config === undefined)) {
    throw new MkError('ENOTMODELKIT', `${what}: an image index is not a ModelKit`, { hint: 'name one of the manifests it lists (by digest)' });
  }
  if (j.schemaVersion !== 2) throw bad(what, 'not an OCI image manifest (schemaVersion is not 2)');
  if (j.mediaType !== undefined && typeof j.mediaType !== 'string') throw bad(what, 'mediaType must be text');
  if (j.artifactType !== undefined && typeof j.artifactType !== 'string') throw bad(what, 'artifactType must be text');
  if (!Array.isArray(j.layers)) throw bad(what, 'layers must be a list');
  const layers = j.layers.map((l, i) => checkDescriptor(l, what, `layers[${i}]`));
  checkLayerFilePaths(layers, what);
  return {
    schemaVersion: 2,
    mediaType: j.mediaType as string | undefined,
    artifactType: j.artifactType as string | undefined,
    config: checkDescriptor(j.config, what, 'config'),
    layers,
    annotations: stringMap(j.annotations, what, 'annotations'),
  };
}

/** The annotation by which ModelPack readers unpack a layer (model-spec v1). */
const FILEPATH = 'org.cncf.model.filepath';

/**
 * Two layers that name one path (`org.cncf.model.filepath`) contradict each other: which one
 * a reader writes there would depend on the order it reads them in. Refused, not "last wins".
 */
function checkLayerFilePaths(layers: Descriptor[], what: string): void {
  const seen = new Map<string, number>();
  layers.forEach((l, i) => {
    const p = l.annotations?.[FILEPATH];
    if (p === undefined) return;
    const key =
      posix
        .normalize(p.replace(/\\/g, '/'))
        .replace(/^(\.\/)+/, '')
        .replace(/\/+$/, '') || '.';
    const first = seen.get(key);
    if (first !== undefined) throw bad(what, `layers ${first} and ${i} both unpack to '${key}' (${FILEPATH}): refusing to choose one`);
    seen.set(key, i);
  });
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations: Record<string, string>;
}

/** An OCI image index (or a Docker manifest list). */
export function parseImageIndex(bytes: Uint8Array, what: string): ImageIndex {
  const j = parseJsonObject(bytes, what);
  if (j.schemaVersion !== 2) throw bad(what, 'not an OCI image index (schemaVersion is not 2)');
  if (!Array.isArray(j.manifests)) throw bad(what, 'manifests must be a list');
  return {
    schemaVersion: 2,
    mediaType: j.mediaType as string | undefined,
    manifests: j.manifests.map((m, i) => checkDescriptor(m, what, `manifests[${i}]`)),
    annotations: stringMap(j.annotations, what, 'annotations'),
  };
}
