import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import type { FileStat } from '../hashing/stat-cache.js';
import { join } from 'node:path';
import { isTmpName } from '../util/fs.js';
import { isFolderMarker } from '../repo/gitignore.js';
import { cmp } from '../formats/dir-manifest.js';

export type { FileStat };

export interface ScannedFile {
  /** Path relative to the scanned directory, forward slashes. */
  path: string;
  abs: string;
  stat: FileStat;
  size: number;
  mode: number;
}

export interface ScanResult {
  files: ScannedFile[];
  /** Symbolic links, with their target text (recorded as links, as Git records them). */
  links: Array<{ path: string; target: string }>;
  /** Sockets, fifos and other entries that are neither files, folders nor links: not tracked. */
  skipped: string[];
  /** mk's own temporary files (a killed checkout leaves them): not data, never tracked. */
  temps: string[];
}

/** Lists the regular files under `root`, sorted by path. Symlinks are never followed. */
export function scanDir(root: string): ScanResult {
  const files: ScannedFile[] = [];
  const skipped: string[] = [];
  const links: ScanResult['links'] = [];
  const temps: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${d.name}` : d.name;
      const abs = join(dir, d.name);
      if (!prefix && d.name === '.gitignore' && d.isFile() && isFolderMarker(abs)) continue; // the folder's marker is Git's, not data
      if (d.isDirectory()) walk(abs, rel);
      else if (d.isFile() && isTmpName(d.name)) temps.push(rel);
      else if (d.isFile()) {
        const st = lstatSync(abs);
        files.push({ path: rel, abs, stat: st, size: st.size, mode: st.mode & 0o111 ? 0o755 : 0o644 });
      } else if (d.isSymbolicLink()) links.push({ path: rel, target: readlinkSync(abs, 'utf8') });
      else skipped.push(rel);
    }
  };
  walk(root, '');
  files.sort((a, b) => cmp(a.path, b.path));
  links.sort((a, b) => cmp(a.path, b.path));
  return { files, links, skipped, temps };
}

/** Milliseconds from a `find %T@`/`%C@` time ("seconds.fraction"), computed as Node computes `mtimeMs` from its seconds and nanoseconds (so the two compare equal). */
function msOf(t: string): number {
  const dot = t.indexOf('.');
  if (dot < 0) return Number(t) * 1e3;
  return Number(t.slice(0, dot)) * 1e3 + Number(t.slice(dot + 1, dot + 10).padEnd(9, '0')) / 1e6;
}

const S_IFREG = 0o100000;

/**
 * The same result as scanDir, from the output of `find <dir> -mindepth 1 -printf '%y %i %s
 * %T@ %C@ %m %P\\0'` (see findSignatureAsync): no stat call and no Stats object per file. Undefined
 * when a record does not parse (then the caller scans from Node).
 */
export function scanFromFind(root: string, out: Buffer): ScanResult | undefined {
  const files: ScannedFile[] = [];
  const skipped: string[] = [];
  const links: ScanResult['links'] = [];
  const temps: string[] = [];
  const records = out.toString('utf8').split('\0');
  if (records.pop() !== '') return undefined; // every record ends with NUL
  const base = root.endsWith('/') ? root : root + '/';
  const sp = [0, 0, 0, 0, 0, 0];
  for (const r of records) {
    // type ino size mtime ctime mode path (the path may hold spaces)
    let at = -1;
    for (let k = 0; k < 6; k++) {
      at = r.indexOf(' ', at + 1);
      if (at < 0) return undefined;
      sp[k] = at;
    }
    const rel = r.slice(sp[5]! + 1);
    if (!rel) return undefined;
    const type = r.slice(0, sp[0]);
    if (type === 'd') continue;
    if (type === 'l') {
      try {
        links.push({ path: rel, target: readlinkSync(base + rel, 'utf8') });
      } catch {
        return undefined; // changed under us: the caller scans from Node
      }
      continue;
    }
    if (type !== 'f') {
      skipped.push(rel);
      continue;
    }
    if (rel === '.gitignore' && isFolderMarker(base + rel)) continue; // the folder's marker is Git's, not data
    if (isTmpName(rel.slice(rel.lastIndexOf('/') + 1))) {
      temps.push(rel);
      continue;
    }
    const mode = S_IFREG | parseInt(r.slice(sp[4]! + 1, sp[5]), 8);
    const st: FileStat = {
      ino: Number(r.slice(sp[0]! + 1, sp[1])),
      size: Number(r.slice(sp[1]! + 1, sp[2])),
      mtimeMs: msOf(r.slice(sp[2]! + 1, sp[3])),
      ctimeMs: msOf(r.slice(sp[3]! + 1, sp[4])),
      mode,
    };
    if (!Number.isSafeInteger(st.ino) || !Number.isSafeInteger(st.size) || Number.isNaN(st.mtimeMs) || Number.isNaN(st.ctimeMs) || Number.isNaN(mode)) return undefined;
    files.push({ path: rel, abs: base + rel, stat: st, size: st.size, mode: mode & 0o111 ? 0o755 : 0o644 });
  }
  files.sort((a, b) => cmp(a.path, b.path));
  links.sort((a, b) => cmp(a.path, b.path));
  return { files, links, skipped, temps };
}
