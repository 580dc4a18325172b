import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../util/fs.js';
import { isRacy } from './racy.js';
import type { FileStat } from './stat-cache.js';

/** Stat data of the files of an artifact, reduced to one hash and the newest change time. */
export function statSignature(files: Array<{ path: string; stat: FileStat }>): { sig: string; newest: number } {
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

/**
 * The same kind of signature for a whole folder, with the stat calls done by `find` (one
 * process, no JavaScript objects per file): for 20,000 files it is several times cheaper
 * than a scan from Node. Undefined where `find` lacks -printf (not GNU find): callers then
 * scan from Node. Signatures carry their method, so the two kinds never compare equal.
 * It runs without blocking, so several folders (and git) are scanned at once.
 */
export function findSignatureAsync(absDir: string): Promise<Signature | undefined> {
  // find on a file (or a link) lists nothing, which would read as an empty folder.
  if (!lstatSync(absDir, { throwIfNoEntry: false })?.isDirectory()) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    execFile('find', findArgs(absDir), { maxBuffer: 1 << 30, encoding: 'buffer' }, (err, out) => resolve(err ? undefined : reduceFind(out, Date.now())));
  });
}

/** A folder's stat signature; `recent`: its files changed too recently for stat data alone to vouch for them. */
export interface Signature {
  sig: string;
  newest: number;
  recent?: string[];
  /** Only regular files and folders (no links, sockets...): checked before a stamp stands in for a scan that would refuse to write through a link. */
  plain?: boolean;
  /** Temporary files of mk (`.<name>.mk-tmp-<pid>-<hex>`) inside: a checkout scans, and sweeps those of dead processes. */
  temps?: number;
  /** find's output the signature hashes (type, inode, size, times, mode and path per entry): a scan of the folder needs no stat call of its own. */
  findOutput?: Buffer;
}

function findArgs(absDir: string): string[] {
  return [absDir, '-mindepth', '1', '-printf', '%y %i %s %T@ %C@ %m %P\\0'];
}

/**
 * The signature is the hash of find's output as it comes (readdir order, which is stable
 * while a folder is unchanged; a reordering only costs a full scan): one call, so checking
 * a stamp costs next to nothing. The times, recent files and entry types are parsed only
 * when asked for (recording a stamp, a checkout deciding whether to trust one).
 */
function reduceFind(out: Buffer, at: number): Signature {
  const sig = createHash('sha256').update('find2:').update(out).digest('hex');
  let parsed: { newest: number; recent: string[]; plain: boolean; temps: number } | undefined;
  const parse = () => {
    if (parsed) return parsed;
    const records = out.toString('utf8').split('\0');
    records.pop();
    let newest = 0;
    const recent: string[] = [];
    let plain = true;
    let temps = 0;
    for (const r of records) {
      if (/\.mk-tmp-\d+-[0-9a-f]{8}$/.test(r)) temps++;
      const parts = r.split(' ', 5);
      const m = Number(parts[3]) * 1000;
      const c = Number(parts[4]) * 1000;
      if (m > newest) newest = m;
      if (c > newest) newest = c;
      // Only regular files can hide a same-tick change: every name in a folder is listed (so a
      // folder's own times add nothing), and links are not part of an artifact.
      // (The folder's marker, .gitignore at its top, is not data: a change to it changes the signature anyway.)
      if (parts[0] === 'f' && isRacy({ mtimeMs: m, ctimeMs: c }, at)) {
        const rel = r.slice(nthSpace(r, 6) + 1);
        if (rel !== '.gitignore') recent.push(rel);
      }
      if (parts[0] !== 'f' && parts[0] !== 'd') plain = false;
    }
    return (parsed = { newest, recent, plain, temps });
  };
  return {
    sig,
    findOutput: out,
    get newest() {
      return parse().newest;
    },
    get recent() {
      return parse().recent;
    },
    get plain() {
      return parse().plain;
    },
    get temps() {
      return parse().temps;
    },
  };
}

/** At most this many recently changed files are re-hashed on each check instead of refusing a stamp. */
const MAX_RACY = 64;

function nthSpace(s: string, n: number): number {
  let i = -1;
  while (n-- > 0) i = s.indexOf(' ', i + 1);
  return i;
}

/** [pointer digest, signature, blobs needed (digest@size), files re-hashed on each check ([path, digest])]. */
type Entry = [string, string, (string[] | null)?, Array<[string, string]>?];

function sha256File(p: string): string {
  return 'sha256:' + createHash('sha256').update(readFileSync(p)).digest('hex');
}

/**
 * Per tracked artifact: "when its files had exactly this stat data, they were what pointer
 * digest D records". Lets status and the pre-commit hook call a large unchanged directory
 * clean from one scan, without loading the stat cache or the file list.
 */
export class Stamps {
  private readonly file: string;
  private map?: Record<string, Entry>;
  private dirty = false;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'stamps.json');
  }

  private get entries(): Record<string, Entry> {
    if (!this.map) {
      try {
        const m = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
        this.map = m && typeof m === 'object' && !Array.isArray(m) ? (m as Record<string, Entry>) : {};
      } catch {
        this.map = {};
      }
    }
    return this.map;
  }

  /**
   * True when the folder at `path` (absolute: `absDir`) still has the stat data it had when
   * stamped clean for `digest`. Files that had changed just before the stamp are re-hashed.
   */
  isClean(path: string, digest: string, sig: string, absDir?: string): boolean {
    const e = this.entries[path];
    if (!e || !e[1] || e[0] !== digest || e[1] !== sig) return false;
    for (const [rel, d] of e[3] ?? []) {
      if (absDir === undefined) return false;
      try {
        if (sha256File(join(absDir, ...rel.split('/'))) !== d) return false;
      } catch {
        return false;
      }
    }
    return true;
  }

  /** Starts a `find` signature for every stamped folder now, so the scans overlap other work. */
  prefetch(root: string): Map<string, Promise<Signature | undefined>> {
    const out = new Map<string, Promise<Signature | undefined>>();
    for (const [path, e] of Object.entries(this.entries)) {
      if (e[1] && e[2]?.[0]?.endsWith('@-1')) out.set(path, findSignatureAsync(join(root, ...path.split('/'))));
    }
    return out;
  }

  /** The pointer digest the artifact had when last stamped clean. */
  digestOf(path: string): string | undefined {
    return this.entries[path]?.[0];
  }

  /** The blobs (digest@size) the artifact needed when it was stamped. */
  blobs(path: string): string[] | undefined {
    return this.entries[path]?.[2] ?? undefined;
  }

  /**
   * Records a clean state. Files changed too recently to trust their stat data (a write in
   * the same timestamp tick would not show) are kept with their digest (from `digestOf`)
   * and re-hashed by every check; with more of them, or none known, nothing is recorded.
   */
  record(path: string, digest: string, s: Signature, blobs?: string[], digestOf?: (rel: string) => string | undefined, now = Date.now()): void {
    let racy: Array<[string, string]> | undefined;
    // A find signature lists its racy files (see racy.ts); a scan from Node only knows the
    // newest change, and then the whole folder waits out the longest window.
    // A stamp that cannot be renewed goes: it described data that has changed since (the
    // hooks read an old stamp as mk's last word on what the folder holds).
    // Such a folder keeps the version alone (no signature): mk's word that it placed or recorded
    // that version there, which the judgement weighs as evidence (see src/worktree/judge.ts)
    // without ever taking the stat data for proof.
    const recent = s.recent ?? (now - s.newest < 2000 ? undefined : []);
    if (!recent) return this.versionOnly(path, digest, blobs);
    if (recent.length) {
      if (!digestOf || recent.length > MAX_RACY) return this.versionOnly(path, digest, blobs);
      racy = [];
      for (const rel of recent) {
        const d = digestOf(rel);
        if (!d) return this.versionOnly(path, digest, blobs);
        racy.push([rel, d]);
      }
    }
    const entry: Entry = racy ? [digest, s.sig, blobs ?? null, racy] : blobs ? [digest, s.sig, blobs] : [digest, s.sig];
    if (JSON.stringify(this.entries[path]) === JSON.stringify(entry)) return;
    this.entries[path] = entry;
    this.dirty = true;
  }

  /** mk placed or recorded version `digest` at `path`, but no signature can vouch for it yet (files changed within the racy window). */
  versionOnly(path: string, digest: string, blobs?: string[]): void {
    // The first needed blob says what the version is (`<digest>@-1`: a folder's manifest; `<digest>@<size>`: a file).
    const entry: Entry = blobs?.length ? [digest, '', [blobs[0]!]] : [digest, ''];
    if (JSON.stringify(this.entries[path]) === JSON.stringify(entry)) return;
    this.entries[path] = entry;
    this.dirty = true;
  }

  /** Whether the stamp of `path` has a signature (else it names only the version mk last placed or recorded there). */
  signed(path: string): boolean {
    return !!this.entries[path]?.[1];
  }

  /** After mk renamed a folder `from` to `to`: its files keep their stat data (find lists them relative to the folder), so the stamp holds there. */
  move(from: string, to: string): void {
    const e = this.entries[from];
    if (!e) return;
    delete this.entries[from];
    this.entries[to] = e;
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
