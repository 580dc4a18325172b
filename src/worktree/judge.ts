import { compareWorkspace, diffFiles, isCached, type Comparison } from './compare.js';
import { loadDirManifest } from './load.js';
import { scanPath } from './workspace.js';
import type { StatCache } from '../hashing/stat-cache.js';
import { findSignatureAsync, statSignature, type Signature, type Stamps } from '../hashing/stamps.js';
import type { Pointer } from '../formats/pointer.js';
import type { RepoContext } from '../repo/context.js';
import { abs } from '../repo/paths.js';

/**
 * What the work tree holds for an artifact, by the one rule:
 * - `clean`: the data is what its pointer records;
 * - `stale`: the data is exactly another version `version`, one mk placed or recorded, and the
 *   user has not changed it since: git moved the pointer without the data (reset, cherry-pick,
 *   stash, checkout of a pointer file...). It follows its pointer; nothing of the user's is lost
 *   (the version's bytes are in the cache);
 * - `modified`: the user's data (changed since mk last placed or recorded it): kept, reported,
 *   recorded by the next commit;
 * - `deleted`: no data; `unknown`: cannot tell (the pointer's file list is not in the cache).
 */
export interface DataState {
  state: 'clean' | 'stale' | 'modified' | 'deleted' | 'unknown';
  /** For `stale`: the version the data holds. */
  version?: Pointer;
  /** How the version was known: mk's stamp (stat data unchanged since mk placed or recorded it), or the bytes themselves. */
  evidence?: 'stamp' | 'content';
  comparison?: Comparison;
}

/**
 * Classifies the data of `path` against its pointer `p`. The evidence, strongest first:
 * 1. The stamp (`.git/mk/stamps.json`): "with exactly this stat data it held version D",
 *    written only when mk placed the data (checkout), recorded it (add) or hashed it clean.
 *    Stat data unchanged since (inode, size, mtime, ctime of every file): the data is D
 *    untouched; D ≠ p means stale. A stamp for p whose stat data changed means the user
 *    changed the data after mk vouched for it: theirs, whatever it now holds.
 * 2. Without a stamp for p: the data's bytes (hashed through the stat cache) are exactly one
 *    of `candidates` (versions the work tree held before git moved the pointer: the previous
 *    HEAD's, HEAD's...), every file and mode, nothing more or less, and that version is in
 *    the cache. Anything else is the user's.
 * `candidates` yields the strongest evidence first and is read only as far as needed (each
 * step may read history).
 */
export async function classifyData(
  ctx: RepoContext,
  stat: StatCache,
  stamps: Stamps,
  path: string,
  p: Pointer,
  candidates: () => AsyncIterable<Pointer>,
  early?: Promise<Signature | undefined>,
): Promise<DataState> {
  const stamped = stamps.digestOf(path);
  if (stamped && stamped !== p.digest) {
    const sig = (early && (await early)?.sig) ?? (await signature(ctx, path, p));
    if (sig && stamps.isClean(path, stamped, sig, abs(ctx.root, path))) {
      let version: Pointer | undefined;
      for await (const c of candidates())
        if (c.digest === stamped) {
          version = c;
          break;
        }
      version ??= fromStamp(stamps, path, p, stamped);
      if (await isCached(ctx, version).catch(() => false)) return { state: 'stale', version, evidence: 'stamp' };
      return { state: 'modified' }; // the bytes exist nowhere else: never replaced
    }
  }
  const cmp = await compareWorkspace(ctx, stat, path, p, stamps, early);
  if (cmp.workspace === 'clean' || cmp.workspace === 'deleted') return { state: cmp.workspace, comparison: cmp };
  if (stamped === p.digest) return { state: 'modified', comparison: cmp };
  const seen = new Set([p.digest]);
  for await (const v of candidates()) {
    if (seen.has(v.digest) || v.type !== p.type) continue;
    seen.add(v.digest);
    if (await holds(ctx, cmp, v)) return { state: 'stale', version: v, evidence: 'content', comparison: cmp };
  }
  return { state: cmp.workspace, comparison: cmp };
}

/** The stamped version as a pointer, when no candidate names it (a file's size is in the stamp's blob list). */
function fromStamp(stamps: Stamps, path: string, p: Pointer, digest: string): Pointer {
  if (p.type === 'dir') return { ...p, digest };
  const size = Number(stamps.blobs(path)?.[0]?.split('@')[1] ?? -1);
  return { ...p, digest, size };
}

/** The work tree's stat signature for `path`, as the stamps record it. */
async function signature(ctx: RepoContext, path: string, p: Pointer): Promise<string | undefined> {
  if (p.type === 'dir') {
    const s = await findSignatureAsync(abs(ctx.root, path));
    if (s) return s.sig;
  }
  const scanned = scanPath(ctx.root, path);
  if (scanned.kind === 'file') return statSignature([{ path: '', stat: scanned.stat }]).sig;
  if (scanned.kind === 'dir') return statSignature(scanned.scan.files).sig;
  return undefined;
}

/** The compared work-tree state is exactly version `v` (and its bytes are all in the cache). */
async function holds(ctx: RepoContext, cmp: Comparison, v: Pointer): Promise<boolean> {
  const s = cmp.state;
  if (v.type === 'file') return s.kind === 'file' && s.file.digest === v.digest && s.file.mode === (v.exec ? 0o755 : 0o644) && (await isCached(ctx, v));
  if (s.kind !== 'dir' || s.files.length !== v.files) return false;
  const m = await loadDirManifest(ctx.cache, v).catch(() => undefined);
  if (!m || diffFiles(m.files, s.files).length) return false;
  return isCached(ctx, v);
}
