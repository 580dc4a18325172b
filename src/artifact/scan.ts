import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { isTmpName } from '../util/fs.js';
import { cmp } from '../pointer/dir-manifest.js';

export interface ScannedFile {
  /** Path relative to the scanned directory, forward slashes. */
  path: string;
  abs: string;
  stat: Stats;
  size: number;
  mode: number;
}

export interface ScanResult {
  files: ScannedFile[];
  /** Symlinks, sockets and other non-regular entries, which are not tracked. */
  skipped: string[];
  /** mk's own temporary files (a killed checkout leaves them): not data, never tracked. */
  temps: string[];
}

/** Lists the regular files under `root`, sorted by path. Symlinks are never followed. */
export function scanDir(root: string): ScanResult {
  const files: ScannedFile[] = [];
  const skipped: string[] = [];
  const temps: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${d.name}` : d.name;
      const abs = join(dir, d.name);
      if (d.isDirectory()) walk(abs, rel);
      else if (d.isFile() && isTmpName(d.name)) temps.push(rel);
      else if (d.isFile()) {
        const st = lstatSync(abs);
        files.push({ path: rel, abs, stat: st, size: st.size, mode: st.mode & 0o111 ? 0o755 : 0o644 });
      } else skipped.push(rel);
    }
  };
  walk(root, '');
  files.sort((a, b) => cmp(a.path, b.path));
  return { files, skipped, temps };
}
