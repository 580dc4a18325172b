import { lstatSync, mkdirSync, rmSync, type BigIntStats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { MediaType } from '../content/media-types.js';
import type { DirManifest, FileEntry } from '../formats/dir-manifest.js';
import { loadDirChange, loadDirManifest, savedFileDigests } from '../worktree/load.js';
import { extractPack, placeBlob, type PackWant } from '../worktree/materialize.js';
import { workState, type WorkState } from '../worktree/workspace.js';
import { checkPointerSize } from '../worktree/pointer-size.js';
import { MkError, UnsavedChangesError } from '../errors/index.js';
import { invariant } from '../errors/invariant.js';
import { StatCache } from '../hashing/stat-cache.js';
import { findSignatureAsync, Stamps, type Signature } from '../hashing/stamps.js';
import { digestLookup, neededBlobs } from '../worktree/compare.js';
import { filteredIndexPointers, pointersAtCommit, pointerTextInWorkTree, workspacePointers, readWorkspacePointer, type TrackedPointer } from '../git/pointers.js';
import { git, resolveCommit } from '../git/run.js';
import type { Pointer } from '../formats/pointer.js';
import type { LinkType } from '../repo/config.js';
import { RepoContext } from '../repo/context.js';
import { abs, assertNoSymlinkedParents, checkStoredPath, repoRelative } from '../repo/paths.js';
import { pruneEmptyParents, removeStaleTemps, writeFileAtomic } from '../util/fs.js';
import { checkIgnorable, ensureIgnored, ignoreFileOf, ignores } from '../repo/gitignore.js';
import { indexTexts, refreshIndex, stagePointerTexts } from '../git/index-update.js';
import { blobId } from '../git/blob-id.js';
import { recordPointerState } from '../git/pointer-state.js';
import { forgetPartial } from '../worktree/partial.js';
import { readWithheld, withheldFor, type Withheld } from '../remote/access.js';
import { routeOf } from '../repo/routes.js';

export interface CheckoutOptions {
  cwd?: string;
  /** Restore the pointers of this revision too (as `git checkout <rev> -- paths`). */
  rev?: string;
  paths?: string[];
  /** Overwrite unsaved changes. */
  force?: boolean;
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

export interface CheckoutArtifact {
  path: string;
  /** `withheld`: routed to a remote this clone may not read (remotes by path); its pointer stays, its data is absent. */
  action: 'restored' | 'unchanged' | 'not-cached' | 'withheld';
  written: number;
  removed: number;
}

export interface CheckoutResult {
  rev?: string;
  artifacts: CheckoutArtifact[];
  /** Data this clone may not read (remotes by path), left out; everything else was placed. */
  withheld?: Withheld[];
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
}

/** Brings the work tree's data in line with the pointers (of the work tree, or of `rev`). */
export async function checkout(opts: CheckoutOptions = {}): Promise<CheckoutResult> {
  const ctx = RepoContext.open(opts.cwd);
  if (!opts.pointers && ctx.config.verifySignaturesKey) await (await import('./signature-gate.js')).requireSignedRevision({ cwd: opts.cwd, rev: opts.rev }); // config verify_signatures
  const cwd = opts.cwd ?? process.cwd();
  const filters = opts.paths?.map((p) => repoRelative(ctx.root, p, cwd));
  const commit = opts.rev ? await resolveCommit(ctx.root, opts.rev) : undefined;
  const lock = await ctx.lock();
  const stat = new StatCache(ctx.stateDir);
  const stamps = new Stamps(ctx.stateDir);
  try {
    const targets = opts.pointers ?? (commit ? await pointersAtCommit(ctx.commonDir, commit, filters) : await workspacePointers(ctx.root, filters));
    if (filters?.length && targets.length === 0) throw new MkError('ENOTTRACKED', `no tracked artifact matches ${filters.join(', ')}${commit ? ` at ${opts.rev}` : ''}`);
    const plans: Plan[] = [];
    const unsaved: string[] = [];
    const notCached: CheckoutArtifact[] = [];
    // Data a fetch found this clone may not read (remotes by path): withheld, not an error.
    const record = readWithheld(ctx.stateDir);
    const withheld: Withheld[] = [];
    // Files kept inside packs have no blob of their own: found through the cache's manifests, once, if needed.
    let savedInPacks: Promise<Set<string>> | undefined;
    const inCache = async (digest: string, size: number) => ctx.cache.existsSync({ mediaType: MediaType.octet, digest, size }) || (await (savedInPacks ??= savedFileDigests(ctx.cache))).has(digest);
    // Folders stamped clean (status, add, an earlier checkout) for the version the work tree
    // should hold: their scans start now, and if the stamp holds, only the files that differ
    // between the two versions are touched, without reading the folder.
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
      const stamped = stamps.digestOf(t.path);
      if (t.pointer.type === 'dir' && stamped && (stamped === base?.digest || stamped === t.pointer.digest)) early.set(t.path, findSignatureAsync(abs(ctx.root, t.path)));
    }
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
          plans.push({ t, write: [], remove: [], clear: false });
          continue;
        }
      }
      const plan = (await planFromStamp(ctx, stamps, t, early.get(t.path))) ?? (await planArtifact(ctx, stat, t, base, unsaved, inCache));
      const w = plan === 'not-cached' && record.size ? withheldFor(record, t.path, routeOf(ctx.config, t)) : undefined;
      if (w) withheld.push(w);
      else if (plan === 'not-cached') notCached.push({ path: t.path, action: 'not-cached', written: 0, removed: 0 });
      else plans.push(plan);
    }
    if (unsaved.length && !opts.force) throw new UnsavedChangesError(unsaved);
    if (commit && notCached.length) {
      // All or nothing for another revision: its pointers are not written unless its data can be.
      throw new MkError('ENOTCACHED', `the data of ${notCached.map((a) => a.path).join(', ')} at ${opts.rev} is not in the local cache; nothing was changed`, {
        hint: `run 'mk pull ${opts.rev}' (or 'mk fetch ${opts.rev}' then this checkout again)`,
        data: { artifacts: notCached },
      });
    }
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
        const changed = await ensureIgnored(ctx.root, t.path);
        if (changed) staged.push(changed);
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
    for (const plan of plans) {
      const done = await execute(ctx, stat, plan, link);
      artifacts.push(done);
      // The stamp is mk's word on what the data holds: after a write it says the new version (or nothing).
      if (plan.stamped || (done.action === 'restored' && plan.t.pointer.type === 'dir')) await restamp(ctx, stamps, plan);
      else if (done.action === 'restored') stamps.forget(plan.t.path);
    }
    // Folders restored in part (mk pull -- <path inside>) are whole now.
    forgetPartial(
      ctx.stateDir,
      plans.filter((p) => p.t.pointer.type === 'dir').map((p) => p.t.path),
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
    stat.save();
    stamps.save();
    lock.release();
  }
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
    return { t, manifest, write: [], remove: [], clear: false, stamped: true };
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
  return { t, manifest, write, remove, clear: false, stamped: true };
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

async function planArtifact(
  ctx: RepoContext,
  stat: StatCache,
  t: TrackedPointer,
  base: Pointer | undefined,
  unsaved: string[],
  inCache: (digest: string, size: number) => Promise<boolean>,
): Promise<Plan | 'not-cached'> {
  const p = t.pointer;
  await checkPointerSize(ctx.cache, t);
  // Temporary files of a checkout or add that was killed (next to the artifact, or inside it):
  // not data; we hold the lock, so their writers are gone.
  removeStaleTemps(dirname(abs(ctx.root, t.path)), basename(t.path));
  let state: WorkState = await workState(ctx.root, stat, t.path);
  // A filtered file that holds pointer text (Git checked it out while its data was missing) holds no data: it is replaced.
  if (t.filtered && state.kind === 'file' && state.file.size <= 4096 && pointerTextInWorkTree(ctx.root, t.path)) state = { kind: 'missing' };
  if (state.kind === 'dir') for (const d of new Set((state.temps ?? []).map((f) => dirname(abs(abs(ctx.root, t.path), f))))) removeStaleTemps(d);
  let baseFiles: Map<string, { digest: string; mode: number }> | undefined;
  const baseline = async () => {
    if (baseFiles) return baseFiles;
    baseFiles = new Map();
    if (base?.type === 'file') baseFiles.set('', { digest: base.digest, mode: base.exec ? 0o755 : 0o644 });
    else if (base?.type === 'dir') {
      const m = await loadDirManifest(ctx.cache, base).catch(() => undefined);
      for (const f of m?.files ?? []) baseFiles.set(f.path, { digest: f.digest, mode: f.mode });
    }
    return baseFiles;
  };
  /** A work-tree file may be replaced if it is what the baseline recorded, or its bytes are in the cache. */
  const safe = async (rel: string, digest: string, size: number) => {
    const b = (await baseline()).get(rel);
    if (b && b.digest === digest) return true;
    return inCache(digest, size);
  };
  if (p.type === 'file') {
    if (!ctx.cache.existsSync({ mediaType: MediaType.octet, digest: p.digest, size: p.size })) {
      if (state.kind === 'file' && state.file.digest === p.digest) return { t, write: [], remove: [], clear: false };
      return 'not-cached';
    }
    const entry: FileEntry = { path: '', mode: p.exec ? 0o755 : 0o644, size: p.size, digest: p.digest, layer: 0 };
    if (state.kind === 'missing') return { t, write: [entry], remove: [], clear: false };
    if (state.kind === 'file') {
      if (state.file.digest === p.digest && state.file.mode === entry.mode) return { t, write: [], remove: [], clear: false };
      if (state.file.digest !== p.digest && !(await safe('', state.file.digest, state.file.size))) unsaved.push(t.path);
      return { t, write: [entry], remove: [], clear: false };
    }
    if (state.kind === 'dir') {
      const b = await baseline();
      for (const f of state.files)
        if (!(await safeIn(b, f, inCache))) {
          unsaved.push(`${t.path}/${f.path}`);
          break;
        }
    } else unsaved.push(t.path);
    return { t, write: [entry], remove: [], clear: true };
  }
  const manifest = await loadDirManifest(ctx.cache, p).catch(() => undefined);
  if (!manifest || !manifest.layers.every((l) => ctx.cache.existsSync({ mediaType: MediaType.octet, ...l }))) return 'not-cached';
  if (state.kind === 'missing') return { t, manifest, write: manifest.files, remove: [], clear: false };
  if (state.kind === 'file' || state.kind === 'other') {
    if (state.kind === 'file' && !(await safe('', state.file.digest, state.file.size))) unsaved.push(t.path);
    if (state.kind === 'other') unsaved.push(t.path);
    return { t, manifest, write: manifest.files, remove: [], clear: true };
  }
  invariant(state.kind === 'dir', `work-tree state ${state.kind} for ${t.path}`);
  const want = new Map(manifest.files.map((f) => [f.path, f]));
  const write: FileEntry[] = [];
  const remove: string[] = [];
  const have = new Map(state.files.map((f) => [f.path, f]));
  for (const f of manifest.files) {
    const w = have.get(f.path);
    if (w && w.digest === f.digest && w.mode === f.mode) continue;
    if (w && w.digest !== f.digest && !(await safe(f.path, w.digest, w.size))) unsaved.push(`${t.path}/${f.path}`);
    write.push(f);
  }
  for (const w of state.files) {
    if (want.has(w.path)) continue;
    if (!(await safe(w.path, w.digest, w.size))) unsaved.push(`${t.path}/${w.path}`);
    remove.push(w.path);
  }
  // A symlink (or other non-regular entry, which mk does not track) where a file or a folder
  // of the manifest must go: writing through a symlinked folder could land outside the
  // repository. It is in the way like any unsaved change; with --force it is removed (never followed).
  const skipped = new Set(state.skipped);
  const blocked = new Set<string>();
  for (const f of write) {
    const parts = f.path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const pre = parts.slice(0, i).join('/');
      if (skipped.has(pre)) {
        blocked.add(pre);
        break;
      }
    }
  }
  for (const b of blocked) unsaved.push(`${t.path}/${b}`);
  return { t, manifest, write, remove: [...blocked, ...remove], clear: false };
}

async function safeIn(b: Map<string, { digest: string }>, f: { path: string; digest: string; size: number }, inCache: (digest: string, size: number) => Promise<boolean>): Promise<boolean> {
  const e = b.get(f.path);
  return (e && e.digest === f.digest) || inCache(f.digest, f.size);
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
  if (plan.write.length === 0 && plan.remove.length === 0) {
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
    await extractPack(ctx.cache, layer, wants, (name, placed) => stat?.record(name, placed.stat, placed.digest, undefined, true));
  }
  return { path: t.path, action: 'restored', written: plan.write.length, removed: plan.remove.length };
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
