import { compareWorkspace, diffFiles, diffLinks, isCached, type Comparison } from './compare.js';
import { loadDirManifest } from './load.js';
import { scanPath, type WorkState } from './workspace.js';
import type { StatCache } from '../hashing/stat-cache.js';
import { findSignatureAsync, statSignature, type Signature, type Stamps } from '../hashing/stamps.js';
import type { Pointer } from '../formats/pointer.js';
import type { RepoContext } from '../repo/context.js';
import { abs } from '../repo/paths.js';
import type { Journal } from './journal.js';

/**
 * What the work tree holds for an artifact, by the one rule (every entry point asks this:
 * `mk status`, `mk checkout`, `mk pull`, every hook, the merge driver):
 * - `clean`: the data is what its pointer records;
 * - `stale`: the data is exactly another version `version`, one mk placed or recorded, and the
 *   user has not changed it since: git moved the pointer without the data (reset, cherry-pick,
 *   stash, checkout of a pointer file...). It follows its pointer; nothing of the user's is lost
 *   (the version's bytes are in the cache);
 * - `interrupted`: mk was placing a version here when it was stopped (the journal says so) and
 *   every file is one of the versions involved: mk's own half-placed data, which follows its
 *   pointer (the placement is finished);
 * - `partial`: a folder restored in part (`mk pull -- <path inside>`), unchanged since;
 * - `modified`: the user's data (changed since mk last placed or recorded it): kept, reported,
 *   recorded by the next commit;
 * - `deleted`: no data; `unknown`: cannot tell (the pointer's file list is not in the cache).
 */
export interface DataState {
  state: 'clean' | 'stale' | 'interrupted' | 'partial' | 'modified' | 'deleted' | 'unknown';
  /** For `stale`: the version the data holds. */
  version?: Pointer;
  /** How the state was known: mk's stamp (stat data unchanged since mk placed or recorded it), the bytes themselves, or the journal. */
  evidence?: 'stamp' | 'content' | 'journal';
  comparison?: Comparison;
  /**
   * The versions whose files mk placed or recorded here (the pointer's, the stamped one, those
   * of an interrupted placement, a stale version): a work-tree file that is one of them at its
   * own path is mk's; any other file is the user's. Placement decides file by file with it.
   */
  owned: Pointer[];
}

/** A version known only by its digest (a folder's manifest, or a file blob of unknown size), shaped as `like`. */
function versionOf(like: Pointer, digest: string, type: 'file' | 'dir' = like.type, size = like.size): Pointer {
  const v: Pointer = { ...like, digest, type, size };
  delete v.files; // unknown: `like`'s count is another version's
  return v;
}

/**
 * Judges the data of `path` against its pointer `p`. The evidence, strongest first:
 * 1. The journal: a placement of `path` was interrupted. Files of the versions it involved,
 *    each at its own path, are mk's; the placement is finished by whoever places next.
 * 2. The stamp (`.git/mk/stamps.json`): "with exactly this stat data it held version D",
 *    written only when mk placed the data (checkout), recorded it (add) or hashed it clean.
 *    Stat data unchanged since (inode, size, mtime, ctime of every file): the data is D
 *    untouched; D ≠ p means stale. A stamp whose stat data changed means the user changed
 *    the data after mk vouched for it: theirs, whatever it now holds.
 * 3. Without a stamp for p: the data's bytes (hashed through the stat cache) are exactly one
 *    of `candidates` (versions the work tree held before git moved the pointer: the previous
 *    HEAD's, HEAD's...), every file and mode, nothing more or less, and that version is in
 *    the cache. Anything else is the user's.
 * `candidates` yields the strongest evidence first and is read only as far as needed (each
 * step may read history).
 */
export async function judge(
  ctx: RepoContext,
  stat: StatCache,
  stamps: Stamps,
  journal: Journal | undefined,
  path: string,
  p: Pointer,
  candidates: () => AsyncIterable<Pointer>,
  early?: Promise<Signature | undefined>,
): Promise<DataState> {
  const placing = journal?.get(path);
  if (placing) return judgeInterrupted(ctx, stat, path, p, [...placing.from, placing.to]);
  const stamped = stamps.digestOf(path);
  const stampVersion = stamped && stamped !== p.digest ? fromStamp(stamps, path, p, stamped) : undefined;
  if (stampVersion) {
    const sig = (early && (await early)?.sig) ?? (await signature(ctx, path, p));
    if (sig && stamps.isClean(path, stamped!, sig, abs(ctx.root, path))) {
      let version: Pointer | undefined;
      for await (const c of candidates())
        if (c.digest === stamped) {
          version = c;
          break;
        }
      version ??= stampVersion;
      if (await isCached(ctx, version).catch(() => false)) return { state: 'stale', version, evidence: 'stamp', owned: [version, p] };
      return { state: 'modified', owned: [p] }; // the bytes exist nowhere else: never replaced
    }
  }
  const owned = stampVersion ? [p, stampVersion] : [p];
  const cmp = await compareWorkspace(ctx, stat, path, p, stamps, early);
  if (cmp.workspace === 'clean') return { state: cmp.partial ? 'partial' : 'clean', comparison: cmp, owned };
  if (cmp.workspace === 'deleted') return { state: 'deleted', comparison: cmp, owned };
  if (stamped === p.digest) return { state: 'modified', comparison: cmp, owned };
  const seen = new Set([p.digest]);
  // The version mk last placed or recorded here (a stamp without a signature names it too) is evidence as strong as history's.
  const all = async function* () {
    yield* candidates();
    if (stampVersion) yield stampVersion;
  };
  for await (const v of all()) {
    if (seen.has(v.digest) || v.type !== p.type) continue;
    seen.add(v.digest);
    if (await holds(ctx, cmp.state, v)) return { state: 'stale', version: v, evidence: 'content', comparison: cmp, owned: [v, p] };
  }
  return { state: cmp.workspace, comparison: cmp, owned };
}

/**
 * A placement of `path` that was interrupted: every file is one of `digests`' at its own path
 * (or a file mk was about to write is not there yet), so the data is mk's, half-placed; a
 * file that is none of them is the user's (changed after the crash).
 */
async function judgeInterrupted(ctx: RepoContext, stat: StatCache, path: string, p: Pointer, digests: string[]): Promise<DataState> {
  const cmp = await compareWorkspace(ctx, stat, path, p);
  const versions: Pointer[] = [];
  for (const d of new Set(digests)) {
    if (d === p.digest) continue;
    // The journal does not say which kind each version was: a folder's manifest is in the cache, a file's blob is not a manifest.
    const asDir = versionOf(p, d, 'dir');
    versions.push(
      (await loadDirManifest(ctx.cache, asDir)
        .then(() => true)
        .catch(() => false))
        ? asDir
        : versionOf(p, d, 'file', -1),
    );
  }
  const owned = [p, ...versions];
  if (cmp.workspace === 'clean' || cmp.workspace === 'deleted') return { state: cmp.workspace, comparison: cmp, owned, evidence: 'journal' };
  const mine = await ownedFiles(ctx, owned);
  const files = workFiles(cmp.state, p.type);
  if (!files) return { state: 'modified', comparison: cmp, owned };
  const all = files.every((f) => mine.get(f.path)?.some((v) => v.digest === f.digest && (v.mode === undefined || v.mode === f.mode)));
  return { state: all ? 'interrupted' : 'modified', evidence: 'journal', comparison: cmp, owned };
}

/** The work tree's files as (path, digest, mode), '' for a single file; undefined when it holds something else than `type` allows. */
function workFiles(s: WorkState, type: 'file' | 'dir'): Array<{ path: string; digest: string; mode: number }> | undefined {
  if (s.kind === 'dir' && type === 'dir') return [...s.files, ...s.links.map((l) => ({ path: l.path, digest: `link:${l.target}`, mode: 0 }))];
  if (s.kind === 'file') return [{ path: '', digest: s.file.digest, mode: s.file.mode }];
  return undefined;
}

/**
 * Per path inside the artifact ('' for a single file), the files the owned versions have
 * there: a work-tree file equal to one of them is mk's. A version whose file list is not in
 * the cache owns nothing (then its files count as the user's: kept, never overwritten).
 */
export async function ownedFiles(ctx: RepoContext, owned: Pointer[]): Promise<Map<string, Array<{ digest: string; mode?: number }>>> {
  const out = new Map<string, Array<{ digest: string; mode?: number }>>();
  const add = (rel: string, digest: string, mode?: number) => (out.get(rel) ?? out.set(rel, []).get(rel)!).push({ digest, mode });
  for (const v of owned) {
    if (v.type === 'file') add('', v.digest, v.size < 0 ? undefined : v.exec ? 0o755 : 0o644);
    else {
      const m = await loadDirManifest(ctx.cache, v).catch(() => undefined);
      for (const f of m?.files ?? []) add(f.path, f.digest, f.mode);
      for (const l of m?.links ?? []) add(l.path, `link:${l.target}`, 0);
    }
  }
  return out;
}

/** The stamped version as a pointer, when no candidate names it (a file's size is in the stamp's blob list). */
function fromStamp(stamps: Stamps, path: string, p: Pointer, digest: string): Pointer {
  const blobs = stamps.blobs(path);
  const first = blobs?.[0];
  if (first?.endsWith('@-1') || (!first && p.type === 'dir')) return versionOf(p, digest, 'dir');
  return versionOf(p, digest, 'file', Number(first?.split('@')[1] ?? -1));
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
async function holds(ctx: RepoContext, s: WorkState, v: Pointer): Promise<boolean> {
  if (v.type === 'file') return s.kind === 'file' && s.file.digest === v.digest && s.file.mode === (v.exec ? 0o755 : 0o644) && (await isCached(ctx, v));
  if (s.kind !== 'dir' || (v.files !== undefined && s.files.length !== v.files)) return false;
  const m = await loadDirManifest(ctx.cache, v).catch(() => undefined);
  if (!m || diffFiles(m.files, s.files).length || diffLinks(m.links ?? [], s.links).length) return false;
  return isCached(ctx, v);
}
