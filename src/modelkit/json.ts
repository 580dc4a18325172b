import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import type { Kitfile } from '../formats/kitfile.js';

/** Key order of each Kitfile object, as kit's Go structs marshal them (pkg/artifact/kitfile.go). */
const ORDER: Record<string, string[]> = {
  root: ['manifestVersion', 'package', 'model', 'code', 'datasets', 'docs', 'prompts', 'mcpServers'],
  package: ['name', 'version', 'description', 'license', 'authors'],
  model: ['name', 'path', 'license', 'framework', 'format', 'version', 'description', 'parts', 'parameters', 'digest', 'diffId'],
  parts: ['name', 'path', 'license', 'type', 'digest', 'diffId'],
  code: ['path', 'description', 'license', 'digest', 'diffId'],
  datasets: ['name', 'path', 'remotePath', 'remoteHash', 'description', 'license', 'parameters', 'digest', 'diffId'],
  docs: ['path', 'description', 'digest', 'diffId'],
  prompts: ['name', 'path', 'description', 'digest', 'diffId'],
  mcpServers: ['name', 'path', 'description', 'digest', 'diffId'],
};

/** Free-form values (parameters): keys sorted, as kit stores them. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) o[k] = canonical((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

function ordered(obj: Record<string, unknown>, kind: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ORDER[kind]!) {
    const v = obj[k];
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0 && k !== 'authors')) continue;
    if (k === 'parameters') out[k] = canonical(v);
    else if (k === 'package') out[k] = ordered(v as Record<string, unknown>, 'package');
    else if (k === 'model') out[k] = ordered(v as Record<string, unknown>, 'model');
    else if (k === 'parts' || (kind === 'root' && ORDER[k])) out[k] = (v as Array<Record<string, unknown>>).map((x) => ordered(x, k));
    else out[k] = v;
  }
  if (kind === 'docs' && out.path === undefined) out.path = '';
  return out;
}

/** The ModelKit config: the Kitfile as JSON in kit's field order, compact, no trailing newline. */
export function encodeConfig(kf: Kitfile): Buffer {
  return Buffer.from(JSON.stringify(ordered(kf as unknown as Record<string, unknown>, 'root')), 'utf8');
}

function descJson(d: Descriptor): Record<string, unknown> {
  const o: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.annotations && Object.keys(d.annotations).length) o.annotations = sortedObject(d.annotations);
  return o;
}

function sortedObject(o: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

/** The OCI image manifest of a ModelKit, with a fixed key order and sorted annotations. */
export function encodeManifest(config: Descriptor, layers: Descriptor[], annotations: Record<string, string>, artifactType: string = MediaType.kitManifestArtifact): Buffer {
  const m = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType,
    config: descJson(config),
    layers: layers.map(descJson),
    annotations: sortedObject(annotations),
  };
  return Buffer.from(JSON.stringify(m), 'utf8');
}
