import { lstatSync, mkdirSync, renameSync, rmdirSync, rmSync, symlinkSync, type BigIntStats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { MediaType } from '../content/media-types.js';
import type { DirManifest, FileEntry, LinkEntry } from '../formats/dir-manifest.js';
import { loadDirChange, loadDirManifest } from './load.js';
import { judge, ownedFiles, type DataState } from './judge.js';
import { Session } from './session.js';
import { extractPack, placeBlob, type PackWant } from './materialize.js';
import { workState, type WorkState } from './workspace.js';
import { checkPointerSize } from './pointer-size.js';
import { MkError, UnsavedChangesError } from '../errors/index.js';
import { invariant } from '../errors/invariant.js';
import { StatCache } from '../hashing/stat-cache.js';
import { findSignatureAsync, Stamps, type Signature } from '../hashing/stamps.js';
import { digestLookup, neededBlobs } from './compare.js';
import { filteredIndexPointers, pointersAtCommit, pointerTextInWorkTree, workspacePointers, readWorkspacePointer, type TrackedPointer } from '../git/pointers.js';
import { git, resolveCommit } from '../git/run.js';
import type { Pointer } from '../formats/pointer.js';
import type { LinkType } from '../repo/config.js';
import { RepoContext } from '../repo/context.js';
import { abs, assertNoSymlinkedParents, checkStoredPath, repoRelative } from '../repo/paths.js';
import { pruneEmptyParents, removeStaleTemps, tmpName, writeFileAtomic } from '../util/fs.js';
import { checkIgnorable, folderMarkerOf, hasFolderMarker, ignoreFileOf, ignores, keepOutOfGit } from '../repo/gitignore.js';
import { indexTexts, refreshIndex, stagePointerTexts } from '../git/index-update.js';
import { blobId } from '../git/blob-id.js';
import { recordPointerState } from '../git/pointer-state.js';
import { forgetPartial } from './partial.js';
import { readWithheld, withheldFor, type Withheld } from '../remote/access.js';
import { routeOf } from '../repo/routes.js';

export interface CheckoutOptions {
  cwd?: string;
  /** Restore the pointers of this revision too (as `git checkout <rev> -- paths`). */
  rev?: string;
  paths?: string[];
  /** Overwrite unsaved changes (the same as `mode: 'discard'`). */
  force?: boolean;
  /**
   * What happens to the user's data (files no version mk placed or recorded holds) that the
   * placement would change: `refuse` (default: nothing is written, EUNSAVED names them),
   * `carry` (as `git switch` does with local changes: a changed file the new version does not
   * change stays, and the artifact is left as it is, reported in `kept`, only where the new
   * version changes a file the user changed too), `discard` (overwritten, as `git reset --hard`).
   */
  mode?: 'refuse' | 'carry' | 'discard';
  /**
   * Restore folders restored in part (`mk pull -- <path inside>`) whole (`mk pull` does, once it
   * has fetched their data); otherwise they are left as they are, as a sparse checkout is.
   */
  wholePartial?: boolean;
  link?: LinkType;
  /**
   * What the work tree is supposed to hold now, per data path (default: the pointer files
   * of the work tree before this checkout). Hooks pass the previous HEAD's pointers.
   */
  baseline?: Map<string, Pointer | undefined>;
  /** Stage restored pointers (default true when `rev` is given). */
  stage?: boolean;
  /**
   * Place the data of these pointers (written nowhere) instead of the work tree's: the merge
   * driver puts a folder's merged files in place while the pointer itself is in conflict.
   */
  pointers?: TrackedPointer[];
}

/** What the engine's own callers (reconcile, the stash) pass besides `mk checkout`'s options. */
export interface PlaceOptions extends CheckoutOptions {
  /** Judgements already made (by reconcile, with the evidence of history): not made again. */
  judged?: Map<string, DataState>;
  /**
   * The data placed is the user's, not the pointers' (`git stash pop` bringing back stashed
   * edits): it is not stamped, so nothing takes it for mk's own.
   */
  usersData?: boolean;
}

export interface CheckoutArtifact {
  path: string;
  /**
   * `kept`: with `mode: 'carry'`, left as it was (the user changed files the new version changes too: see `conflicts`).
   * `withheld`: routed to a remote this clone may not read (remotes by path); its pointer stays, its data is absent.
   */
  action: 'restored' | 'unchanged' | 'not-cached' | 'kept' | 'withheld';
  written: number;
  removed: number;
  /** The user's changes left in place (`mode: 'carry'`): files (repository paths) the new version does not change. */
  carried?: string[];
  /** `kept`: the user's files the new version changes too. */
  conflicts?: string[];
}

export interface CheckoutResult {
  rev?: string;
  artifacts: CheckoutArtifact[];
  /** Data this clone may not read (remotes by path), left out; everything else was placed. */
  withheld?: Withheld[];
}

type Mode = NonNullable<CheckoutOptions['mode']>;

/** What planning found about the user's data. */
interface Issues {
  /** The user's files a `refuse` placement would change. */
  unsaved: string[];
}

interface Plan {
  t: TrackedPointer;
  manifest?: DirManifest;
  /** Files (relative to the artifact; '' for a single file) to write. */
  write: FileEntry[];
  /** Work-tree files (relative to the artifact) to delete. */
  remove: string[];
  /** The whole path must be cleared first (type changed, e.g. file → dir). */
  clear: boolean;
  /** Planned from a stamp (no scan): the folder is re-stamped after it is written. */
  stamped?: boolean;
  /** The user's files left in place (repository paths): the data will not be exactly the version, so it is not stamped. */
  carried?: string[];
  /** Versions the data may hold files of before the placement (noted in the journal). */
  from: string[];
  /** A folder restored in part, left so. */
  partial?: boolean;
  /** Symbolic links (relative to the folder) to create, after the files are written. */
  links?: LinkEntry[];
}

/** A link as an entry of the same shape as a file (its "digest" is its target text), so one rule judges both. */
const LINK = 'link:';
const linkEntry = (l: LinkEntry): Entry => ({ digest: LINK + l.target, mode: 0 });

/** Brings the work tree's data in line with the pointers (of the work tree, or of `rev`). */
export async function checkout(opts: PlaceOptions = {}): Promise<CheckoutResult> {
  const ctx = RepoContext.open(opts.cwd);
  const cwd = opts.cwd ?? process.cwd();
  const filters = opts.paths?.map((p) => repoRelative(ctx.root, p, cwd));
  const commit = opts.rev ? await resolveCommit(ctx.root, opts.rev) : undefined;
  const mode: Mode = opts.force ? 'discard' : (opts.mode ?? 'refuse');
  const session = await Session.writer(ctx);
  const { stat, stamps, journal } = session;
  try {
    const targets = opts.pointers ?? (commit ? await pointersAtCommit(ctx.commonDir, commit, filters) : await workspacePointers(ctx.root, filters));
    if (filters?.length && targets.length === 0) throw new MkError('ENOTTRACKED', `no tracked artifact matches ${filters.join(', ')}${commit ? ` at ${opts.rev}` : ''}`);
    const plans: Plan[] = [];
    const issues: Issues = { unsaved: [] };
    const notCached: CheckoutArtifact[] = [];
    const kept: CheckoutArtifact[] = [];
    // Data a fetch found this clone may not read (remotes by path): withheld, not an error.
    const record = readWithheld(ctx.stateDir);
    const withheld: Withheld[] = [];
    // Folders stamped clean (status, add, an earlier checkout): their scans start now, and if
    // the stamp holds, only the files that differ between the two versions are touched,
    // without reading the folder.
    const bases = new Map<string, Pointer | undefined>();
    const early = new Map<string, Promise<Signature | undefined>>();
    // A filtered file's pointer is in the index (its path in the work tree holds the bytes).
    const filteredPaths = targets.filter((t) => t.filtered).map((t) => t.path);
    const indexed = filteredPaths.length ? new Map((await filteredIndexPointers(ctx.root)).map((t) => [t.path, t.pointer])) : undefined;
    // Filtered files Git itself wrote (smudged from mk's verified bytes) or cleaned, and that have not changed since by Git's stat data.
    const gitClean = filteredPaths.length ? await statCleanInIndex(ctx.root, filteredPaths) : new Set<string>();
    for (const t of targets) {
      const base = opts.baseline ? opts.baseline.get(t.path) : t.filtered ? indexed?.get(t.path) : readWorkspacePointer(ctx.root, t.pointerPath);
      bases.set(t.path, base);
      if (t.filtered) continue;
      if (t.pointer.type === 'dir' && stamps.signed(t.path)) early.set(t.path, findSignatureAsync(abs(ctx.root, t.path)));
    }
    // The evidence of history (read only when a stamp cannot answer): the versions the work tree may hold.
    const history = lazyHistory(ctx);
    for (const t of targets) {
      checkStoredPath(t.path);
      assertNoSymlinkedParents(ctx.root, t.path);
      if (commit) checkIgnorable(ctx.root, t.path);
      const base = bases.get(t.path);
      if (t.filtered && gitClean.has(t.path) && indexed?.get(t.path)?.digest === t.pointer.digest) {
        const st = lstatSync(abs(ctx.root, t.path), { throwIfNoEntry: false });
        if (st?.isFile() && st.size === t.pointer.size) {
          // Git holds it as the index pointer says (no hashing); the stat cache learns it for the filter's next clean.
          stat.record(t.path, st, t.pointer.digest);
          plans.push({ t, write: [], remove: [], clear: false, from: [] });
          continue;
        }
      }
      // The one rule (judge.ts): whose is the data there now? A filtered file is Git's: the index pointer is its version.
      let judged: DataState | undefined;
      let owned: Pointer[];
      if (t.filtered) owned = base ? [base, t.pointer] : [t.pointer];
      else {
        judged = opts.judged?.get(t.path) ?? (await judge(ctx, stat, stamps, journal, t.path, t.pointer, () => history.candidates(t.path, base), early.get(t.path)));
        owned = base && !judged.owned.some((v) => v.digest === base.digest) ? [...judged.owned, base] : judged.owned;
      }
      if (judged?.state === 'partial' && !opts.wholePartial) {
        plans.push({ t, write: [], remove: [], clear: false, from: [], partial: true });
        continue;
      }
      const plan =
        (judged?.state !== 'modified' ? await planFromStamp(ctx, stamps, t, early.get(t.path)) : undefined) ?? (await planArtifact(ctx, stat, t, owned, mode, issues, judged?.comparison?.state));
      const w = plan === 'not-cached' && record.size ? withheldFor(record, t.path, routeOf(ctx.config, t)) : undefined;
      if (w) withheld.push(w);
      else if (plan === 'not-cached') notCached.push({ path: t.path, action: 'not-cached', written: 0, removed: 0 });
      else if ('action' in plan) kept.push(plan);
      else plans.push(plan);
    }
    if (issues.unsaved.length) throw new UnsavedChangesError(issues.unsaved);
    if (commit && notCached.length) {
      // All or nothing for another revision: its pointers are not written unless its data can be.
      throw new MkError('ENOTCACHED', `the data of ${notCached.map((a) => a.path).join(', ')} at ${opts.rev} is not in the local cache; nothing was changed`, {
        hint: `run 'mk pull ${opts.rev}' (or 'mk fetch ${opts.rev}' then this checkout again)`,
        data: { artifacts: notCached },
      });
    }
    const markLater: string[] = [];
    if (commit) {
      // The revision's pointers (and .gitignore lines) are staged, also when an earlier run,
      // killed before it staged them, already wrote them to the work tree.
      const staged: string[] = [];
      const check: string[] = [];
      // Filtered files: the revision's pointer goes straight into the index (no .mk.yaml, no .gitignore line).
      if (opts.stage !== false)
        await stagePointerTexts(
          ctx.root,
          targets.filter((t) => t.filtered).map((t) => ({ path: t.path, text: t.text, exec: t.pointer.exec })),
        );
      for (const t of targets) {
        if (t.filtered) continue;
        const cur = readWorkspacePointer(ctx.root, t.pointerPath);
        if (cur === undefined || cur.digest !== t.pointer.digest || cur.kind !== t.pointer.kind || cur.description !== t.pointer.description)
          await writeFileAtomic(abs(ctx.root, t.pointerPath), t.text);
        staged.push(t.pointerPath);
        removeStaleTemps(dirname(abs(ctx.root, t.path)), '.gitignore');
        // A folder whose place holds a file now (the version placed below replaces it): its marker goes in once the folder is there.
        if (t.pointer.type === 'dir' && lstatSync(abs(ctx.root, t.path), { throwIfNoEntry: false }) && !isDir(abs(ctx.root, t.path))) {
          markLater.push(t.path);
          continue;
        }
        const changed = await keepOutOfGit(ctx.root, t.path, t.pointer.type === 'dir');
        if (t.pointer.type === 'dir' && hasFolderMarker(ctx.root, t.path)) staged.push(folderMarkerOf(t.path));
        else if (changed) staged.push(changed);
        else check.push(t.path);
      }
      if (opts.stage !== false) {
        const inIndex = await indexTexts(
          ctx.root,
          check.map((p) => ignoreFileOf(p).file),
        );
        for (const p of check) if (!ignores(inIndex.get(ignoreFileOf(p).file), ignoreFileOf(p).name)) staged.push(ignoreFileOf(p).file);
        if (staged.length) await git(ctx.root, ['add', '-f', '--', ...new Set(staged)]);
      }
    }
    const link = opts.link ?? ctx.config.link;
    const artifacts: CheckoutArtifact[] = [];
    // The journal first: a placement killed half-way is finished by the next one, never taken for the user's edits.
    journal.begin(plans.filter(changes).map((p) => ({ path: p.t.path, from: p.from, to: p.t.pointer.digest, type: p.t.pointer.type })));
    for (const plan of plans) {
      const done = await execute(ctx, stat, plan, link);
      if (plan.carried?.length) done.carried = plan.carried;
      artifacts.push(done);
      // The stamp is mk's word on what the data holds: after a write it says the new version (or
      // nothing: a folder that keeps some of the user's files is not exactly any version).
      if (plan.carried?.length || opts.usersData) stamps.forget(plan.t.path);
      else if (plan.stamped || (done.action === 'restored' && plan.t.pointer.type === 'dir')) await restamp(ctx, stamps, plan);
      else if (done.action === 'restored') stamps.versionOnly(plan.t.path, plan.t.pointer.digest, neededBlobs(plan.t.pointer, plan.manifest));
      if (changes(plan)) {
        session.save();
        journal.done([plan.t.path]);
      }
    }
    artifacts.push(...kept);
    if (markLater.length) {
      const staged: string[] = [];
      for (const p of markLater) {
        const changed = await keepOutOfGit(ctx.root, p, true);
        if (hasFolderMarker(ctx.root, p)) staged.push(folderMarkerOf(p));
        else if (changed) staged.push(changed);
      }
      if (opts.stage !== false && staged.length) await git(ctx.root, ['add', '-f', '--', ...staged]);
    }
    // A note of an interrupted placement whose data turned out to be in place already.
    journal.done(plans.filter((p) => !changes(p)).map((p) => p.t.path));
    // Folders restored in part (mk pull -- <path inside>) are whole now.
    forgetPartial(
      ctx.stateDir,
      plans.filter((p) => p.t.pointer.type === 'dir' && !p.partial).map((p) => p.t.path),
    );
    const rewritten = plans.filter((p) => p.t.filtered && p.write.length).map((p) => p.t.path);
    if (rewritten.length) {
      // Git's index still has the stat data (and size) of what was there before, so Git would call
      // the restored files modified: they are added again through the filter, which finds them in
      // the stat cache (no hashing) and gives the same pointer. Without the filter set up, a
      // refresh is all that is safe (adding would store the bytes in Git).
      // Large files: mk wrote exactly the pointer's bytes, so their stat data goes straight into
      // the index (recordIndexStat) and git does not pipe them through the filter again.
      stat.save();
      const texts = new Map(plans.filter((p) => p.t.filtered).map((p) => [p.t.path, p.t.text]));
      const settled = new Set(await recordWrittenFiles(ctx.root, rewritten, texts));
      const rest = rewritten.filter((p) => !settled.has(p));
      const { configuredFilter } = await import('../git/filter-config.js');
      if (!rest.length) {
        /* every one recorded */
      } else if (await configuredFilter(ctx.root)) await git(ctx.root, ['add', '--', ...rest]);
      else await refreshIndex(ctx.root);
    }
    artifacts.push(...notCached, ...withheld.map((w) => ({ path: w.path, action: 'withheld' as const, written: 0, removed: 0 })));
    if (notCached.length) {
      stat.save();
      throw new MkError('ENOTCACHED', `data not in the local cache for ${notCached.map((a) => a.path).join(', ')}`, {
        hint: "run 'mk pull' (or 'mk fetch' then 'mk checkout') to download it from a remote",
        data: { artifacts },
      });
    }
    await recordPointerState(ctx.root, ctx.stateDir);
    return { rev: commit, artifacts, ...(withheld.length ? { withheld } : {}) };
  } finally {
    session.close();
  }
}

/** Whether a plan touches the work tree (and so is noted in the journal first). */
function changes(p: Plan): boolean {
  return p.clear || p.write.length > 0 || p.remove.length > 0 || (p.links?.length ?? 0) > 0;
}

/**
 * The versions the work tree may hold for a data path, strongest evidence first, read lazily:
 * the caller's baseline (the commit git moved from), HEAD's, where HEAD was before (HEAD@{1}),
 * ORIG_HEAD (reset, merge, rebase), and where it was before that (HEAD@{2}: a command rerun after a kill moved HEAD@{1} to where HEAD is). The same evidence the hooks weigh.
 */
export function lazyHistory(ctx: RepoContext): { candidates: (path: string, base?: Pointer) => AsyncIterable<Pointer> } {
  let all: Promise<TrackedPointer[]> | undefined;
  const at = async (rev: string): Promise<TrackedPointer[]> => {
    const c = (await git(ctx.root, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { okCodes: [1, 128] })).trim();
    return c ? pointersAtCommit(ctx.commonDir, c).catch(() => []) : [];
  };
  return {
    async *candidates(path: string, base?: Pointer) {
      if (base) yield base;
      all ??= Promise.all(['HEAD', 'HEAD@{1}', 'ORIG_HEAD', 'HEAD@{2}'].map(at)).then((x) => x.flat());
      for (const h of await all) if (h.path === path && !h.filtered) yield h.pointer;
    },
  };
}

/**
 * The plan for a folder whose stamp proves it holds exactly one known version (the one it
 * should hold before this checkout, or the target itself): write what differs, remove what
 * the target lacks. Undefined when the stamp does not hold (then the folder is scanned).
 */
async function planFromStamp(ctx: RepoContext, stamps: Stamps, t: TrackedPointer, early: Promise<Signature | undefined> | undefined): Promise<Plan | undefined> {
  if (!early) return undefined;
  removeStaleTemps(dirname(abs(ctx.root, t.path)), basename(t.path)); // as planArtifact does
  const sig = await early;
  const stamped = stamps.digestOf(t.path);
  if (!sig?.plain || sig.temps || !stamped || !stamps.isClean(t.path, stamped, sig.sig, abs(ctx.root, t.path))) return undefined;
  if (stamped === t.pointer.digest) {
    const manifest = await loadDirManifest(ctx.cache, t.pointer).catch(() => undefined);
    if (!manifest) return undefined;
    return { t, manifest, write: [], remove: [], clear: false, stamped: true, from: [] };
  }
  // Only the file lists that differ between the two versions are read.
  let change;
  try {
    change = loadDirChange(ctx.cache, stamped, t.pointer.digest);
  } catch {
    return undefined;
  }
  const { from: have, to: manifest } = change;
  if (!manifest.layers.every((l) => ctx.cache.existsSync({ mediaType: MediaType.octet, ...l }))) return undefined;
  const old = new Map(have.files.map((f) => [f.path, f]));
  const write = manifest.files.filter((f) => {
    const o = old.get(f.path);
    return !o || o.digest !== f.digest || o.mode !== f.mode;
  });
  const want = new Set(manifest.files.map((f) => f.path));
  const remove = have.files.filter((f) => !want.has(f.path)).map((f) => f.path);
  // A file of one version where the other has a folder (or the reverse): left to the full scan.
  if (write.some((f) => !old.has(f.path) && hasUnder(have.files, f.path)) || remove.some((p) => hasUnder(manifest.files, p))) return undefined;
  // Links (the stamp proves the folder holds none now): the version's, unless one would go where a file of the old version stays.
  const links = manifest.links ?? [];
  if ((have.links ?? []).length || links.some((l) => old.has(l.path) && !remove.includes(l.path))) return undefined;
  return { t, manifest, write, remove, clear: false, stamped: true, from: [stamped], links };
}

/** Whether `files` (sorted by path) holds a file under folder `dir`. */
function hasUnder(files: FileEntry[], dir: string): boolean {
  const pre = dir + '/';
  let lo = 0;
  let hi = files.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (files[mid]!.path < pre) lo = mid + 1;
    else hi = mid;
  }
  return lo < files.length && files[lo]!.path.startsWith(pre);
}

/** After a stamped plan ran: the folder now holds the target version; stamp it so (files just written are re-hashed by the next check). */
async function restamp(ctx: RepoContext, stamps: Stamps, plan: Plan): Promise<void> {
  const sig = await findSignatureAsync(abs(ctx.root, plan.t.path));
  if (sig && plan.manifest) stamps.record(plan.t.path, plan.t.pointer.digest, sig, neededBlobs(plan.t.pointer, plan.manifest), digestLookup(plan.manifest));
  else stamps.forget(plan.t.path);
}

/**
 * The plan for one artifact from what its path holds now (scanned, hashed through the stat
 * cache), file by file: a file one of the `owned` versions has at that path is mk's and
 * follows the pointer; any other file is the user's, and `mode` says what happens to it (see
 * CheckoutOptions.mode). A `carry` placement that would change a file the user changed too
 * returns the artifact as `kept`: it is left entirely as it is.
 */
async function planArtifact(ctx: RepoContext, stat: StatCache, t: TrackedPointer, owned: Pointer[], mode: Mode, issues: Issues, known?: WorkState): Promise<Plan | CheckoutArtifact | 'not-cached'> {
  const p = t.pointer;
  await checkPointerSize(ctx.cache, t);
  // Temporary files of a checkout or add that was killed (next to the artifact, or inside it):
  // not data; we hold the lock, so their writers are gone.
  removeStaleTemps(dirname(abs(ctx.root, t.path)), basename(t.path));
  let state: WorkState = known && known.kind !== 'unread' ? known : await workState(ctx.root, stat, t.path);
  // A filtered file that holds pointer text (Git checked it out while its data was missing) holds no data: it is replaced.
  if (t.filtered && state.kind === 'file' && state.file.size <= 4096 && pointerTextInWorkTree(ctx.root, t.path)) state = { kind: 'missing' };
  if (state.kind === 'dir') for (const d of new Set((state.temps ?? []).map((f) => dirname(abs(abs(ctx.root, t.path), f))))) removeStaleTemps(d);
  const from = [...new Set(owned.map((v) => v.digest))].filter((d) => d !== p.digest);
  const own = await ownership(ctx, owned, p);
  const conflicts: string[] = [];
  const carried: string[] = [];
  /** A file of the user's at `rel` that the placement would set to `target` (absent: remove): may it be written? */
  const theirs = (rel: string, target: Entry | undefined): boolean => {
    if (mode === 'discard') return true;
    if (mode === 'carry' && own.unchanged(rel, target)) {
      carried.push(rel ? `${t.path}/${rel}` : t.path);
      return false;
    }
    conflicts.push(rel ? `${t.path}/${rel}` : t.path);
    return true;
  };
  const finish = (plan: Omit<Plan, 'from' | 'carried'>): Plan | CheckoutArtifact => {
    conflicts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (conflicts.length && mode === 'refuse') issues.unsaved.push(...conflicts);
    if (conflicts.length && mode === 'carry') return { path: t.path, action: 'kept', written: 0, removed: 0, conflicts };
    return { ...plan, from, carried };
  };
  if (p.type === 'file') {
    if (!ctx.cache.existsSync({ mediaType: MediaType.octet, digest: p.digest, size: p.size })) {
      if (state.kind === 'file' && state.file.digest === p.digest) return finish({ t, write: [], remove: [], clear: false });
      return 'not-cached';
    }
    const entry: FileEntry = { path: '', mode: p.exec ? 0o755 : 0o644, size: p.size, digest: p.digest, layer: 0 };
    if (state.kind === 'missing') return finish({ t, write: [entry], remove: [], clear: false });
    if (state.kind === 'file') {
      if (state.file.digest === p.digest && state.file.mode === entry.mode) return finish({ t, write: [], remove: [], clear: false });
      if (state.file.digest !== p.digest && !own.mine('', state.file.digest) && !theirs('', entry)) return finish({ t, write: [], remove: [], clear: false });
      return finish({ t, write: [entry], remove: [], clear: false });
    }
    // A folder (or something else) where the file goes: every file in it must be mk's.
    if (state.kind === 'dir') {
      const user = state.files.find((f) => !own.mine(f.path, f.digest));
      if (user && !theirs(user.path, undefined)) return finish({ t, write: [], remove: [], clear: false });
    } else if (!theirs('', entry)) return finish({ t, write: [], remove: [], clear: false });
    return finish({ t, write: [entry], remove: [], clear: true });
  }
  const manifest = await loadDirManifest(ctx.cache, p).catch(() => undefined);
  if (!manifest || !manifest.layers.every((l) => ctx.cache.existsSync({ mediaType: MediaType.octet, ...l }))) return 'not-cached';
  if (state.kind === 'missing') return finish({ t, manifest, write: manifest.files, remove: [], clear: false });
  if (state.kind === 'file' || state.kind === 'other') {
    const mine = state.kind === 'file' && own.mine('', state.file.digest);
    if (!mine && !theirs('', undefined)) return finish({ t, manifest, write: [], remove: [], clear: false });
    return finish({ t, manifest, write: manifest.files, remove: [], clear: true });
  }
  invariant(state.kind === 'dir', `work-tree state ${state.kind} for ${t.path}`);
  // Files and links alike: a link's "digest" is its target text.
  type Want = { path: string; digest: string; mode: number; file?: FileEntry; link?: LinkEntry };
  const wanted: Want[] = [
    ...manifest.files.map((f) => ({ path: f.path, digest: f.digest, mode: f.mode, file: f })),
    ...(manifest.links ?? []).map((l) => ({ path: l.path, ...linkEntry(l), link: l })),
  ];
  const want = new Map(wanted.map((f) => [f.path, f]));
  const write: FileEntry[] = [];
  const links: LinkEntry[] = [];
  const remove: string[] = [];
  const present = [...state.files.map((f) => ({ path: f.path, digest: f.digest, mode: f.mode })), ...state.links.map((l) => ({ path: l.path, ...linkEntry(l) }))];
  const have = new Map(present.map((f) => [f.path, f]));
  for (const f of wanted) {
    const w = have.get(f.path);
    if (w && w.digest === f.digest && w.mode === f.mode) continue;
    if (w && w.digest !== f.digest && !own.mine(f.path, w.digest) && !theirs(f.path, f)) continue;
    // A file the user deleted: gone for good only where the new version does not change it (carry), else written.
    if (!w && mode === 'carry' && own.had(f.path) && own.unchanged(f.path, f)) {
      carried.push(`${t.path}/${f.path}`);
      continue;
    }
    if (f.link) links.push(f.link);
    else write.push(f.file!);
  }
  for (const w of present) {
    if (want.has(w.path)) continue;
    if (!own.mine(w.path, w.digest) && !theirs(w.path, undefined)) continue;
    remove.push(w.path);
  }
  // A link of the work tree (or another non-regular entry) where a folder of the manifest
  // must go: writing through a symlinked folder could land outside the repository. It is in
  // the way like any of the user's changes; discarding removes it (never followed).
  const skipped = new Set([...state.skipped, ...state.links.map((l) => l.path)]);
  const blocked = new Set<string>();
  for (const f of [...write, ...links]) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const pre = parts.slice(0, i).join('/');
      if (skipped.has(pre)) {
        blocked.add(pre);
        break;
      }
    }
  }
  for (const b of blocked) {
    if (remove.includes(b) || want.get(b)?.link) continue; // mk's own link going, or replaced by the version's
    if (mode === 'discard') remove.push(b);
    else conflicts.push(`${t.path}/${b}`);
  }
  return finish({ t, manifest, write, remove, clear: false, links });
}

type Entry = { digest: string; mode: number };

/**
 * Which files are mk's: per path inside the artifact ('' for a single file), what each owned
 * version has there. `mine`: the work-tree file is one of them. `unchanged`: every owned
 * version other than the pointer's has exactly `target` there (absent: none has a file), so a
 * change the user made there is not one the placement needs to undo. `had`: some version had a file there.
 */
async function ownership(
  ctx: RepoContext,
  owned: Pointer[],
  p: Pointer,
): Promise<{ mine: (rel: string, digest: string) => boolean; unchanged: (rel: string, target: Entry | undefined) => boolean; had: (rel: string) => boolean }> {
  const versions: Array<Map<string, Entry> | undefined> = [];
  for (const v of owned) {
    if (v.digest === p.digest && v.type === p.type) continue;
    if (v.type === 'file') versions.push(new Map([['', { digest: v.digest, mode: v.exec ? 0o755 : 0o644 }]]));
    else {
      const m = await loadDirManifest(ctx.cache, v).catch(() => undefined);
      versions.push(
        m ? new Map([...m.files.map((f): [string, Entry] => [f.path, { digest: f.digest, mode: f.mode }]), ...(m.links ?? []).map((l): [string, Entry] => [l.path, linkEntry(l)])]) : undefined,
      );
    }
  }
  const files = await ownedFiles(ctx, owned);
  return {
    mine: (rel, digest) => files.get(rel)?.some((v) => v.digest === digest) ?? false,
    // A version whose file list is unknown changes everything (nothing of the user's is carried past
    // it); without any version to compare (the path was not tracked), the user's file is in the way.
    unchanged: (rel, target) => versions.length > 0 && versions.every((m) => m !== undefined && m.get(rel)?.digest === target?.digest),
    had: (rel) => files.has(rel),
  };
}

async function execute(ctx: RepoContext, statCache: StatCache, plan: Plan, link: LinkType): Promise<CheckoutArtifact> {
  // A stamped plan leaves the stat cache alone (loading and saving it would cost more than
  // the write): the new stamp vouches for the folder, and stale entries only cost a re-hash.
  const stat = plan.stamped ? undefined : statCache;
  const { t } = plan;
  const root = abs(ctx.root, t.path);
  if (plan.clear) {
    rmSync(root, { recursive: true, force: true });
    stat?.forgetUnder(t.path);
  }
  if (plan.write.length === 0 && plan.remove.length === 0 && !plan.links?.length) {
    // A tracked folder with no files at all still exists as a folder.
    if (t.pointer.type === 'dir' && !isDir(root)) {
      mkdirSync(root, { recursive: true });
      return { path: t.path, action: 'restored', written: 0, removed: 0 };
    }
    return { path: t.path, action: 'unchanged', written: 0, removed: 0 };
  }
  for (const r of plan.remove) {
    rmSync(abs(root, r), { force: true });
    stat?.forget(`${t.path}/${r}`);
    pruneEmptyParents(root, dirname(abs(root, r)));
  }
  if (t.pointer.type === 'file') {
    const f = plan.write[0]!;
    // A filtered file is a regular file to Git: never a link (Git would record a symlink).
    const placed = await placeBlob(ctx.cache, f.digest, f.size, root, f.mode, t.filtered ? 'copy' : link);
    stat?.record(t.path, placed.stat, f.digest, undefined, true);
    return { path: t.path, action: 'restored', written: 1, removed: 0 };
  }
  const m = plan.manifest!;
  const byLayer = new Map<number, FileEntry[]>();
  for (const f of plan.write) (byLayer.get(f.layer) ?? byLayer.set(f.layer, []).get(f.layer)!).push(f);
  await writeFiles(ctx, stat, t, root, m, byLayer, link);
  for (const l of plan.links ?? []) placeLink(root, l);
  return { path: t.path, action: 'restored', written: plan.write.length + (plan.links?.length ?? 0), removed: plan.remove.length };
}

/**
 * Puts a symbolic link in place as Git does (its target text, never followed): made under a
 * temporary name, then renamed over whatever file or link was there. The target was checked
 * to stay inside the folder when the file list was read (see linkTargetInside).
 */
function placeLink(root: string, l: LinkEntry): void {
  const dest = abs(root, l.path);
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = tmpName(dest);
  symlinkSync(l.target, tmp);
  try {
    if (lstatSync(dest, { throwIfNoEntry: false })?.isDirectory()) rmdirSync(dest); // an empty folder in the way (files under it were removed)
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

async function writeFiles(ctx: RepoContext, stat: StatCache | undefined, t: TrackedPointer, root: string, m: DirManifest, byLayer: Map<number, FileEntry[]>, link: LinkType): Promise<void> {
  for (const [li, files] of byLayer) {
    const layer = m.layers[li]!;
    if (layer.format === 'raw') {
      const f = files[0]!;
      const placed = await placeBlob(ctx.cache, f.digest, f.size, abs(root, f.path), f.mode, link);
      stat?.record(`${t.path}/${f.path}`, placed.stat, f.digest, undefined, true);
      continue;
    }
    const wants = new Map<string, PackWant>();
    for (const f of files) wants.set(`${t.path}/${f.path}`, { dest: abs(root, f.path), mode: f.mode, digest: f.digest, size: f.size });
    await extractPack(ctx.cache, layer, wants, (name, placed) => stat?.record(name, placed.stat, placed.digest, undefined, true), t.path);
  }
}

export function isDir(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The stat data of filtered files mk just wrote, recorded in the index under their staged pointers (see recordIndexStat). */
async function recordWrittenFiles(root: string, paths: string[], texts: Map<string, string>): Promise<string[]> {
  const oids = new Map<string, string>();
  for (const l of (await git(root, ['--literal-pathspecs', 'ls-files', '-s', '-z', '--', ...paths])).split('\0')) {
    const tab = l.indexOf('\t');
    const [, oid, stage] = l.slice(0, tab).split(' ');
    if (tab > 0 && stage === '0') oids.set(l.slice(tab + 1), oid!);
  }
  const entries: Array<{ path: string; oid: string; st: BigIntStats }> = [];
  for (const path of paths) {
    const st = lstatSync(abs(root, path), { bigint: true, throwIfNoEntry: false });
    const oid = oids.get(path);
    const text = texts.get(path);
    // Only under the pointer of the bytes mk wrote (a checkout that does not stage leaves another one there).
    if (st?.isFile() && oid && text !== undefined && oid === blobId(text, oid.length)) entries.push({ path, oid, st });
  }
  const { recordIndexStat } = await import('../git/index-stat.js');
  return recordIndexStat(root, entries);
}

async function statCleanInIndex(root: string, paths: string[]): Promise<Set<string>> {
  const dirty = new Set((await git(root, ['--literal-pathspecs', 'diff-files', '--name-only', '-z', '--', ...paths])).split('\0').filter(Boolean));
  return new Set(paths.filter((p) => !dirty.has(p)));
}
