import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { isRacy } from '../hashing/racy.js';
import { writeFileAtomicSync } from '../util/fs.js';

/**
 * DVC's digests, so mk and DVC read one dvc.lock alike: a file's md5 (raw bytes; for entries
 * DVC 2.x wrote, of the text with CRLF turned into LF), a folder's md5 of the JSON list of its
 * files' md5s and paths (sorted by path, as Python's json.dumps writes it) with `.dir` after
 * it. Unchanged files are not read again: a cache keyed by stat data (as DVC's state database),
 * and for a folder a signature of one `find` listing of it, so a pipeline with nothing to do
 * reads no data at all.
 */

export interface Md5Info {
  md5: string;
  size: number;
  nfiles?: number;
  isexec?: boolean;
  isdir: boolean;
}

const CHUNK = 1 << 20;
const TEXT_CHARS = new Uint8Array(256);
for (let i = 32; i < 127; i++) TEXT_CHARS[i] = 1;
for (const c of [10, 13, 9, 12, 8]) TEXT_CHARS[c] = 1;

/** dvc_data's istextblock: no NUL, and at most 30% of bytes outside printable ASCII and \n\r\t\f\b. */
export function isTextBlock(b: Uint8Array): boolean {
  if (!b.length) return true;
  let non = 0;
  for (const x of b) {
    if (x === 0) return false;
    if (!TEXT_CHARS[x]) non++;
  }
  return non / b.length <= 0.3;
}

function dos2unix(b: Buffer): Buffer {
  let n = 0;
  for (let i = 0; i + 1 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10) n++;
  if (!n) return b;
  const out = Buffer.allocUnsafe(b.length - n);
  let j = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10) continue;
    out[j++] = b[i]!;
  }
  return out;
}

/** md5 of a file's bytes; `legacy`: DVC 2.x's md5-dos2unix (each 1 MiB chunk that looks like text has CRLF read as LF). */
export function md5File(path: string, legacy = false): string {
  const h = createHash('md5');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      // A chunk is what one read of 1 MiB gives (DVC reads the same way): fill it before hashing.
      let n = 0;
      while (n < CHUNK) {
        const r = readSync(fd, buf, n, CHUNK - n, null);
        if (r === 0) break;
        n += r;
      }
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      h.update(legacy && isTextBlock(chunk.subarray(0, 512)) ? dos2unix(chunk) : chunk);
      if (n < CHUNK) break;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** Python's json.dumps(..., ensure_ascii=True) of a string. */
export function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += s[i];
  }
  return out + '"';
}

/** The JSON list dvc-data hashes for a folder (and keeps as its `.dir` object): entries sorted by path. */
export function dirListing(files: Array<{ rel: string; md5: string }>): string {
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.rel), Buffer.from(b.rel)));
  return '[' + sorted.map((f) => `{"md5": ${pyJsonString(f.md5)}, "relpath": ${pyJsonString(f.rel)}}`).join(', ') + ']';
}

/** The md5 of a folder from its files (relative path → md5), as dvc-data's Tree.digest. */
export function dirMd5(files: Array<{ rel: string; md5: string }>): string {
  return createHash('md5').update(dirListing(files), 'utf8').digest('hex') + '.dir';
}

interface FileEntry {
  /** ino:size:mtime:ctime as seen. */
  k: string;
  md5?: string;
  /** md5-dos2unix */
  d2u?: string;
  /** When hashed (ms): racy stat data is not trusted. */
  at: number;
}

interface DirEntry {
  sig: string;
  md5: string;
  size: number;
  nfiles: number;
  legacy: boolean;
}

/** A listing of a folder: its files (symlinks to files followed), with stat data. */
interface Listed {
  rel: string;
  k: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

const VERSION = 1;

/** A file of stat-keyed md5s: the single files of a pipeline, or the files of one folder. */
class FileStore {
  private map?: Map<string, FileEntry>;
  dirty = false;
  constructor(readonly file: string) {}
  get entries(): Map<string, FileEntry> {
    if (!this.map) this.map = load<FileEntry>(this.file);
    return this.map;
  }
}

export class Md5Hasher {
  private dirs?: Map<string, DirEntry>;
  private dirtyDirs = false;
  private readonly stores = new Map<string, FileStore>();
  private readonly memo = new Map<string, Promise<Md5Info | undefined>>();

  constructor(
    private readonly root: string,
    private readonly stateDir: string,
    /** Paths (repository-relative) DVC would leave out of folders (.dvcignore): a predicate. */
    private readonly ignored: (rel: string) => boolean = () => false,
    /** Changes whenever `ignored` does (the .dvcignore text): part of every folder's signature. */
    private readonly ignoreKey = '',
  ) {}

  /** The md5s of single files in one small file; those of each folder's files in a file of their own, read only when the folder changed. */
  private store(dir?: string): FileStore {
    const name = dir === undefined ? 'files.json' : `dir-${createHash('sha256').update(dir).digest('hex').slice(0, 24)}.json`;
    let s = this.stores.get(name);
    if (!s) this.stores.set(name, (s = new FileStore(join(this.stateDir, 'pipeline-md5', name))));
    return s;
  }

  private get dirMap(): Map<string, DirEntry> {
    if (!this.dirs) this.dirs = load<DirEntry>(join(this.stateDir, 'pipeline-md5', 'dirs.json'));
    return this.dirs;
  }

  /** Forgets what was computed in this run (after a stage wrote its outputs). */
  invalidate(rel?: string): void {
    if (rel === undefined) this.memo.clear();
    else for (const k of [...this.memo.keys()]) if (k.slice(2) === rel || k.slice(2).startsWith(rel + '/') || rel.startsWith(k.slice(2) + '/')) this.memo.delete(k);
  }

  /** DVC's digest of a repository path (file or folder), or undefined when it does not exist. */
  hash(rel: string, legacy = false): Promise<Md5Info | undefined> {
    const key = `${legacy ? 'L' : 'M'}:${rel}`;
    let p = this.memo.get(key);
    if (!p) {
      p = this.compute(rel, legacy);
      this.memo.set(key, p);
    }
    return p;
  }

  private async compute(rel: string, legacy: boolean): Promise<Md5Info | undefined> {
    const full = rel === '.' ? this.root : join(this.root, ...rel.split('/'));
    let st: Stats;
    try {
      st = statSync(full);
    } catch {
      return undefined;
    }
    if (st.isDirectory()) return this.hashDir(rel, full, legacy);
    if (!st.isFile()) return undefined;
    const md5 = this.fileMd5(this.store(), rel, full, { k: `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, rel }, legacy);
    const info: Md5Info = { md5, size: st.size, isdir: false };
    if (st.mode & 0o111) info.isexec = true;
    return info;
  }

  private fileMd5(store: FileStore, key: string, full: string, l: Listed, legacy: boolean): string {
    const now = Date.now();
    const e = store.entries.get(key);
    if (e && e.k === l.k && !isRacy({ mtimeMs: l.mtimeMs, ctimeMs: l.ctimeMs }, e.at)) {
      const v = legacy ? e.d2u : e.md5;
      if (v) return v;
    }
    const md5 = md5File(full, legacy);
    const next: FileEntry = e && e.k === l.k ? { ...e } : { k: l.k, at: now };
    next.at = now;
    if (legacy) next.d2u = md5;
    else next.md5 = md5;
    store.entries.set(key, next);
    store.dirty = true;
    return md5;
  }

  /** The files of a folder with their md5s (from the folder's cache where their stat data allows). */
  private async files(
    rel: string,
    full: string,
    legacy: boolean,
    listed?: Awaited<ReturnType<typeof listDir>>,
  ): Promise<{ files: Array<{ rel: string; md5: string; abs: string }>; size: number; racy: boolean }> {
    const now = Date.now();
    const store = this.store(rel);
    const files: Array<{ rel: string; md5: string; abs: string }> = [];
    let size = 0;
    let racy = false;
    const seen = new Set<string>();
    for (const l of (listed ?? (await listDir(full))).listing()) {
      const repoRel = rel === '.' ? l.rel : `${rel}/${l.rel}`;
      if (this.ignored(repoRel)) continue;
      if (isRacy({ mtimeMs: l.mtimeMs, ctimeMs: l.ctimeMs }, now)) racy = true;
      const abs = join(full, ...l.rel.split('/'));
      files.push({ rel: l.rel, md5: this.fileMd5(store, l.rel, abs, l, legacy), abs });
      seen.add(l.rel);
      size += l.size;
    }
    // Files no longer there leave the folder's cache.
    for (const k of [...store.entries.keys()])
      if (!seen.has(k)) {
        store.entries.delete(k);
        store.dirty = true;
      }
    return { files, size, racy };
  }

  private async hashDir(rel: string, full: string, legacy: boolean): Promise<Md5Info> {
    const listed = await listDir(full);
    const sig = `${listed.sig}:${this.ignoreKey}`;
    const cached = this.dirMap.get(rel);
    if (cached && cached.sig === sig && cached.legacy === legacy) return { md5: cached.md5, size: cached.size, nfiles: cached.nfiles, isdir: true };
    const { files, size, racy } = await this.files(rel, full, legacy, listed);
    const md5 = dirMd5(files);
    if (!racy) {
      this.dirMap.set(rel, { sig, md5, size, nfiles: files.length, legacy });
      this.dirtyDirs = true;
    }
    return { md5, size, nfiles: files.length, isdir: true };
  }

  /** The files of a folder with their md5s, for DVC's cache. */
  async dirFiles(rel: string): Promise<Array<{ rel: string; md5: string; abs: string }>> {
    const full = rel === '.' ? this.root : join(this.root, ...rel.split('/'));
    return (await this.files(rel, full, false)).files;
  }

  save(): void {
    try {
      mkdirSync(join(this.stateDir, 'pipeline-md5'), { recursive: true });
      if (this.dirtyDirs && this.dirs) writeFileAtomicSync(join(this.stateDir, 'pipeline-md5', 'dirs.json'), JSON.stringify({ v: VERSION, e: Object.fromEntries(this.dirs) }));
      this.dirtyDirs = false;
      for (const s of this.stores.values())
        if (s.dirty) {
          writeFileAtomicSync(s.file, JSON.stringify({ v: VERSION, e: Object.fromEntries(s.entries) }));
          s.dirty = false;
        }
    } catch {
      /* a read-only repository: the answers stand, only the next run reads more */
    }
  }
}

function load<T>(file: string): Map<string, T> {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { v: number; e: Record<string, T> };
    if (raw?.v === VERSION && raw.e && typeof raw.e === 'object') return new Map(Object.entries(raw.e));
  } catch {
    /* none yet */
  }
  return new Map();
}

/**
 * The files of a folder as DVC walks it (skipping .git, .hg and .dvc, as DVC's default
 * ignore does; symlinks to files count as the files), from one `find`, and a signature of
 * the listing: the same signature means the same stat data for every file.
 */
async function listDir(full: string): Promise<{ listing: () => Listed[]; sig: string }> {
  const out = await new Promise<Buffer>((resolve, reject) =>
    execFile(
      'find',
      [full, '-mindepth', '1', '(', '-name', '.git', '-o', '-type', 'd', '(', '-name', '.hg', '-o', '-name', '.dvc', ')', ')', '-prune', '-o', '-printf', '%y %i %s %T@ %C@ %P\\0'],
      { maxBuffer: 1 << 30, encoding: 'buffer' },
      (err, stdout) => (err ? reject(err as Error) : resolve(stdout)),
    ),
  );
  const sig = createHash('sha256').update(out);
  // Symlinks: the link's own stat data does not change with its target, so the targets' go into the signature.
  const links: Listed[] = [];
  const hasLinks = out.subarray(0, 2).toString() === 'l ' || out.includes('\0l ');
  let records: string[] | undefined;
  const parse = () => (records ??= out.toString('utf8').split('\0').slice(0, -1));
  if (hasLinks)
    for (const r of parse()) {
      if (!r.startsWith('l ')) continue;
      const p = r.slice(nthSpaces(r, 5)[4]! + 1);
      try {
        const st = statSync(join(full, p));
        const k = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
        sig.update(`\0${p}\0${k}`);
        if (st.isFile()) links.push({ rel: p, k, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs });
      } catch {
        /* dangling: DVC fails on it; mk leaves it out */
      }
    }
  const listing = () => {
    const l: Listed[] = [];
    for (const r of parse()) {
      if (!r.startsWith('f ')) continue;
      const sp = nthSpaces(r, 5);
      l.push({
        rel: r.slice(sp[4]! + 1),
        k: r.slice(sp[0]! + 1, sp[4]),
        size: Number(r.slice(sp[1]! + 1, sp[2])),
        mtimeMs: Number(r.slice(sp[2]! + 1, sp[3])) * 1000,
        ctimeMs: Number(r.slice(sp[3]! + 1, sp[4])) * 1000,
      });
    }
    return l.concat(links);
  };
  return { listing, sig: sig.digest('hex') };
}

function nthSpaces(s: string, n: number): number[] {
  const at: number[] = [];
  let i = -1;
  while (at.length < n) {
    i = s.indexOf(' ', i + 1);
    if (i < 0) break;
    at.push(i);
  }
  return at;
}

/** lstat that says undefined for a missing path. */
export function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/** Reads a small file whole, or undefined when it is not a regular file. */
export function readSmall(p: string, limit: number): Buffer | undefined {
  const st = lstatOrUndefined(p);
  if (!st?.isFile() || st.size > limit) return undefined;
  return readFileSync(p);
}
