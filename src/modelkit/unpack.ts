import { lstatSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { chmod, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readTar } from '../formats/tar.js';
import { Document, isSeq } from 'yaml';
import type { Descriptor } from '../content/descriptor.js';
import { MediaType, parseModelKitLayerType } from '../content/media-types.js';
import { decompress, isCompression } from '../content/decompress.js';
import type { KitConfig } from './read.js';
import { assertNotGitDir } from '../repo/paths.js';
import { cleanEntryName } from '../formats/stored-path.js';
import { MkError, UnsafePathError } from '../errors/index.js';
import type { CacheStore } from '../content/storage.js';
import { tmpName } from '../util/fs.js';
import { ensureRoom } from '../util/disk.js';
import { writeStreamHashed } from '../hashing/digest.js';
import { cleanPath } from '../formats/kitfile.js';

export type FilterType = 'kitfile' | 'model' | 'datasets' | 'code' | 'docs' | 'prompts';
export interface Filter {
  types: FilterType[];
  names: string[];
}

const TYPES: FilterType[] = ['kitfile', 'model', 'datasets', 'code', 'docs', 'prompts'];

/** Parses kit's `--filter` syntax: `types[:names]`, e.g. `model`, `datasets:train,test`. */
export function parseFilter(s: string): Filter {
  const parts = s.split(':');
  if (parts.length > 2) throw new MkError('EUSAGE', `invalid filter '${s}': should be in format <type1>,<type2>[:<filter1>,<filter2>]`);
  const types = parts[0] ? parts[0].split(',').map((t) => t.trim()) : [...TYPES];
  for (const t of types) if (!TYPES.includes(t as FilterType)) throw new MkError('EUSAGE', `invalid filter type '${t}' (one of ${TYPES.join(', ')})`);
  return {
    types: types as FilterType[],
    names: parts[1]
      ? parts[1]
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : [],
  };
}

export interface ConfigEntry {
  type: Exclude<FilterType, 'kitfile'>;
  name?: string;
  path?: string;
  digest?: string;
  diffId?: string;
}

/** The config entries of a ModelKit (kit config JSON), each with its base type. */
export function configEntries(cfg: KitConfig): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  if (cfg?.model) {
    out.push({ type: 'model', name: cfg.model.name, path: cfg.model.path, digest: cfg.model.digest, diffId: cfg.model.diffId });
    for (const p of cfg.model.parts ?? []) out.push({ type: 'model', name: p.name, path: p.path, digest: p.digest, diffId: p.diffId });
  }
  for (const c of cfg?.code ?? []) out.push({ type: 'code', path: c.path, digest: c.digest, diffId: c.diffId });
  for (const d of cfg?.datasets ?? []) out.push({ type: 'datasets', name: d.name, path: d.path, digest: d.digest, diffId: d.diffId });
  for (const d of cfg?.docs ?? []) out.push({ type: 'docs', path: d.path, digest: d.digest, diffId: d.diffId });
  for (const d of cfg?.prompts ?? []) out.push({ type: 'prompts', name: d.name, path: d.path, digest: d.digest, diffId: d.diffId });
  return out;
}

/**
 * Each layer's place (digest -> path): the path of the config entry naming it, except for the
 * further layers of a folder, which mk lists with the folder entry's type and name at paths of
 * their own inside it (the builder's partPaths): those take the folder's path.
 */
export function layerPlaces(entries: ConfigEntry[]): Map<string, string> {
  const place = (e: ConfigEntry): string => {
    const p = cleanPath(e.path);
    let head: string | undefined;
    for (const h of entries) {
      if (h === e || h.type !== e.type || h.name !== e.name || h.path === undefined) continue;
      const hp = cleanPath(h.path);
      if (p.startsWith(`${hp}/`) && (head === undefined || hp.length < head.length)) head = hp;
    }
    return head ?? p;
  };
  return new Map(entries.flatMap((e) => (e.digest ? [[e.digest, place(e)] as const] : [])));
}

export function matches(filters: Filter[], type: FilterType, name?: string, path?: string): boolean {
  if (filters.length === 0) return true;
  return filters.some((f) => {
    if (!f.types.includes(type)) return false;
    if (f.names.length === 0) return true;
    const byName = type !== 'code' && type !== 'docs';
    return f.names.some((n) => (byName && n === name) || n === path || (path !== undefined && cleanPath(n) === cleanPath(path)));
  });
}

export interface UnpackTarget {
  dir: string;
  overwrite: boolean;
  ignoreExisting: boolean;
}

/** Resolves `rel` under `dir`, refusing escapes, `.git` in any form and symlinked parents. */
export function safeJoin(dir: string, rel: string): string {
  const c = cleanEntryName(rel); // the one path rule for outside paths (tar entries, raw layers' file paths)
  if (c === '.') return dir;
  const parts = c.split('/');
  let cur = dir;
  for (let i = 0; i < parts.length; i++) {
    cur = join(cur, parts[i]!);
    let st;
    try {
      st = lstatSync(cur);
    } catch {
      break;
    }
    if (st.isSymbolicLink()) throw new UnsafePathError(rel, `'${parts.slice(0, i + 1).join('/')}' is a symlink in the target directory`);
  }
  return join(dir, ...parts);
}

function exists(p: string): import('node:fs').Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/** The Kitfile (YAML, without digests) as kit unpack writes it. */
export function kitfileText(cfg: unknown): string {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (k !== 'digest' && k !== 'diffId') o[k] = strip(x);
      return o;
    }
    return v;
  };
  const doc = new Document(strip(cfg));
  // kit's Kitfile struct writes package.authors in flow style (`authors: [alice, bob]`).
  const authors = doc.getIn(['package', 'authors'], true);
  if (isSeq(authors)) authors.flow = true;
  return doc.toString({ flowCollectionPadding: false });
}

/**
 * Unpacks ModelKit layers into a target directory, all or nothing: every file is written to
 * a temporary name next to its destination, layers are read through the cache's verified
 * path (a blob that does not match its digest fails the whole unpack), and only when every
 * selected layer has been read and checked are the files renamed into place. A refusal
 * (a hostile path, an existing file, a bad blob) leaves the target as it was.
 */
export class Unpacker {
  private readonly staged = new Map<string, { tmp: string; mode: number }>();
  private readonly createdDirs: string[] = [];
  /** Folders the layers declare or imply (a file may not take their place). */
  private readonly dirs = new Set<string>();

  constructor(
    private readonly cache: CacheStore,
    private readonly t: UnpackTarget,
  ) {
    assertNotGitDir(t.dir);
  }

  /** Stages the Kitfile. */
  async kitfile(cfg: unknown): Promise<void> {
    const text = kitfileText(cfg);
    const dest = join(this.t.dir, 'Kitfile');
    const st = exists(dest);
    if (st && !this.t.overwrite) {
      if (st.isFile() && readFileSync(dest, 'utf8') === text) return;
      if (this.t.ignoreExisting) return;
      throw new MkError('EEXIST', `${dest} already exists and differs from the ModelKit's Kitfile`, { hint: 'use -o to overwrite' });
    }
    await this.stage('Kitfile', dest, 0o644, async (tmp) => {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(text);
      } finally {
        await fh.close();
      }
    });
  }

  /**
   * Stages the files of one layer; returns how many. Compressed layers (gzip, zstd) are
   * decompressed on the fly; `diffId` (the config's digest of the uncompressed bytes) is checked
   * when given.
   */
  async layer(desc: Descriptor, diffId?: string, base = ''): Promise<number> {
    // `base`: a folder under the target that the layer's paths are relative to (a dataset
    // taken from a referenced ModelKit); the joined path passes the same checks.
    const at = (rel: string) => (base ? `${base}/${rel}` : rel);
    const mt = parseModelKitLayerType(desc.mediaType);
    const format = mt?.format ?? (desc.mediaType.endsWith('.tar') || desc.mediaType.includes('.tar+') ? 'tar' : 'raw');
    const compression = mt?.compression ?? /\+(\w+)$/.exec(desc.mediaType)?.[1];
    if (compression !== undefined && !isCompression(compression))
      throw new MkError('EUNSUPPORTED', `layer ${desc.digest.slice(0, 19)} uses ${compression} compression, which mk cannot read (gzip and zstd only)`);
    const what = `layer ${desc.digest.slice(7, 19)}`;
    // The verified bytes of the layer as stored, decompressed when it is compressed (never
    // past the size it declares, when it declares one).
    const bytes = async (size?: number) => {
      const src = await this.cache.fetch(desc);
      return compression ? decompress(src, compression, what, { diffId: diffId !== desc.digest ? diffId : undefined, size }) : src;
    };
    if (format === 'raw') {
      const rel = desc.annotations?.['org.cncf.model.filepath'];
      if (!rel) throw new MkError('EMODELKIT', `raw layer ${desc.digest} has no org.cncf.model.filepath annotation`);
      let mode = 0o644;
      let size: number | undefined;
      try {
        const meta = JSON.parse(desc.annotations?.['org.cncf.model.file.metadata+json'] ?? '{}');
        if (typeof meta.mode === 'number') mode = meta.mode & 0o777;
        if (Number.isSafeInteger(meta.size) && meta.size >= 0) size = meta.size;
      } catch {
        /* defaults */
      }
      const dest = safeJoin(this.t.dir, at(rel));
      if (!compression) {
        return this.stage(at(rel), dest, mode, (tmp) => {
          ensureRoom(dirname(tmp), desc.size, at(rel));
          return this.cache.copyOut({ ...desc, mediaType: MediaType.octet }, tmp, { mode });
        });
      }
      return this.stage(at(rel), dest, mode, async (tmp) => {
        if (size !== undefined) ensureRoom(dirname(tmp), size, at(rel));
        await writeGuarded(tmp, await bytes(size), at(rel), size === undefined);
      });
    }
    let n = 0;
    await readTar(await bytes(), what, async (entry) => {
      if (entry.name === '.') return;
      const name = at(entry.name);
      const dest = safeJoin(this.t.dir, name);
      if (entry.type === 'directory') {
        this.claimDir(cleanPath(name), name);
        const st = exists(dest);
        if (st && !st.isDirectory()) throw new MkError('EEXIST', `${dest} exists and is not a directory`);
        this.mkdirs(dest);
        return;
      }
      n += await this.stage(name, dest, entry.mode, async (tmp) => {
        ensureRoom(dirname(tmp), entry.size, name); // what the tar header declares, before a byte of it is written
        await writeGuarded(tmp, entry.body, name, false);
      });
    });
    return n;
  }

  /** Moves every staged file into place. */
  async commit(): Promise<void> {
    for (const [dest, s] of this.staged) await rename(s.tmp, dest);
    this.staged.clear();
  }

  /** Removes every staged file, and the folders this unpack created (when empty). */
  async abort(): Promise<void> {
    for (const s of this.staged.values()) await rm(s.tmp, { force: true });
    this.staged.clear();
    for (const d of this.createdDirs.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        /* not empty, or gone */
      }
    }
  }

  private claimDir(rel: string, name: string): void {
    if (rel === '.') return;
    if (this.staged.has(join(this.t.dir, ...rel.split('/')))) throw new UnsafePathError(name, 'the ModelKit has both a file and a folder at this path');
    this.dirs.add(rel);
  }

  private mkdirs(dir: string): void {
    const first = mkdirSync(dir, { recursive: true });
    if (first) {
      // mkdirSync returns the first folder it created; every folder from there down is new.
      let d = dir;
      const made: string[] = [];
      while (d.length >= first.length) {
        made.push(d);
        d = dirname(d);
      }
      this.createdDirs.push(...made.reverse());
    }
  }

  private async stage(rel: string, dest: string, mode: number, write: (tmp: string) => Promise<void>): Promise<number> {
    const c = cleanPath(rel);
    if (this.dirs.has(c)) throw new UnsafePathError(rel, 'the ModelKit has both a file and a folder at this path');
    const parts = c.split('/');
    for (let i = 1; i < parts.length; i++) this.claimDir(parts.slice(0, i).join('/'), rel);
    const st = exists(dest);
    if (st) {
      if (this.t.ignoreExisting) return 0;
      if (!this.t.overwrite) throw new MkError('EEXIST', `path '${dest}' already exists`, { hint: 'use -o to overwrite or -i to keep existing files' });
      if (!st.isFile()) throw new MkError('EEXIST', `path '${dest}' already exists and is not a regular file`);
    }
    const prev = this.staged.get(dest);
    if (prev) await rm(prev.tmp, { force: true }); // the same path twice: the last one wins, as in kit
    this.mkdirs(dirname(dest));
    const tmp = tmpName(dest);
    this.staged.set(dest, { tmp, mode });
    await write(tmp);
    await chmod(tmp, mode);
    return 1;
  }
}

/** How often a write of undeclared size checks the free space. */
const ROOM_CHECK = 64 << 20;

/**
 * Writes a stream to a new file. `undeclared`: nobody said how large it is (a compressed raw
 * layer without file metadata), so the free space is checked as it grows and the write stops
 * before the disk is full.
 */
async function writeGuarded(tmp: string, body: AsyncIterable<Uint8Array>, what: string, undeclared: boolean): Promise<void> {
  const fh = await open(tmp, 'wx', 0o600);
  let written = 0;
  let next = ROOM_CHECK;
  try {
    // Gathered into large writes, overlapped with the decompression (small chunks, one write each, cost more than the bytes).
    await writeStreamHashed(body, fh, {
      hash: false,
      onChunk: (n) => {
        written += n;
        if (undeclared && written >= next) {
          ensureRoom(dirname(tmp), ROOM_CHECK, what);
          next += ROOM_CHECK;
        }
      },
    });
  } finally {
    await fh.close();
  }
}
