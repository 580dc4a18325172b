import { isDigest } from '../content/descriptor.js';
import { bad, parseJsonObject, type ImageManifest } from '../content/oci-manifest.js';
import { KITFILE_ANNOTATION, parseModelKitLayerType } from '../content/media-types.js';

export { checkDescriptor, parseImageManifest, type ImageManifest } from '../content/oci-manifest.js';

/**
 * Reading a ModelKit that came from outside (a registry, a layout someone sent, a tag a
 * teammate pushed): every field mk uses is checked for its type before anything uses it, so
 * a damaged or hostile manifest or config is one clear line, never a crash deep inside.
 */

/** A KitOps config entry as mk reads it (the fields unpack and verify use). */
export interface KitConfigEntry {
  name?: string;
  path?: string;
  digest?: string;
  /** sha256 of the layer's uncompressed bytes (equal to digest for an uncompressed layer). */
  diffId?: string;
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
  // kit writes an empty diffId in some versions: only a malformed one is refused.
  if (e.diffId !== undefined && e.diffId !== '' && (typeof e.diffId !== 'string' || !isDigest(e.diffId))) throw bad(what, `${field}.diffId is not a sha256 digest`);
  if (e.diffId === '') delete e.diffId;
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

/**
 * The Kitfile of a ModelPack (model-spec v1): the one kit keeps in the manifest annotation
 * `ml.kitops.modelkit.kitfile` when there is one; else one built from the layers as kit builds
 * it (each layer's `org.cncf.model.filepath`, the first weight the model, later weights and
 * weight configs its parts, diffIds from the config's modelfs). `generated`: no Kitfile came
 * with it (kit then writes none on unpack).
 */
export function modelPackKitConfig(manifest: ImageManifest, modelConfig: Uint8Array, what: string): { config: KitConfig; generated: boolean } {
  const ann = manifest.annotations[KITFILE_ANNOTATION];
  if (ann) return { config: parseKitConfig(Buffer.from(ann, 'utf8'), `the Kitfile annotation of ${what}`), generated: false };
  const mc = parseJsonObject(modelConfig, `the ModelPack config of ${what}`) as { modelfs?: { diffIds?: unknown } };
  const diffIds = mc.modelfs?.diffIds;
  if (diffIds !== undefined && (!Array.isArray(diffIds) || diffIds.length !== manifest.layers.length || !diffIds.every((d) => typeof d === 'string' && isDigest(d))))
    throw bad(what, 'the ModelPack config lists diffIds that do not match the layers');
  const model: NonNullable<KitConfig['model']> = {};
  const config: KitConfig = { manifestVersion: '1.0.0', model };
  manifest.layers.forEach((l, i) => {
    const path = l.annotations?.['org.cncf.model.filepath'];
    if (!path) throw bad(what, `layer ${i} has no org.cncf.model.filepath annotation (a ModelPack unpacks by it)`);
    const t = parseModelKitLayerType(l.mediaType);
    if (!t) throw bad(what, `layer ${i} has the unknown media type ${l.mediaType}`);
    const e: KitConfigEntry = { path, digest: l.digest };
    if (diffIds) e.diffId = diffIds[i] as string;
    if (t.kind === 'model' && model.path === undefined) Object.assign(model, e);
    else if (t.kind === 'model' || t.kind === 'modelpart') (model.parts ??= []).push(e);
    else if (t.kind === 'dataset') (config.datasets ??= []).push(e);
    else if (t.kind === 'code') (config.code ??= []).push(e);
    else (config.docs ??= []).push(e);
  });
  return { config, generated: true };
}
