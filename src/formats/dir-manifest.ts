import { createHash } from 'node:crypto';
import { isDigest, type Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { checkStoredPath } from './stored-path.js';
import { MkError } from '../errors/index.js';
import { invariant } from '../errors/invariant.js';
import { pathFraction } from './grouping.js';

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
  /** v2, packs: the blob listing the pack's files. */
  list?: { digest: string; size: number };
}

/**
 * The file list of a tracked directory. Stored (v2) as a root blob, whose digest the pointer
 * records, that lists the layers, plus one file-list blob per pack: changing one file
 * rewrites one pack, its list and the root, never the lists of the other packs. Encoded
 * deterministically (fixed key order, files sorted by path), so the same directory gives
 * the same digests anywhere. See docs/spec/dir-manifest.md.
 */
export interface DirManifest {
  files: FileEntry[];
  layers: LayerRef[];
}

/** The blobs of an encoded manifest: the root (named by the pointer) and the pack file lists. */
export interface EncodedDirManifest {
  root: Buffer;
  rootDigest: string;
  lists: Array<{ digest: string; bytes: Buffer }>;
  /** The layers with their `list` filled in. */
  layers: LayerRef[];
}

const mode = (m: number) => (m === 0o755 ? '"755"' : '"644"');

export function encodeFileList(files: FileEntry[]): Buffer {
  return Buffer.from(`{"mediaType":"${MediaType.mkFileList}","files":[` + files.map((f) => `[${JSON.stringify(f.path)},${mode(f.mode)},${f.size},"${f.digest}"]`).join(',\n') + ']}\n', 'utf8');
}

/** About this many files per file-list blob: a change rewrites one list, and a directory has few blobs of metadata. */
const LIST_FILES = 1024;

/**
 * Encodes a manifest: the root lists the layers (a raw layer names its file; a pack gives
 * its file count and which file list holds its files), and the files of consecutive packs
 * are kept together in file-list blobs of about LIST_FILES entries. A list ends after a
 * pack whose last path hashes (salted: pack ends are low path hashes already) below files/LIST_FILES (or at 2× that), so list boundaries,
 * like pack boundaries, depend on the paths alone: one changed file rewrites one pack, one
 * list and the root.
 */
export function encodeDirManifest(m: DirManifest): EncodedDirManifest {
  const byLayer: FileEntry[][] = m.layers.map(() => []);
  for (const f of [...m.files].sort((a, b) => cmp(a.path, b.path))) byLayer[f.layer]!.push(f);
  const lists: EncodedDirManifest['lists'] = [];
  const listOf: number[] = [];
  let cur: FileEntry[] = [];
  const close = () => {
    if (!cur.length) return;
    const bytes = encodeFileList(cur);
    lists.push({ digest: sha256(bytes), bytes });
    cur = [];
  };
  m.layers.forEach((l, i) => {
    const fs = byLayer[i]!;
    if (l.format === 'raw') {
      const f = fs[0];
      invariant(fs.length === 1 && f!.digest === l.digest && f!.size === l.size, `raw layer ${i} holds exactly its one file`);
      return;
    }
    invariant(fs.length > 0, `pack ${i} holds a file`);
    cur.push(...fs);
    listOf[i] = lists.length;
    if (cur.length >= 2 * LIST_FILES || pathFraction(fs[fs.length - 1]!.path + '\0list') < fs.length / LIST_FILES) close();
  });
  close();
  const entries = m.layers.map((l, i) => {
    const fs = byLayer[i]!;
    if (l.format === 'raw') return `{"format":"raw","digest":"${l.digest}","size":${l.size},"path":${JSON.stringify(fs[0]!.path)},"mode":${mode(fs[0]!.mode)}}`;
    return `{"format":"tar","digest":"${l.digest}","size":${l.size},"files":${fs.length},"list":${listOf[i]}}`;
  });
  const listRefs = lists.map((l) => `{"digest":"${l.digest}","size":${l.bytes.length}}`).join(',');
  const root = Buffer.from(`{"mediaType":"${MediaType.mkDirectory}","version":2,"lists":[${listRefs}],"layers":[\n` + entries.join(',\n') + ']}\n', 'utf8');
  const layers = m.layers.map((l, i): LayerRef =>
    l.format === 'raw'
      ? { format: 'raw', digest: l.digest, size: l.size }
      : { format: 'tar', digest: l.digest, size: l.size, list: { digest: lists[listOf[i]!]!.digest, size: lists[listOf[i]!]!.bytes.length } },
  );
  return { root, rootDigest: sha256(root), lists, layers };
}

/** A decoded root: the layers, the files it names itself (v1: all; v2: the raw ones), the lists to read. */
export interface DirRoot {
  version: 1 | 2;
  layers: LayerRef[];
  /** v1: every file. v2: one entry per raw layer. */
  files: FileEntry[];
  /** v2: the file-list blobs, in order. */
  lists: Descriptor[];
  /** v2: per layer, how many files its pack holds (0 for raw). */
  counts: number[];
  /** v2: per layer, the index in `lists` of the list that holds its pack's files (-1 for raw). */
  listIndex: number[];
}

export function decodeDirRoot(buf: Uint8Array, what: string): DirRoot {
  const raw = parseJson(buf, what) as { mediaType?: string; version?: number; layers?: unknown; lists?: unknown };
  if (raw.mediaType === MediaType.mkDirectoryV1 && raw.version === 1) return decodeV1(raw, what);
  if (raw.mediaType !== MediaType.mkDirectory || raw.version !== 2) throw new MkError('EMANIFEST', `${what}: not an mk directory manifest (version 1 or 2)`);
  if (!Array.isArray(raw.layers) || !Array.isArray(raw.lists)) throw new MkError('EMANIFEST', `${what}: missing layers or lists`);
  const lists: Descriptor[] = raw.lists.map((l: any) => {
    if (!l || !isDigest(l.digest) || !Number.isSafeInteger(l.size) || l.size <= 0) throw new MkError('EMANIFEST', `${what}: bad file-list entry`);
    return { mediaType: MediaType.mkFileList, digest: l.digest, size: l.size };
  });
  const files: FileEntry[] = [];
  const counts: number[] = [];
  const listIndex: number[] = [];
  const layers: LayerRef[] = raw.layers.map((l: any, i: number) => {
    if (!l || (l.format !== 'raw' && l.format !== 'tar') || !isDigest(l.digest) || !Number.isSafeInteger(l.size) || l.size < 0) throw new MkError('EMANIFEST', `${what}: bad layer entry`);
    if (l.format === 'raw') {
      if (typeof l.path !== 'string' || (l.mode !== '644' && l.mode !== '755')) throw new MkError('EMANIFEST', `${what}: bad raw layer entry`);
      checkStoredPath(l.path);
      files.push({ path: l.path, mode: l.mode === '755' ? 0o755 : 0o644, size: l.size, digest: l.digest, layer: i });
      counts.push(0);
      listIndex.push(-1);
      return { format: 'raw', digest: l.digest, size: l.size };
    }
    const list = lists[l.list];
    if (!Number.isInteger(l.list) || !list || !Number.isSafeInteger(l.files) || l.files < 1) throw new MkError('EMANIFEST', `${what}: bad pack entry`);
    counts.push(l.files);
    listIndex.push(l.list);
    return { format: 'tar', digest: l.digest, size: l.size, list: { digest: list.digest, size: list.size } };
  });
  return { version: 2, layers, files, lists, counts, listIndex };
}

function decodeV1(raw: { layers?: unknown; files?: unknown }, what: string): DirRoot {
  if (!Array.isArray(raw.layers) || !Array.isArray(raw.files)) throw new MkError('EMANIFEST', `${what}: missing layers or files`);
  const layers: LayerRef[] = raw.layers.map((l: any) => {
    if (!l || (l.format !== 'raw' && l.format !== 'tar') || !isDigest(l.digest) || !Number.isSafeInteger(l.size) || l.size < 0) throw new MkError('EMANIFEST', `${what}: bad layer entry`);
    return { format: l.format, digest: l.digest, size: l.size };
  });
  const files: FileEntry[] = raw.files.map((f: any) => {
    if (!Array.isArray(f) || f.length !== 5) throw new MkError('EMANIFEST', `${what}: bad file entry`);
    const [path, mode, size, digest, layer] = f as [string, string, number, string, number];
    return checkEntry({ path, mode: modeOf(mode, what), size, digest, layer }, layers.length, what);
  });
  return { version: 1, layers, files, lists: [], counts: [], listIndex: [] };
}

function modeOf(mode: unknown, what: string): number {
  if (mode === '644') return 0o644;
  if (mode === '755') return 0o755;
  throw new MkError('EMANIFEST', `${what}: bad file mode ${JSON.stringify(mode)} (644 or 755)`);
}

function checkEntry(e: FileEntry, layerCount: number, what: string): FileEntry {
  if (typeof e.path !== 'string') throw new MkError('EMANIFEST', `${what}: bad file entry`);
  checkStoredPath(e.path);
  if (!isDigest(e.digest) || !Number.isSafeInteger(e.size) || e.size < 0 || !Number.isInteger(e.layer) || e.layer < 0 || e.layer >= layerCount) {
    throw new MkError('EMANIFEST', `${what}: bad file entry for ${e.path}`);
  }
  return e;
}

/** Decodes one pack's file list (entries without their layer index). */
export function decodeFileList(buf: Uint8Array, what: string): Array<Omit<FileEntry, 'layer'>> {
  const raw = parseJson(buf, what) as { mediaType?: string; files?: unknown };
  if (raw.mediaType !== MediaType.mkFileList || !Array.isArray(raw.files)) throw new MkError('EMANIFEST', `${what}: not an mk file list`);
  return raw.files.map((f: any) => {
    if (!Array.isArray(f) || f.length !== 4) throw new MkError('EMANIFEST', `${what}: bad file entry`);
    const [path, mode, size, digest] = f as [string, string, number, string];
    return checkEntry({ path, mode: modeOf(mode, what), size, digest, layer: 0 }, 1, what);
  });
}

/**
 * Builds the whole manifest from a root and its lists (`listBytes(digest)` returns a list's
 * verified bytes); with `onlyLists`, only the files of those lists (and of raw layers). Checks what the format promises: files sorted by path, no duplicates.
 */
export function assembleDirManifest(root: DirRoot, listBytes: (digest: string) => Uint8Array, what: string, onlyLists?: Set<string>): DirManifest {
  if (root.version === 1) return checkFiles({ layers: root.layers, files: [...root.files] }, what, true);
  const skip = (j: number) => onlyLists !== undefined && !onlyLists.has(root.lists[j]!.digest);
  const decoded = root.lists.map((l, j) => (skip(j) ? [] : decodeFileList(listBytes(l.digest), `${what} (file list ${l.digest.slice(7, 19)})`)));
  const next = root.lists.map(() => 0);
  const files: FileEntry[] = [];
  let raw = 0;
  root.layers.forEach((l, i) => {
    if (l.format === 'raw') {
      files.push(root.files[raw++]!);
      return;
    }
    const j = root.listIndex[i]!;
    if (skip(j)) return;
    const from = decoded[j]!;
    const n = root.counts[i]!;
    if (next[j]! + n > from.length) throw new MkError('EMANIFEST', `${what}: file list ${l.list!.digest.slice(7, 19)} holds fewer files than its packs`);
    for (let k = next[j]!; k < next[j]! + n; k++) files.push({ ...from[k]!, layer: i });
    next[j]! += n;
  });
  if (next.some((n, j) => !skip(j) && n !== decoded[j]!.length)) throw new MkError('EMANIFEST', `${what}: a file list holds files no pack claims`);
  return checkFiles({ layers: root.layers, files }, what, onlyLists === undefined);
}

/**
 * What every directory manifest (v1 and v2) promises, checked before anything uses it: files
 * sorted by path (sorted here when a raw layer sits before the pack whose files precede it),
 * no path twice, no path that is both a file and a folder, a raw layer holding exactly one
 * file with the layer's own digest and size, and (for a whole manifest) no empty pack.
 */
function checkFiles(m: DirManifest, what: string, whole: boolean): DirManifest {
  const { files, layers } = m;
  let sorted = true;
  for (let i = 1; i < files.length && sorted; i++) sorted = cmp(files[i - 1]!.path, files[i]!.path) < 0;
  if (!sorted) files.sort((a, b) => cmp(a.path, b.path));
  const paths = new Set<string>();
  for (let i = 0; i < files.length; i++) {
    const p = files[i]!.path;
    if (i > 0 && files[i - 1]!.path === p) throw new MkError('EMANIFEST', `${what}: ${p} is listed twice`);
    paths.add(p);
  }
  for (const p of paths) {
    for (let k = p.indexOf('/'); k > 0; k = p.indexOf('/', k + 1)) {
      if (paths.has(p.slice(0, k))) throw new MkError('EMANIFEST', `${what}: ${p.slice(0, k)} is both a file and a folder`);
    }
  }
  const held = layers.map(() => 0);
  for (const f of files) {
    const l = layers[f.layer]!;
    held[f.layer]!++;
    if (l.format === 'raw' && (f.digest !== l.digest || f.size !== l.size)) throw new MkError('EMANIFEST', `${what}: ${f.path} does not match the raw layer that holds it`);
  }
  layers.forEach((l, i) => {
    if (l.format === 'raw' && held[i]! > 1) throw new MkError('EMANIFEST', `${what}: a raw layer holds ${held[i]} files`);
    if (whole && held[i] === 0) throw new MkError('EMANIFEST', `${what}: layer ${l.digest.slice(7, 19)} holds no file`);
  });
  return m;
}

function parseJson(buf: Uint8Array, what: string): any {
  try {
    return JSON.parse(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8'));
  } catch (e) {
    throw new MkError('EMANIFEST', `${what}: not a directory manifest (${(e as Error).message})`);
  }
}

function sha256(b: Buffer): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

/** Code-unit order: the one order used for manifests, packs and listings. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
