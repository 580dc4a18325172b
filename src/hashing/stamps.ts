import { createHash } from 'node:crypto';
import { readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../util/fs.js';

/** Stat data of the files of an artifact, reduced to one hash and the newest change time. */
export function statSignature(files: Array<{ path: string; stat: Stats }>): { sig: string; newest: number } {
  const h = createHash('sha256');
  let newest = 0;
  for (const f of files) {
    const st = f.stat;
    h.update(`${f.path}\0${st.ino}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}\0${st.mode}\n`);
    if (st.ctimeMs > newest) newest = st.ctimeMs;
    if (st.mtimeMs > newest) newest = st.mtimeMs;
  }
  return { sig: h.digest('hex'), newest };
}

/** How long after its last change a file's stat data is trusted (same rule as the stat cache). */
const RACY_MS = 1000;

/**
 * Per tracked artifact: "when its files had exactly this stat data, they were what pointer
 * digest D records". Lets status and the pre-commit hook call a large unchanged directory
 * clean from one scan, without loading the stat cache or the file list.
 */
export class Stamps {
  private readonly file: string;
  private map?: Record<string, [string, string]>;
  private dirty = false;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'stamps.json');
  }

  private get entries(): Record<string, [string, string]> {
    if (!this.map) {
      try {
        this.map = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, [string, string]>;
      } catch {
        this.map = {};
      }
    }
    return this.map;
  }

  isClean(path: string, digest: string, sig: string): boolean {
    const e = this.entries[path];
    return !!e && e[0] === digest && e[1] === sig;
  }

  /** Records a clean state, unless a file changed too recently to trust its stat data. */
  record(path: string, digest: string, s: { sig: string; newest: number }, now = Date.now()): void {
    if (now - s.newest < RACY_MS) return;
    const e = this.entries[path];
    if (e && e[0] === digest && e[1] === s.sig) return;
    this.entries[path] = [digest, s.sig];
    this.dirty = true;
  }

  forget(path: string): void {
    if (this.entries[path]) {
      delete this.entries[path];
      this.dirty = true;
    }
  }

  save(): void {
    if (!this.dirty || !this.map) return;
    try {
      writeFileAtomicSync(this.file, JSON.stringify(this.map));
      this.dirty = false;
    } catch {
      /* read-only state: only speed is lost */
    }
  }
}
