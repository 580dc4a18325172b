import type { Descriptor } from '../content/descriptor.js';
import { isDigest } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { MkError } from '../errors/index.js';

/**
 * Reading a ModelKit that came from outside (a registry, a layout someone sent, a tag a
 * teammate pushed): every field mk uses is checked for its type before anything uses it, so
 * a damaged or hostile manifest or config is one clear line, never a crash deep inside.
 */

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations: Record<string, string>;
}

const HINT = 'the ModelKit is damaged or was not written by an OCI tool; push it again from its source';

function bad(what: string, problem: string): MkError {
  return new MkError('EMODELKIT', `${what}: ${problem}`, { hint: HINT });
}

function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
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
  return {
    schemaVersion: 2,
    mediaType: j.mediaType as string | undefined,
    artifactType: j.artifactType as string | undefined,
    config: checkDescriptor(j.config, what, 'config'),
    layers: j.layers.map((l, i) => checkDescriptor(l, what, `layers[${i}]`)),
    annotations: stringMap(j.annotations, what, 'annotations'),
  };
}

/** A KitOps config entry as mk reads it (the fields unpack and verify use). */
export interface KitConfigEntry {
  name?: string;
  path?: string;
  digest?: string;
  [k: string]: unknown;
}

export interface KitConfig {
  manifestVersion?: string;
  package?: Record<string, unknown>;
  model?: KitConfigEntry & { parts?: KitConfigEntry[] };
  code?: KitConfigEntry[];
  datasets?: KitConfigEntry[];
  docs?: KitConfigEntry[];
  prompts?: KitConfigEntry[];
  [k: string]: unknown;
}

function entry(v: unknown, what: string, field: string): KitConfigEntry {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(what, `${field} must be a mapping`);
  const e = v as KitConfigEntry;
  for (const k of ['name', 'path', 'digest', 'description', 'license'] as const) {
    if (e[k] !== undefined && typeof e[k] !== 'string') throw bad(what, `${field}.${k} must be text`);
  }
  if (e.digest !== undefined && !isDigest(e.digest)) throw bad(what, `${field}.digest is not a sha256 digest`);
  return e;
}

function entries(v: unknown, what: string, field: string): KitConfigEntry[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw bad(what, `${field} must be a list`);
  return v.map((x, i) => entry(x, what, `${field}[${i}]`));
}

/** A ModelKit config (the Kitfile as JSON, with digests): the sections' shapes are checked. */
export function parseKitConfig(bytes: Uint8Array, what: string): KitConfig {
  const j = parseJsonObject(bytes, what) as KitConfig;
  if (j.package !== undefined && j.package !== null && (typeof j.package !== 'object' || Array.isArray(j.package))) throw bad(what, 'package must be a mapping');
  if (j.model !== undefined && j.model !== null) {
    entry(j.model, what, 'model');
    entries(j.model.parts, what, 'model.parts');
  }
  for (const k of ['code', 'datasets', 'docs', 'prompts'] as const) entries(j[k], what, k);
  return j;
}
