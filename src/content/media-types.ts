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
} as const;

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
