import { isDigest } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { checkStoredPath } from '../repo/paths.js';
import { MkError } from '../errors/index.js';

/** A file of a tracked directory. `path` is relative to the directory, with forward slashes. */
export interface FileEntry {
  path: string;
  /** 0o644 or 0o755: only the executable bit is kept. */
  mode: number;
  size: number;
  digest: string;
  /** Index into `layers` of the blob that holds the bytes. */
  layer: number;
}

/** A storage unit: a raw blob holding one large file, or a tar pack of small files. */
export interface LayerRef {
  format: 'raw' | 'tar';
  digest: string;
  size: number;
}

/**
 * The file list of a tracked directory, stored as a blob whose digest the pointer records.
 * Encoded deterministically (fixed key order, files sorted by path), so the same directory
 * gives the same digest anywhere. See docs/pointer-format.md.
 */
export interface DirManifest {
  files: FileEntry[];
  layers: LayerRef[];
}

export function encodeDirManifest(m: DirManifest): Buffer {
  const files = [...m.files].sort((a, b) => cmp(a.path, b.path));
  const parts: string[] = [];
  parts.push(`{"mediaType":"${MediaType.mkDirectory}","version":1,"layers":[`);
  parts.push(m.layers.map((l) => `{"format":"${l.format}","digest":"${l.digest}","size":${l.size}}`).join(','));
  parts.push('],"files":[');
  parts.push(files.map((f) => `[${JSON.stringify(f.path)},${f.mode === 0o755 ? '"755"' : '"644"'},${f.size},"${f.digest}",${f.layer}]`).join(',\n'));
  parts.push(']}\n');
  return Buffer.from(parts.join(''), 'utf8');
}

export function decodeDirManifest(buf: Uint8Array, what: string): DirManifest {
  let raw: { mediaType?: string; version?: number; layers?: unknown; files?: unknown };
  try {
    raw = JSON.parse(Buffer.from(buf).toString('utf8'));
  } catch (e) {
    throw new MkError('EMANIFEST', `${what}: not a directory manifest (${(e as Error).message})`);
  }
  if (raw.mediaType !== MediaType.mkDirectory || raw.version !== 1) throw new MkError('EMANIFEST', `${what}: not an mk directory manifest (version 1)`);
  if (!Array.isArray(raw.layers) || !Array.isArray(raw.files)) throw new MkError('EMANIFEST', `${what}: missing layers or files`);
  const layers: LayerRef[] = raw.layers.map((l: any) => {
    if (!l || (l.format !== 'raw' && l.format !== 'tar') || !isDigest(l.digest) || !Number.isSafeInteger(l.size)) throw new MkError('EMANIFEST', `${what}: bad layer entry`);
    return { format: l.format, digest: l.digest, size: l.size };
  });
  const files: FileEntry[] = raw.files.map((f: any) => {
    if (!Array.isArray(f) || f.length !== 5) throw new MkError('EMANIFEST', `${what}: bad file entry`);
    const [path, mode, size, digest, layer] = f as [string, string, number, string, number];
    checkStoredPath(path);
    if (!isDigest(digest) || !Number.isSafeInteger(size) || size < 0 || !Number.isInteger(layer) || layer < 0 || layer >= layers.length) {
      throw new MkError('EMANIFEST', `${what}: bad file entry for ${path}`);
    }
    return { path, mode: mode === '755' ? 0o755 : 0o644, size, digest, layer };
  });
  return { files, layers };
}

/** Code-unit order: the one order used for manifests, packs and listings. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
