import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isRacy, racyWindowMs } from '../../hashing/racy.js';
import { writeFileAtomicSync } from '../../util/fs.js';

/** Blobs at least this large are trusted by their stat data once verified (smaller ones are cheap to re-hash). */
const TRUST_BYTES = 8 << 20;

/** Blob files this process wrote itself after checking their digest. */
const writtenByThisProcess = new Set<string>();

function statKey(st: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/**
 * The one trust rule of mk's cache: bytes leaving the cache are hashed on the way out,
 * except a blob this very process wrote after checking it, and a large blob (≥ 8 MiB) that
 * was verified before and whose stat data (inode, size, mtime, ctime) has not changed since
 * (kept in `verified.json`, the same rule as the work tree's stat cache: any write, through a
 * hard link too, changes that data and brings the hash back; only silent media corruption is
 * left to `mk verify`, which hashes everything).
 */
export class TrustRecord {
  private map?: Record<string, [string, number]>;

  constructor(
    private readonly root: string,
    private readonly blobFile: (hex: string) => string,
  ) {}

  private get entries(): Record<string, [string, number]> {
    if (!this.map) {
      try {
        const t = JSON.parse(readFileSync(join(this.root, 'verified.json'), 'utf8')) as unknown;
        this.map = t && typeof t === 'object' && !Array.isArray(t) ? (t as Record<string, [string, number]>) : {};
      } catch {
        this.map = {};
      }
    }
    return this.map;
  }

  /** The blob may be used without hashing it again. */
  trusted(hex: string, size: number): boolean {
    const path = this.blobFile(hex);
    if (writtenByThisProcess.has(path)) return true;
    if (size < TRUST_BYTES) return false;
    const e = this.entries[hex];
    if (!e) return false;
    try {
      const st = statSync(path);
      return st.size === size && e[0] === statKey(st) && !isRacy(st, e[1]);
    } catch {
      return false;
    }
  }

  /**
   * Records that a blob's bytes matched its digest. `written`: this process just wrote and
   * renamed it into place (no one else could have changed it within the same timestamp tick).
   */
  note(hex: string, size: number, written = false): void {
    const path = this.blobFile(hex);
    if (written) writtenByThisProcess.add(path);
    if (size < TRUST_BYTES) return;
    try {
      const st = statSync(path);
      const at = written ? Math.max(st.mtimeMs, st.ctimeMs) + racyWindowMs(st) : Date.now();
      const map = this.entries;
      map[hex] = [statKey(st), at];
      for (const h of Object.keys(map)) if (!existsSync(this.blobFile(h))) delete map[h];
      writeFileAtomicSync(join(this.root, 'verified.json'), JSON.stringify(map));
    } catch {
      /* read-only or gone: only speed is lost */
    }
  }

  /** Forgets a blob (it was removed, or found damaged). */
  forget(hex: string): void {
    writtenByThisProcess.delete(this.blobFile(hex));
  }
}
