import { createHash } from 'node:crypto';
import { constants as fsc, createReadStream, existsSync, lstatSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { MkError } from '../errors/index.js';
import { MAX_DIR_LISTING, parseDirListing, type DvcOut } from '../formats/dvc.js';
import { hashFile } from '../hashing/digest.js';
import { DvcMd5, dvcMatches } from '../hashing/dvc-md5.js';
import type { StatCache } from '../hashing/stat-cache.js';
import type { RepoContext } from '../repo/context.js';
import { abs } from '../repo/paths.js';
import { tmpName } from '../util/fs.js';
import { placeBlob } from './materialize.js';

/**
 * Takes the bytes of DVC outputs over for `mk migrate --from-dvc`: each file comes from the
 * work tree when it is there (DVC checked it out) or from DVC's cache (`.dvc/cache`, both the
 * 2.x `xx/yyyy` and the 3.x `files/md5/xx/yyyy` layouts), never from a remote; every byte is
 * hashed to sha256 and checked against DVC's md5 in the same pass. Nothing in the work tree
 * changes until every file of every output checked out (verify), then the files that were
 * absent, or were links into DVC's cache, are put in place (place).
 */

/** DVC's cache folder: `cache.dir` of `.dvc/config.local` or `.dvc/config` (relative to `.dvc/`), else `.dvc/cache`. */
export function dvcCacheDir(root: string): string {
  const dvcDir = join(root, '.dvc');
  for (const name of ['config.local', 'config']) {
    let text: string;
    try {
      text = readFileSync(join(dvcDir, name), 'utf8');
    } catch {
      continue;
    }
    let section = '';
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      const sec = /^\[\s*(.+?)\s*\]$/.exec(line);
      if (sec) section = sec[1]!.replace(/["']/g, '');
      else if (section === 'cache') {
        const m = /^dir\s*=\s*(.+)$/.exec(line);
        if (m) return isAbsolute(m[1]!) ? m[1]! : resolve(dvcDir, m[1]!);
      }
    }
  }
  return join(dvcDir, 'cache');
}

/** The path of a DVC cache object (`<md5>` or `<md5>.dir`), in whichever layout holds it. */
export function dvcObject(cacheDir: string, md5: string, suffix = ''): string | undefined {
  for (const p of [join(cacheDir, 'files', 'md5', md5.slice(0, 2), md5.slice(2) + suffix), join(cacheDir, md5.slice(0, 2), md5.slice(2) + suffix)]) {
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* not in this layout */
    }
  }
  return undefined;
}

export interface PlannedFile {
  /** Repository-relative path. */
  rel: string;
  md5: string;
  exec: boolean;
  /** Where the bytes come from: the work tree, DVC's cache (absent, or a link into the cache), or nowhere. */
  from: 'workspace' | 'dvc-cache' | 'missing';
  object?: string;
}

export interface PlannedOut {
  out: DvcOut;
  files: PlannedFile[];
  /** What stops this output from being taken over (the user must act), if anything. */
  problem?: { kind: 'missing' | 'modified' | 'damaged'; message: string };
}

/** Paths of the regular files and other non-folders under `dir` (relative), symlinks not followed. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), rel);
      else out.push(rel);
    }
  };
  walk(dir, '');
  return out;
}

/** Where one file's bytes come from. */
function locate(ctx: RepoContext, cacheDir: string, rel: string, md5: string, exec: boolean): PlannedFile {
  const object = dvcObject(cacheDir, md5);
  let st: Stats | undefined;
  try {
    st = lstatSync(abs(ctx.root, rel));
  } catch {
    st = undefined;
  }
  const base = { rel, md5, exec };
  // A link into DVC's cache (cache.type symlink or hardlink) is replaced by a copy: editing it in
  // place would change DVC's object, which older commits still name.
  const linked = !!st && !!object && (st.isSymbolicLink() || (st.isFile() && st.nlink > 1 && statSync(object).ino === st.ino));
  if (st?.isFile() && !linked) return { ...base, from: 'workspace' };
  if (object) return { ...base, from: 'dvc-cache', object };
  return { ...base, from: 'missing' };
}

/** What taking `out` over needs, read from the work tree and DVC's cache (nothing is hashed yet). */
export function planOut(ctx: RepoContext, cacheDir: string, out: DvcOut): PlannedOut {
  const p = abs(ctx.root, out.path);
  let st: Stats | undefined;
  try {
    st = lstatSync(p);
  } catch {
    st = undefined;
  }
  if (!out.dir) {
    if (st?.isDirectory()) return { out, files: [], problem: { kind: 'modified', message: `${out.path} is a folder, but ${out.source} records a file` } };
    const f = locate(ctx, cacheDir, out.path, out.md5, out.exec);
    return { out, files: [f], problem: f.from === 'missing' ? missingProblem(out, [f]) : undefined };
  }
  if (st && !st.isDirectory()) return { out, files: [], problem: { kind: 'modified', message: `${out.path} is a file, but ${out.source} records a folder` } };
  const listingPath = dvcObject(cacheDir, out.md5, '.dir');
  if (!listingPath) return { out, files: [], problem: { kind: 'missing', message: `${out.path}: the folder's file list (${out.md5}.dir) is not in the DVC cache` } };
  if (statSync(listingPath).size > MAX_DIR_LISTING)
    return { out, files: [], problem: { kind: 'damaged', message: `${out.path}: the folder's file list ${listingPath} is larger than ${MAX_DIR_LISTING} bytes` } };
  let entries;
  try {
    const bytes = readFileSync(listingPath);
    if (createHash('md5').update(bytes).digest('hex') !== out.md5) throw new MkError('EDVCCACHE', `${out.path}: DVC's file list ${listingPath} is damaged (its bytes do not match its md5)`);
    entries = parseDirListing(bytes.toString('utf8'), `${out.path}'s file list ${out.md5}.dir`);
  } catch (e) {
    return { out, files: [], problem: { kind: 'damaged', message: (e as Error).message } };
  }
  const files = entries.map((e) => locate(ctx, cacheDir, `${out.path}/${e.relpath}`, e.md5, e.exec));
  if (st) {
    const listed = new Set(entries.map((e) => e.relpath));
    const extra = listFiles(p).filter((r) => !listed.has(r));
    if (extra.length)
      return {
        out,
        files,
        problem: { kind: 'modified', message: `${out.path} holds ${extra.length} file(s) ${out.source} does not record (${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ', ...' : ''})` },
      };
  }
  const missing = files.filter((f) => f.from === 'missing');
  return { out, files, problem: missing.length ? missingProblem(out, missing) : undefined };
}

function missingProblem(out: DvcOut, missing: PlannedFile[]): PlannedOut['problem'] {
  const first = missing[0]!;
  return { kind: 'missing', message: `${out.path}: ${missing.length} file(s) are neither in the work tree nor in the DVC cache (first: ${first.rel}, md5 ${first.md5})` };
}

/** A file whose bytes were checked, and how it gets into place. */
interface Verified {
  file: PlannedFile;
  digest: string;
  size: number;
  /** The bytes wait in the ingest folder (a small file of a folder from DVC's cache), to be renamed into the work tree. */
  staged?: string;
}

export interface Imported {
  /** Files whose bytes were read and checked. */
  checked: number;
  /** Of them, those taken from DVC's cache (absent from the work tree, or links into the cache). */
  fromCache: number;
  bytes: number;
}

/**
 * Checks every file of the planned outputs against DVC's md5 (and hashes it to sha256 in the
 * same pass), then puts the files that came from DVC's cache in place. The stat cache learns
 * every digest, so `mk add` does not read the files again; files that are a single output, or
 * large enough to be a blob of their own, are stored in mk's cache on the way. A mismatch
 * throws before anything in the work tree changed.
 */
export async function importOuts(ctx: RepoContext, stat: StatCache, outs: PlannedOut[]): Promise<Imported> {
  const cache = ctx.cache;
  const done: Verified[] = [];
  const result: Imported = { checked: 0, fromCache: 0, bytes: 0 };
  try {
    for (const o of outs) {
      for (const f of o.files) {
        const whole = !o.out.dir || (f.from === 'workspace' ? lstatSync(abs(ctx.root, f.rel)).size : statSync(f.object!).size) >= ctx.config.rawThreshold;
        done.push(await verifyOne(ctx, stat, o.out, f, whole));
        result.checked++;
        result.bytes += done[done.length - 1]!.size;
      }
    }
    // Everything checked out: now the work tree changes.
    for (const v of done) {
      if (v.file.from !== 'dvc-cache') continue;
      result.fromCache++;
      const dest = abs(ctx.root, v.file.rel);
      const mode = v.file.exec ? 0o755 : 0o644;
      if (v.staged) {
        await mkdir(dirname(dest), { recursive: true });
        await moveInto(v.staged, dest);
        v.staged = undefined;
      } else {
        await placeBlob(cache, v.digest, v.size, dest, mode, 'copy');
      }
      stat.record(v.file.rel, lstatSync(dest), v.digest, undefined, true);
    }
  } finally {
    for (const v of done) if (v.staged) await rm(v.staged, { force: true });
  }
  return result;
}

/** Renames a staged file over `dest` (a link into DVC's cache is replaced, not written through). */
async function moveInto(staged: string, dest: string): Promise<void> {
  try {
    await rename(staged, dest);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    const tmp = tmpName(dest);
    try {
      await copyFile(staged, tmp, fsc.COPYFILE_EXCL);
      await rename(tmp, dest);
    } finally {
      await rm(tmp, { force: true });
      await rm(staged, { force: true });
    }
  }
}

async function verifyOne(ctx: RepoContext, stat: StatCache, out: DvcOut, f: PlannedFile, whole: boolean): Promise<Verified> {
  const cache = ctx.cache;
  const src = f.from === 'workspace' ? abs(ctx.root, f.rel) : f.object!;
  const before = lstatSync(src);
  const md5 = new DvcMd5(out.legacy);
  // Into mk's cache when the file is a blob of its own (through the cache's ingest, which
  // hashes what it writes and names it); a small file of a folder from DVC's cache waits next
  // to its place in the work tree; a small file of the work tree is only read (mk add packs it).
  const tmp = !whole && f.from === 'dvc-cache' ? tmpName(abs(ctx.root, f.rel)) : undefined;
  const w = whole ? await cache.ingest(f.rel) : undefined;
  try {
    if (tmp) await mkdir(dirname(tmp), { recursive: true });
    let got: { digest: string; size: number };
    if (w) {
      for await (const c of createReadStream(src) as AsyncIterable<Buffer>) {
        md5.update(c);
        await w.write(c);
      }
      got = { digest: '', size: 0 }; // named by the cache on commit, once the md5 holds
    } else got = await hashFile(src, tmp, f.exec ? 0o755 : 0o644, (c) => md5.update(c));
    const after = lstatSync(src);
    if ((!w && after.size !== got.size) || after.size !== before.size || after.mtimeMs !== before.mtimeMs || after.ino !== before.ino)
      throw new MkError('ECHANGED', `${f.rel} changed while mk was reading it`, { hint: 'run the command again once nothing writes to it' });
    if (!dvcMatches(md5.digest(), f.md5)) {
      if (f.from === 'workspace')
        throw new MkError('EMODIFIED', `${f.rel} differs from what ${out.source} records (md5 ${f.md5}): it holds changes DVC has not recorded`, {
          hint: `record them with 'dvc add' or 'dvc commit', or drop them with 'dvc checkout', then migrate again`,
          data: { path: f.rel },
        });
      throw new MkError('EDVCCACHE', `DVC's cache object ${src} for ${f.rel} is damaged: its bytes do not match its md5 ${f.md5}`, {
        hint: "remove that object and run 'dvc fetch' (or 'mk migrate --from-dvc --fetch'), then migrate again",
        data: { path: f.rel },
      });
    }
    if (w) {
      const r = await w.commit();
      if (f.from === 'workspace') stat.record(f.rel, before, r.digest);
      return { file: f, digest: r.digest, size: r.size };
    }
    if (f.from === 'workspace') stat.record(f.rel, before, got.digest);
    return { file: f, digest: got.digest, size: got.size, staged: tmp };
  } catch (e) {
    await w?.abort();
    if (tmp && existsSync(tmp)) await rm(tmp, { force: true });
    throw e;
  }
}
