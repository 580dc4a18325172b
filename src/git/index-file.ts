import { closeSync, constants as fsc, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync, type BigIntStats } from 'node:fs';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { git } from './run.js';
import { indexFilePath, surelySha1 } from './index-identity.js';

/**
 * Git's index file (gitformat-index(5)), read, and patched in place in one narrow way: the
 * stat data of entries whose bytes mk itself hashed (so that git does not send a multi-GB
 * file through the filter again just to learn what mk already knows).
 *
 * Nothing else changes: no entry is added, removed or renamed, no object id changes, every
 * extension is kept byte for byte (sizes stay, so EOIE/IEOT offsets stay valid). A split
 * index, an unknown version or a malformed file is left alone (the caller falls back to git).
 * The rewrite follows git's own rules: it happens under `index.lock` (taken with O_EXCL: when
 * git holds it, mk gives up), and entries that are "racily clean" against the old index file
 * (changed in the same second it was written, so their stat data cannot vouch for them) are
 * smudged (size 0) as git does, so git compares their content next time: the new file's
 * newer mtime must never make an unverified entry look clean.
 */

export interface IndexEntry {
  path: string;
  /** Offset of the entry's 40 bytes of stat data in the file. */
  at: number;
  oid: string;
  mode: number;
  stage: number;
  mtimeSec: number;
  mtimeNsec: number;
  size: number;
}

export interface ParsedIndex {
  bytes: Buffer;
  version: number;
  hashLen: number;
  entries: IndexEntry[];
  /** The index file's mtime when read (git's reference for racy entries). */
  mtimeSec: number;
  mtimeNsec: number;
}

/** The stat data git records for a file (all fields truncated to 32 bits, as git does). */
export interface StatData {
  ctimeSec: number;
  ctimeNsec: number;
  mtimeSec: number;
  mtimeNsec: number;
  dev: number;
  ino: number;
  uid: number;
  gid: number;
  size: number;
}

const NS = 1_000_000_000n;
const u32 = (v: bigint): number => Number(v & 0xffffffffn);

export function statData(st: BigIntStats): StatData {
  return {
    ctimeSec: u32(st.ctimeNs / NS),
    ctimeNsec: Number(st.ctimeNs % NS),
    mtimeSec: u32(st.mtimeNs / NS),
    mtimeNsec: Number(st.mtimeNs % NS),
    dev: u32(st.dev),
    ino: u32(st.ino),
    uid: u32(st.uid),
    gid: u32(st.gid),
    size: u32(st.size),
  };
}

/** Same stat data, nanoseconds included. */
export function sameStatData(a: StatData, b: StatData): boolean {
  return (
    a.ctimeSec === b.ctimeSec && a.ctimeNsec === b.ctimeNsec && a.mtimeSec === b.mtimeSec && a.mtimeNsec === b.mtimeNsec && a.ino === b.ino && a.uid === b.uid && a.gid === b.gid && a.size === b.size
  );
}

export function entryStat(idx: ParsedIndex, e: IndexEntry): StatData {
  const b = idx.bytes;
  const o = e.at;
  return {
    ctimeSec: b.readUInt32BE(o),
    ctimeNsec: b.readUInt32BE(o + 4),
    mtimeSec: b.readUInt32BE(o + 8),
    mtimeNsec: b.readUInt32BE(o + 12),
    dev: b.readUInt32BE(o + 16),
    ino: b.readUInt32BE(o + 20),
    uid: b.readUInt32BE(o + 28),
    gid: b.readUInt32BE(o + 32),
    size: b.readUInt32BE(o + 36),
  };
}

class Malformed extends Error {}

/** git's varint (varint.c): 7 bits per byte, each continuation adds one. */
function readVarint(b: Buffer, at: number): [number, number] {
  let c = b[at++]!;
  let val = c & 127;
  while (c & 128) {
    if (at >= b.length) throw new Malformed();
    val += 1;
    c = b[at++]!;
    val = val * 128 + (c & 127);
    if (val > Number.MAX_SAFE_INTEGER / 256) throw new Malformed();
  }
  return [val, at];
}

/** Parses an index file; undefined when mk must leave it to git (split index, unknown version, malformed). */
export function parseIndex(bytes: Buffer, hashLen: number, mtime: { sec: number; nsec: number }): ParsedIndex | undefined {
  try {
    if (bytes.length < 12 + hashLen || bytes.toString('latin1', 0, 4) !== 'DIRC') return undefined;
    const version = bytes.readUInt32BE(4);
    if (version < 2 || version > 4) return undefined;
    const count = bytes.readUInt32BE(8);
    const end = bytes.length - hashLen;
    const entries: IndexEntry[] = [];
    let at = 12;
    let prev = '';
    for (let i = 0; i < count; i++) {
      const fixed = 40 + hashLen + 2;
      if (at + fixed > end) throw new Malformed();
      const flags = bytes.readUInt16BE(at + 40 + hashLen);
      const extended = (flags & 0x4000) !== 0;
      if (extended && version < 3) throw new Malformed();
      let nameAt = at + fixed + (extended ? 2 : 0);
      let path: string;
      let next: number;
      if (version === 4) {
        const [strip, after] = readVarint(bytes, nameAt);
        nameAt = after;
        const nul = bytes.indexOf(0, nameAt);
        if (nul < 0 || nul >= end || strip > prev.length) throw new Malformed();
        path = prev.slice(0, prev.length - strip) + bytes.toString('utf8', nameAt, nul);
        next = nul + 1;
      } else {
        const nul = bytes.indexOf(0, nameAt);
        if (nul < 0 || nul >= end) throw new Malformed();
        path = bytes.toString('utf8', nameAt, nul);
        const header = fixed + (extended ? 2 : 0);
        next = at + ((header + (nul - nameAt) + 8) & ~7);
      }
      entries.push({
        path,
        at,
        oid: bytes.toString('hex', at + 40, at + 40 + hashLen),
        mode: bytes.readUInt32BE(at + 24),
        stage: (flags >> 12) & 3,
        mtimeSec: bytes.readUInt32BE(at + 8),
        mtimeNsec: bytes.readUInt32BE(at + 12),
        size: bytes.readUInt32BE(at + 36),
      });
      prev = path;
      at = next;
    }
    // Extensions: a split index keeps entries elsewhere, so mk leaves it to git.
    while (at + 8 <= end) {
      const sig = bytes.toString('latin1', at, at + 4);
      const len = bytes.readUInt32BE(at + 4);
      if (sig === 'link') return undefined;
      at += 8 + len;
    }
    if (at !== end) throw new Malformed();
    return { bytes, version, hashLen, entries, mtimeSec: mtime.sec, mtimeNsec: mtime.nsec };
  } catch (e) {
    if (e instanceof Malformed || e instanceof RangeError) return undefined;
    throw e;
  }
}

/** Reads and parses the index file at `path`. */
export function readIndexFile(path: string, hashLen: number): ParsedIndex | undefined {
  let bytes: Buffer;
  let st: BigIntStats;
  try {
    st = statSync(path, { bigint: true });
    bytes = readFileSync(path);
  } catch {
    return undefined;
  }
  return parseIndex(bytes, hashLen, { sec: Number(st.mtimeNs / NS), nsec: Number(st.mtimeNs % NS) });
}

/** Racy in git's sense: the entry's mtime is not older than the index file's (whole seconds, as git built without USE_NSEC compares). */
export function isRacyEntry(idx: ParsedIndex, e: IndexEntry): boolean {
  return e.mtimeSec >= idx.mtimeSec;
}

export interface StatPatch {
  path: string;
  /** The object id the entry must still have (else it changed meanwhile and is left alone). */
  oid: string;
  stat: StatData;
}

/**
 * Writes the stat data of `patches` into the index at `indexPath` (stage-0 entries with the
 * expected object id), smudging every other racily clean entry as git would. Returns the
 * paths patched; [] when the index was left alone (git holds the lock, a split index, ...).
 */
export function patchIndexStat(indexPath: string, hashLen: number, patches: StatPatch[]): string[] {
  if (!patches.length) return [];
  const lockPath = indexPath + '.lock';
  let fd: number;
  try {
    fd = openSync(lockPath, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o666);
  } catch {
    return []; // git (or another mk) is changing the index: leave it to git
  }
  let renamed = false;
  try {
    const idx = readIndexFile(indexPath, hashLen);
    if (!idx) return [];
    const want = new Map(patches.map((p) => [p.path, p]));
    const out = Buffer.from(idx.bytes);
    const done: string[] = [];
    for (const e of idx.entries) {
      const p = e.stage === 0 ? want.get(e.path) : undefined;
      if (p && p.oid === e.oid) {
        const s = p.stat;
        const o = e.at;
        out.writeUInt32BE(s.ctimeSec, o);
        out.writeUInt32BE(s.ctimeNsec, o + 4);
        out.writeUInt32BE(s.mtimeSec, o + 8);
        out.writeUInt32BE(s.mtimeNsec, o + 12);
        out.writeUInt32BE(s.dev, o + 16);
        out.writeUInt32BE(s.ino, o + 20);
        out.writeUInt32BE(s.uid, o + 28);
        out.writeUInt32BE(s.gid, o + 32);
        out.writeUInt32BE(s.size, o + 36);
        done.push(e.path);
        continue;
      }
      // git's ce_smudge_racily_clean_entry, without the content check: size 0 makes git compare the content.
      const type = e.mode & 0o170000;
      if (isRacyEntry(idx, e) && type !== 0o160000 && type !== 0o040000 && e.size !== 0) out.writeUInt32BE(0, e.at + 36);
    }
    if (!done.length) return [];
    const body = out.subarray(0, out.length - hashLen);
    const trailer = out.subarray(out.length - hashLen);
    // A trailer of zeros is git's index.skipHash: keep it so.
    if (trailer.some((x) => x !== 0))
      createHash(hashLen === 32 ? 'sha256' : 'sha1')
        .update(body)
        .digest()
        .copy(trailer);
    let off = 0;
    while (off < out.length) off += writeSync(fd, out, off, out.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(lockPath, indexPath);
    renamed = true;
    return done;
  } finally {
    if (fd >= 0) closeSync(fd);
    if (!renamed) rmSync(lockPath, { force: true });
  }
}

/** Resolves once the clock's whole second is past `sec` (so a file written now has a newer mtime than `sec`). */
export async function waitPastSecond(sec: number, maxMs = 1100): Promise<boolean> {
  const left = (sec + 1) * 1000 - Date.now();
  if (left <= 0) return true;
  if (left > maxMs) return false;
  await new Promise((r) => setTimeout(r, left + 2));
  return Math.floor(Date.now() / 1000) > sec;
}

/** Where this work tree's index is (GIT_INDEX_FILE followed) and how long object ids are. */
export async function indexLocation(root: string): Promise<{ path: string; hashLen: number }> {
  // Without git in the common case (a hook pays ~4 ms of CPU per git process): the index's path, and SHA-1 when nothing says otherwise.
  const known = indexFilePath(root);
  if (known !== undefined && surelySha1(root)) return { path: known, hashLen: 20 };
  const [path, format] = (await git(root, ['rev-parse', '--git-path', 'index', '--show-object-format'])).split('\n');
  return { path: resolve(root, path!), hashLen: format?.trim() === 'sha256' ? 32 : 20 };
}
