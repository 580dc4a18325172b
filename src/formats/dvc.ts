import { posix } from 'node:path';
import { yamlLib } from '../util/yaml-lazy.js';
import { MkError } from '../errors/index.js';
import { checkStoredPath } from './stored-path.js';

/**
 * What DVC records about its outputs, read for `mk migrate --from-dvc`: `.dvc` files, the
 * `outs` of `dvc.lock` (with the `wdir` of their stage in `dvc.yaml`), and `.dir` listings.
 * Everything here is read from files a repository brings along, so every field is checked and
 * anything mk cannot take over is described instead of guessed at.
 */

/** One output as DVC records it, with its path from the repository root. */
export interface DvcOut {
  /** Repository-relative POSIX path of the output. */
  path: string;
  /** DVC's md5 (hex), of the file or of the folder's `.dir` listing (without the `.dir` suffix). */
  md5: string;
  dir: boolean;
  size?: number;
  nfiles?: number;
  /**
   * DVC 2.x recorded it (no `hash: md5`): its md5 may be "md5-dos2unix" (text files hashed with
   * CRLF read as LF) and its objects sit in the cache's old `xx/yyyy` layout.
   */
  legacy: boolean;
  exec: boolean;
  /** The file that records it: `data/x.dvc` or `dvc.lock`. */
  source: string;
  /** For pipeline outputs: the stage that writes it. */
  stage?: string;
}

/** An output mk cannot take over, and why. */
export interface DvcSkip {
  path: string;
  source: string;
  reason: string;
}

export interface DvcRead {
  outs: DvcOut[];
  skipped: DvcSkip[];
  /** For a `.dvc` file: whether all its outputs can be taken over (then the file can go). */
  complete: boolean;
}

const MD5 = /^[0-9a-f]{32}$/;

function parseYamlDoc(text: string, file: string): unknown {
  const doc = yamlLib().parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) throw new MkError('EDVCFILE', `${file} is not valid YAML (${doc.errors[0]!.message.split('\n')[0]})`);
  return doc.toJSON();
}

const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * The repository-relative path of an output written as `raw` in a file at folder `base`
 * (POSIX, repository-relative, '' for the root); undefined when it leaves the repository.
 */
export function outPath(base: string, raw: string): string | undefined {
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw) || /^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return undefined;
  const joined = posix.normalize(posix.join(base || '.', raw.replace(/\\/g, '/'))).replace(/\/+$/, '');
  if (joined === '.' || joined === '..' || joined.startsWith('../')) return undefined;
  try {
    return checkStoredPath(joined);
  } catch {
    return undefined;
  }
}

/** A folder written as `raw` (a `wdir`) in a file at folder `base`: '' for the root, undefined when it leaves the repository. */
function folderPath(base: string, raw: string): string | undefined {
  if (posix.normalize(posix.join(base || '.', raw.replace(/\\/g, '/'))).replace(/\/+$/, '') === '.') return '';
  return outPath(base, raw);
}

/** One entry of `outs`, checked; a string when it cannot be taken over (the reason). */
function readOut(o: unknown, base: string, source: string, stage?: string): DvcOut | DvcSkip {
  const raw = isMap(o) && typeof o.path === 'string' ? o.path : undefined;
  const skip = (reason: string): DvcSkip => ({ path: raw === undefined ? '?' : (outPath(base, raw) ?? raw), source, reason });
  if (!isMap(o) || raw === undefined) return skip("an entry without a 'path'");
  const path = outPath(base, raw);
  if (path === undefined) return skip('it is outside the repository (an external output): mk tracks data inside the repository only');
  if (o.cache === false) return skip('DVC does not cache it (cache: false): Git keeps it');
  if (Array.isArray(o.files) || o.version_id !== undefined) return skip('it is a cloud-versioned output (version_id/files): its bytes are not in the DVC cache');
  if (o.hash !== undefined && o.hash !== 'md5') return skip(`its hash is ${JSON.stringify(o.hash)}, which mk does not read (md5 only)`);
  if (typeof o.md5 !== 'string') return skip(o.etag || o.checksum ? 'it is recorded by etag/checksum, not md5 (an external output)' : 'it has no md5 (never committed with DVC)');
  const dir = o.md5.endsWith('.dir');
  const md5 = dir ? o.md5.slice(0, -4) : o.md5;
  if (!MD5.test(md5)) return skip(`its md5 '${o.md5}' is not 32 hex digits`);
  const out: DvcOut = { path, md5, dir, legacy: o.hash === undefined, exec: o.isexec === true, source };
  if (stage !== undefined) out.stage = stage;
  if (Number.isSafeInteger(o.size) && (o.size as number) >= 0) out.size = o.size as number;
  if (Number.isSafeInteger(o.nfiles) && (o.nfiles as number) >= 0) out.nfiles = o.nfiles as number;
  return out;
}

const folderOf = (file: string) => (file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '');

/** Reads a `.dvc` file (`file` is its repository-relative path). Throws on text that is not a `.dvc` file at all. */
export function readDvcFile(text: string, file: string): DvcRead {
  const v = parseYamlDoc(text, file);
  if (!isMap(v) || !Array.isArray(v.outs)) throw new MkError('EDVCFILE', `${file} has no 'outs' list`);
  const base = typeof v.wdir === 'string' ? folderPath(folderOf(file), v.wdir) : folderOf(file);
  const res: DvcRead = { outs: [], skipped: [], complete: true };
  if (base === undefined) return { outs: [], skipped: [{ path: file, source: file, reason: 'its wdir leaves the repository' }], complete: false };
  if (Array.isArray(v.deps) && v.deps.length) {
    const from = v.deps.map((d) => (isMap(d) ? (isMap(d.repo) ? `${String(d.repo.url)}:${String(d.path)}` : String(d.path)) : '?')).join(', ');
    for (const o of v.outs)
      res.skipped.push({
        path: isMap(o) && typeof o.path === 'string' ? (outPath(base, o.path) ?? o.path) : '?',
        source: file,
        reason: `it is imported (dvc import/import-url from ${from}), and mk does not follow import sources: to keep its data as plain data, 'git rm ${file}' and 'dvc add' the path first`,
      });
    res.complete = false;
    return res;
  }
  for (const o of v.outs) {
    const r = readOut(o, base, file);
    if ('md5' in r) res.outs.push(r);
    else {
      res.skipped.push(r);
      res.complete = false;
    }
  }
  return res;
}

/**
 * The working folder of each stage of a `dvc.yaml` (repository-relative), by stage name;
 * `foreach`/`matrix` stages answer for their generated names (`name@...`). A wdir with
 * `${...}` in it is not resolved: its stage is missing from the map.
 */
export function stageFolders(text: string | undefined, file: string): Map<string, string> {
  const out = new Map<string, string>();
  const folder = folderOf(file);
  if (text === undefined) return out;
  const v = parseYamlDoc(text, file);
  if (!isMap(v) || !isMap(v.stages)) return out;
  for (const [name, s] of Object.entries(v.stages)) {
    if (!isMap(s)) continue;
    const body = isMap(s.do) ? s.do : s;
    const w = body.wdir;
    if (w === undefined) out.set(name, folder);
    else if (typeof w === 'string' && !w.includes('${')) {
      const p = folderPath(folder, w);
      if (p !== undefined) out.set(name, p);
    }
  }
  return out;
}

/** The cached outputs of a `dvc.lock` (the `wdir` of each stage comes from its `dvc.yaml`). */
export function readDvcLock(text: string, file: string, yamlText: string | undefined): DvcRead {
  const v = parseYamlDoc(text, file);
  const res: DvcRead = { outs: [], skipped: [], complete: true };
  if (!isMap(v) || !isMap(v.stages)) return res;
  const wdirs = stageFolders(yamlText, file.replace(/dvc\.lock$/, 'dvc.yaml'));
  for (const [name, s] of Object.entries(v.stages)) {
    if (!isMap(s) || !Array.isArray(s.outs)) continue;
    const base = wdirs.get(name) ?? wdirs.get(name.split('@')[0]!);
    for (const o of s.outs) {
      if (base === undefined) {
        res.skipped.push({ path: isMap(o) && typeof o.path === 'string' ? o.path : '?', source: file, reason: `the working folder of stage '${name}' cannot be read from dvc.yaml` });
        continue;
      }
      const r = readOut(o, base, file, name);
      if ('md5' in r) res.outs.push(r);
      else res.skipped.push(r);
    }
  }
  return res;
}

/** One file of a folder output, as its `.dir` listing records it. */
export interface DvcDirEntry {
  /** Path inside the folder (POSIX). */
  relpath: string;
  md5: string;
  exec: boolean;
}

/** At most this many bytes of a `.dir` listing are read (about 2 million files). */
export const MAX_DIR_LISTING = 256 << 20;

/** Parses a `.dir` listing (a JSON list of `{md5, relpath}`), checking every path. */
export function parseDirListing(text: string, what: string): DvcDirEntry[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new MkError('EDVCFILE', `${what} is not JSON`);
  }
  if (!Array.isArray(v)) throw new MkError('EDVCFILE', `${what} is not a list`);
  const seen = new Set<string>();
  return v.map((e, i) => {
    if (!isMap(e) || typeof e.relpath !== 'string' || typeof e.md5 !== 'string') throw new MkError('EDVCFILE', `${what}: entry ${i} lacks md5 or relpath`);
    if (!MD5.test(e.md5)) throw new MkError('EDVCFILE', `${what}: entry ${i} has md5 '${e.md5}', not 32 hex digits`);
    let rel: string;
    try {
      rel = checkStoredPath(e.relpath);
    } catch {
      throw new MkError('EDVCFILE', `${what}: entry ${i} has the path '${e.relpath}', which leaves the folder or enters .git`);
    }
    if (seen.has(rel)) throw new MkError('EDVCFILE', `${what}: '${rel}' is listed twice`);
    seen.add(rel);
    return { relpath: rel, md5: e.md5, exec: e.isexec === true };
  });
}
