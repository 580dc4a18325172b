import { readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../util/fs.js';
import { isRacy, racyWindowMs } from './racy.js';

/** The stat data mk keeps and compares (an lstat result, or the same fields read from `find -printf`). */
export type FileStat = Pick<Stats, 'ino' | 'size' | 'mtimeMs' | 'ctimeMs' | 'mode'>;

/** [ino, size, mtimeMs, ctimeMs, digest, recordedAtMs] */
type Entry = [number, number, number, number, string, number];

const VERSION = 1;

/**
 * Remembers, per repository-relative path, the digest of a file together with the stat
 * data it had when hashed (inode, size, mtime, ctime). An unchanged file is never re-read.
 * Stored as one JSON file under the worktree's `.git/mk/`; losing it costs only re-hashing.
 */
export class StatCache {
  private loaded?: Map<string, Entry>;
  private dirty = false;
  private readonly file: string;

  /** The file is read on first use: commands that never need it do not pay for it. */
  constructor(stateDir: string) {
    this.file = join(stateDir, 'stat-cache.json');
  }

  private get entries(): Map<string, Entry> {
    if (!this.loaded) {
      this.loaded = new Map();
      try {
        const raw = JSON.parse(readFileSync(this.file, 'utf8')) as { v: number; e: Record<string, Entry> };
        if (raw?.v === VERSION && raw.e && typeof raw.e === 'object') this.loaded = new Map(Object.entries(raw.e));
      } catch {
        /* missing or unreadable: start empty */
      }
    }
    return this.loaded;
  }

  /** The digest recorded for `rel` if the file's stat data still matches and is not racy. */
  lookup(rel: string, st: FileStat): string | undefined {
    const e = this.entries.get(rel);
    if (!e) return undefined;
    if (e[0] !== st.ino || e[1] !== st.size || e[2] !== st.mtimeMs || e[3] !== st.ctimeMs) return undefined;
    // Hashed within the file's last timestamp tick ("racy git"): not trusted until re-hashed later.
    if (isRacy(st, e[5])) return undefined;
    return e[4];
  }

  /** The digest last recorded for `rel`, whatever its stat data now (may be stale). */
  recorded(rel: string): string | undefined {
    return this.entries.get(rel)?.[4];
  }

  /**
   * Records a file's digest with its stat data. `written`: mk itself just wrote the file
   * (temp file, verified, renamed into place) and took this stat data right after: it is
   * trusted at once, so restoring a 2 GiB file is not followed by hashing it again. The one
   * case this cannot see is another program rewriting the file to the same size within the
   * same timestamp tick (a few ms) as mk's rename; Linux 6.13+ gives a later write a finer
   * ctime, which closes even that.
   */
  record(rel: string, st: FileStat, digest: string, at = Date.now(), written = false): void {
    if (written) at = Math.max(at, Math.max(st.mtimeMs, st.ctimeMs) + racyWindowMs(st));
    this.entries.set(rel, [st.ino, st.size, st.mtimeMs, st.ctimeMs, digest, at]);
    this.dirty = true;
  }

  forget(rel: string): void {
    if (this.entries.delete(rel)) this.dirty = true;
  }

  /** Drops every entry under a directory prefix (`a/b` drops `a/b` and `a/b/...`). */
  forgetUnder(prefix: string): void {
    for (const k of this.entries.keys()) {
      if (k !== prefix && !k.startsWith(prefix + '/')) continue;
      this.entries.delete(k);
      this.dirty = true;
    }
  }

  /**
   * After mk renamed `from` to `to` (a file or a folder, under the lock): the entries follow.
   * A folder's files keep their stat data; a renamed file's ctime changes, so `renamed` (its
   * stat data now) replaces it when the entry still held before the rename (`before`).
   */
  move(from: string, to: string, file?: { before: Stats; renamed: Stats }): void {
    for (const [k, v] of [...this.entries]) {
      if (k !== from && !k.startsWith(from + '/')) continue;
      this.entries.delete(k);
      this.dirty = true;
      const rel = to + k.slice(from.length);
      if (k === from && file) {
        const b = file.before;
        // Only an entry that still held (same stat data, not racy) vouches for the renamed file.
        if (v[0] !== b.ino || v[1] !== b.size || v[2] !== b.mtimeMs || v[3] !== b.ctimeMs || isRacy(b, v[5])) continue;
        this.record(rel, file.renamed, v[4], Date.now(), true);
      } else this.entries.set(rel, v);
    }
  }

  save(): void {
    if (!this.dirty || !this.loaded) return;
    const e: Record<string, Entry> = {};
    for (const [k, v] of this.entries) e[k] = v;
    writeFileAtomicSync(this.file, JSON.stringify({ v: VERSION, e }));
    this.dirty = false;
  }
}
