/** Media types mk reads and writes. KitOps types follow reference/modelkit-format.md. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  octet: 'application/octet-stream',
  /** mk's directory manifest (root): the layers of a tracked directory. v2 is written; v1 (one flat file list) is still read. */
  mkDirectory: 'application/vnd.mk.directory.v2+json',
  mkDirectoryV1: 'application/vnd.mk.directory.v1+json',
  /** The files of one pack of a directory (v2 manifests keep one list per pack). */
  mkFileList: 'application/vnd.mk.filelist.v1+json',
  kitManifestArtifact: 'application/vnd.kitops.modelkit.manifest.v1+json',
  kitConfig: 'application/vnd.kitops.modelkit.config.v1+json',
  /** CNCF ModelPack (model-spec v1): what `kit pack --use-model-pack` and modctl write. */
  modelPackManifestArtifact: 'application/vnd.cncf.model.manifest.v1+json',
  modelPackConfig: 'application/vnd.cncf.model.config.v1+json',
} as const;

/** The manifest annotation in which kit keeps the Kitfile (as config JSON) of a ModelPack. */
export const KITFILE_ANNOTATION = 'ml.kitops.modelkit.kitfile';

/** ModelPack's name for each kind of layer (kit's mapping: a model part is `weight.config`). */
const MODEL_PACK_KIND: Record<KitLayerKind, string> = { model: 'weight', modelpart: 'weight.config', dataset: 'dataset', code: 'code', docs: 'doc' };

export function modelPackLayerType(kind: KitLayerKind, format: 'tar' | 'raw'): string {
  return `application/vnd.cncf.model.${MODEL_PACK_KIND[kind]}.v1.${format}`;
}

/** The config media types of a ModelKit, in either format. */
export function isModelKitConfigType(mt: string): boolean {
  return mt === MediaType.kitConfig || mt === MediaType.modelPackConfig;
}

/**
 * A ModelKit layer's kind (kit's names: model, modelpart, dataset, code, docs, prompt...),
 * format and compression, from a KitOps or a ModelPack media type.
 */
export function parseModelKitLayerType(mt: string): { kind: string; format: string; compression?: string } | undefined {
  const kit = parseKitLayerType(mt);
  if (kit) return kit;
  const m = /^application\/vnd\.cncf\.model\.(weight\.config|weight|dataset|code|doc)\.v1\.(raw|tar)(?:\+(\w+))?$/.exec(mt);
  if (!m) return undefined;
  const kind = ({ weight: 'model', 'weight.config': 'modelpart', dataset: 'dataset', code: 'code', doc: 'docs' } as Record<string, string>)[m[1]!]!;
  return { kind, format: m[2]!, compression: m[3] };
}

export type KitLayerKind = 'model' | 'modelpart' | 'dataset' | 'code' | 'docs';

export function kitLayerType(kind: KitLayerKind, format: 'tar' | 'raw'): string {
  return `application/vnd.kitops.modelkit.${kind}.v1.${format}`;
}

/** Parses a KitOps layer media type: kind, format and compression (newer kit regex). */
export function parseKitLayerType(mt: string): { kind: string; format: string; compression?: string } | undefined {
  const m = /^application\/vnd\.kitops\.modelkit\.(\w+)\.v1\.(\w+)(?:\+(\w+))?$/.exec(mt);
  if (!m) return undefined;
  return { kind: m[1]!, format: m[2]!, compression: m[3] };
}
