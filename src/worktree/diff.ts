import { diffFiles, pointerFiles } from './compare.js';
import { loadDirManifest, readCachedSmall } from './load.js';
import { workState } from './workspace.js';
import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { hasBlobStat, type Target } from '../content/storage.js';
import { MkError } from '../errors/index.js';
import { StatCache } from '../hashing/stat-cache.js';
import { pointersAtCommit, underPrefix, workspacePointers, type TrackedPointer } from '../git/pointers.js';
import { decodeDirRoot } from '../formats/dir-manifest.js';
import { openRemote, remoteOfArtifact } from '../remote/remotes.js';
import { deniedReason, withheldOf, type Withheld } from '../remote/access.js';
import { routeOf } from '../repo/routes.js';
import type { RepoContext } from '../repo/context.js';
import { copyGraph } from '../transfer/graph-copy.js';

/** One file's change. A rename (`renamed`) is a file gone from `from` and the same bytes (digest) added at `path`. */
export interface DiffFile {
  path: string;
  change: 'added' | 'removed' | 'modified' | 'renamed';
  /** The old path of a renamed file. */
  from?: string;
  oldSize?: number;
  newSize?: number;
}

export interface ArtifactDiff {
  path: string;
  /** `renamed`: the artifact moved from `from` to `path` (its files compared across the move). */
  change: 'added' | 'removed' | 'modified' | 'renamed';
  /** The old path of a renamed artifact. */
  from?: string;
  /** Files changed inside the artifact (paths relative to the repository). */
  files: DiffFile[];
}

export interface DiffSummary {
  artifacts: number;
  added: number;
  removed: number;
  modified: number;
  renamed: number;
  /** Bytes of the files added (and of the new versions of modified ones). */
  addedBytes: number;
  /** Bytes of the files removed (and of the old versions of modified ones). */
  removedBytes: number;
}

export interface DiffResult {
  from: string;
  to: string;
  artifacts: ArtifactDiff[];
  summary: DiffSummary;
  /** File lists read from the remote because the local cache lacked them. */
  fetched: number;
  /**
   * Folders whose file lists are in a repository this user may not read (remotes by path):
   * left out of the comparison. Absent when there are none.
   */
  withheld?: Withheld[];
}

type ListedFile = { path: string; digest: string; size: number; mode: number };

/** A folder artifact that moved and changed a little is still a rename when this share of its files is the same. */
const SIMILAR = 0.5;

/** One side of a comparison: a commit, or (no commit, label 'workspace') the work tree. */
export interface DiffSide {
  label: string;
  commit?: string;
}

/**
 * Files added, removed, modified and renamed inside tracked artifacts between two revisions,
 * or between a revision and the work tree (`b` without a commit, labelled 'workspace').
 * `filters` (repository-relative) choose what is shown; every artifact is still listed so a
 * rename is found when they name one side only. Folder file lists the local cache lacks are
 * read from `remote` (default: the default remote): only those small blobs, no data.
 */
export async function diffRevisions(ctx: RepoContext, a: DiffSide, b: DiffSide, opts: { filters?: string[]; remote?: string; renames?: boolean } = {}): Promise<DiffResult> {
  const filters = opts.filters;
  const toWork = !b.commit;
  const stat = new StatCache(ctx.stateDir);
  // Every artifact is listed (pointers only: cheap), so that a rename is found even when the
  // paths given name only one of its two sides; the paths then choose what is shown.
  const list = async (s: DiffSide): Promise<TrackedPointer[]> => (s.commit ? pointersAtCommit(ctx.commonDir, s.commit) : s.label === 'workspace' ? workspacePointers(ctx.root) : []);
  const wanted = (path: string) => !filters || filters.some((f) => underPrefix(path, f) || underPrefix(f, path));
  const [la, lb] = await Promise.all([list(a), list(b)]);
  const ma = new Map(la.map((t) => [t.path, t]));
  const mb = new Map(lb.map((t) => [t.path, t]));
  const lists = new FileLists(ctx, opts.remote);

  /**
   * The files of an artifact, relative to it ('' for a single file), limited to the paths asked
   * for (inside it, or inside `alias`: the other side's path of a renamed artifact).
   */
  const files = async (t: TrackedPointer, workspace: boolean, alias?: string): Promise<ListedFile[]> => limit(await allFiles(t, workspace), t.path, alias);
  const allFiles = async (t: TrackedPointer, workspace: boolean): Promise<ListedFile[]> => {
    let fs: ListedFile[];
    if (workspace) {
      const s = await workState(ctx.root, stat, t.path);
      fs =
        s.kind === 'file'
          ? [{ path: '', digest: s.file.digest, size: s.file.size, mode: s.file.mode }]
          : s.kind === 'dir'
            ? s.files.map(({ path, digest, size, mode }) => ({ path, digest, size, mode }))
            : [];
    } else if (t.pointer.type === 'file') fs = pointerFiles(t.pointer, '');
    // A folder whose lists this user may not read (remotes by path) has no files to compare: it is named as withheld.
    else fs = ((await lists.files(t)) ?? []).map(({ path, digest, size, mode }) => ({ path, digest, size, mode }));
    return fs;
  };
  const limit = (fs: ListedFile[], path: string, alias?: string): ListedFile[] => {
    if (!filters) return fs;
    const bases = alias ? [path, alias] : [path];
    // A path naming the artifact or a folder above it keeps every file; paths inside it keep those under them.
    if (filters.some((f) => bases.some((b) => underPrefix(b, f)))) return fs;
    const inner = filters.flatMap((f) => bases.filter((b) => f.startsWith(b + '/')).map((b) => f.slice(b.length + 1)));
    return fs.filter((f) => inner.some((i) => underPrefix(f.path, i)));
  };
  const at = (base: string, rel: string) => (rel ? `${base}/${rel}` : base);
  const compare = (oldBase: string, old: ListedFile[], newBase: string, now: ListedFile[]): DiffFile[] => {
    const changes: DiffFile[] = diffFiles(old, now).map((c) => ({ ...c, path: at(c.change === 'removed' ? oldBase : newBase, c.path) }));
    // Inside a renamed artifact, a file left where it was (relative to it) is compared, not reported as removed and added.
    return opts.renames === false ? changes : detectRenames(changes, old, now, oldBase, newBase);
  };

  const artifacts: ArtifactDiff[] = [];
  const gone: TrackedPointer[] = [];
  const added: TrackedPointer[] = [];
  for (const p of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
    const ta = ma.get(p);
    const tb = mb.get(p);
    if (ta && tb) {
      if (!wanted(p) || (!toWork && ta.pointer.digest === tb.pointer.digest)) continue;
      const changes = compare(p, await files(ta, false), p, await files(tb, toWork));
      if (changes.length) artifacts.push({ path: p, change: 'modified', files: changes });
    } else if (ta) gone.push(ta);
    else if (tb) added.push(tb);
  }

  // Whole artifacts moved: the same version (digest) gone from one path and added at another;
  // then folders that moved and changed a little (most of their files the same).
  const pairs: Array<[TrackedPointer, TrackedPointer]> = [];
  if (opts.renames !== false) {
    for (const g of gone) {
      const i = added.findIndex((n) => n.pointer.type === g.pointer.type && n.pointer.digest === g.pointer.digest);
      if (i >= 0) pairs.push([g, added.splice(i, 1)[0]!]);
    }
  }
  const goneLeft = gone.filter((g) => !pairs.some(([o]) => o === g));
  // Similar folders: every file list of the folders on both sides is needed (without paths given: they are shown anyway).
  const oldFiles = new Map<TrackedPointer, ListedFile[]>();
  const newFiles = new Map<TrackedPointer, ListedFile[]>();
  const canPair = opts.renames !== false && goneLeft.some((g) => g.pointer.type === 'dir') && added.some((n) => n.pointer.type === 'dir');
  for (const g of goneLeft) if (wanted(g.path) || (canPair && g.pointer.type === 'dir')) oldFiles.set(g, await allFiles(g, false));
  for (const n of added) if (wanted(n.path) || (canPair && n.pointer.type === 'dir')) newFiles.set(n, await allFiles(n, toWork));
  if (canPair) {
    for (const g of goneLeft.filter((x) => x.pointer.type === 'dir')) {
      let best: { n: TrackedPointer; score: number } | undefined;
      for (const n of added.filter((x) => x.pointer.type === 'dir')) {
        const score = similarity(oldFiles.get(g)!, newFiles.get(n)!);
        if (score >= SIMILAR && (!best || score > best.score)) best = { n, score };
      }
      if (best) {
        pairs.push([g, best.n]);
        added.splice(added.indexOf(best.n), 1);
      }
    }
  }
  for (const [o, n] of pairs) {
    if (!wanted(o.path) && !wanted(n.path)) continue;
    const same = !toWork && o.pointer.digest === n.pointer.digest;
    const changes = same ? [] : compare(o.path, await files(o, false, n.path), n.path, await files(n, toWork, o.path));
    artifacts.push({ path: n.path, change: 'renamed', from: o.path, files: changes });
  }
  for (const g of goneLeft.filter((x) => !pairs.some(([o]) => o === x) && wanted(x.path))) {
    const fs = limit(oldFiles.get(g)!, g.path);
    if (fs.length) artifacts.push({ path: g.path, change: 'removed', files: sortByPath(fs.map((f) => ({ path: at(g.path, f.path), change: 'removed', oldSize: f.size }))) });
  }
  for (const n of added.filter((x) => wanted(x.path))) {
    const fs = limit(newFiles.get(n)!, n.path);
    if (fs.length) artifacts.push({ path: n.path, change: 'added', files: sortByPath(fs.map((f) => ({ path: at(n.path, f.path), change: 'added', newSize: f.size }))) });
  }
  sortByPath(artifacts);
  try {
    stat.save();
  } catch {
    /* read-only */
  }
  const withheld = [...new Map(lists.withheld.map((w) => [w.path, w])).values()];
  return { from: a.label, to: b.label, artifacts, summary: summarize(artifacts), fetched: lists.fetched, ...(withheld.length ? { withheld } : {}) };
}

/**
 * Files removed and added with the same bytes (digest) are renames (moves): within an artifact,
 * or across a renamed one. Several candidates with one digest pair up by file name first, then
 * in path order. Empty files are left alone (any two are "the same"), as git does.
 */
function detectRenames(changes: DiffFile[], old: ListedFile[], now: ListedFile[], oldBase: string, newBase: string): DiffFile[] {
  const removed = changes.filter((c) => c.change === 'removed' && (c.oldSize ?? 0) > 0);
  const addedC = changes.filter((c) => c.change === 'added' && (c.newSize ?? 0) > 0);
  if (!removed.length || !addedC.length) return changes;
  const rel = (base: string, p: string) => (p === base ? '' : p.slice(base.length + 1));
  const oldDigest = new Map(old.map((f) => [f.path, f.digest]));
  const newDigest = new Map(now.map((f) => [f.path, f.digest]));
  const byDigest = new Map<string, DiffFile[]>();
  for (const c of removed) {
    const d = oldDigest.get(rel(oldBase, c.path))!;
    byDigest.set(d, [...(byDigest.get(d) ?? []), c]);
  }
  const renamed = new Map<DiffFile, DiffFile>(); // added -> removed
  const name = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  for (const pass of [true, false]) {
    for (const c of addedC) {
      if (renamed.has(c)) continue;
      const cands = byDigest.get(newDigest.get(rel(newBase, c.path))!);
      const i = cands?.findIndex((r) => !pass || name(r.path) === name(c.path)) ?? -1;
      if (i >= 0) renamed.set(c, cands!.splice(i, 1)[0]!);
    }
  }
  if (!renamed.size) return changes;
  const used = new Set(renamed.values());
  const out: DiffFile[] = [];
  for (const c of changes) {
    if (used.has(c)) continue;
    const r = renamed.get(c);
    out.push(r ? { path: c.path, change: 'renamed', from: r.path, oldSize: r.oldSize, newSize: c.newSize } : c);
  }
  return out;
}

function sortByPath<T extends { path: string }>(xs: T[]): T[] {
  return xs.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/** Share of two folders' files that are the same bytes (by digest, counted with repeats). */
function similarity(a: ListedFile[], b: ListedFile[]): number {
  if (!a.length || !b.length) return 0;
  const count = new Map<string, number>();
  for (const f of a) count.set(f.digest, (count.get(f.digest) ?? 0) + 1);
  let same = 0;
  for (const f of b) {
    const n = count.get(f.digest) ?? 0;
    if (n > 0) {
      same++;
      count.set(f.digest, n - 1);
    }
  }
  return same / Math.max(a.length, b.length);
}

function summarize(artifacts: ArtifactDiff[]): DiffSummary {
  const s: DiffSummary = { artifacts: artifacts.length, added: 0, removed: 0, modified: 0, renamed: 0, addedBytes: 0, removedBytes: 0 };
  for (const a of artifacts) {
    for (const f of a.files) {
      s[f.change]++;
      if (f.change === 'added' || f.change === 'modified') s.addedBytes += f.newSize ?? 0;
      if (f.change === 'removed' || f.change === 'modified') s.removedBytes += f.oldSize ?? 0;
    }
  }
  return s;
}

/**
 * The file lists of folder versions: from the local cache, or, when it lacks them, from the
 * remote (the root and its lists only, verified as they are stored in the cache).
 */
class FileLists {
  fetched = 0;
  /** Folders routed to a remote this user may not read. */
  readonly withheld: Withheld[] = [];
  private readonly remotes = new Map<string, Promise<Target>>();
  constructor(
    private readonly ctx: RepoContext,
    private readonly remoteName: string | undefined,
  ) {}

  /** The files of a folder version; undefined when it is routed to a remote this user may not read (see `withheld`). */
  async files(t: TrackedPointer) {
    try {
      return (await loadDirManifest(this.ctx.cache, t.pointer)).files;
    } catch (e) {
      if (!this.ctx.config.remotes.length && !this.remoteName) {
        throw new MkError('ENOTCACHED', `the file list of ${t.path} (${t.pointer.digest.slice(7, 19)}) is not in the local cache and no remote is configured`, {
          hint: "add the remote it was pushed to with 'mk remote add'",
          cause: e,
        });
      }
    }
    // Each artifact's lists from its own remote (remotes by path).
    const rc = remoteOfArtifact(this.ctx, t, this.remoteName);
    if (!this.remotes.has(rc.name)) this.remotes.set(rc.name, openRemote(this.ctx, rc));
    const target = await this.remotes.get(rc.name)!;
    const lock = await this.ctx.lock(); // mk gc waits: what is fetched here stays while it is read
    try {
      return await this.fetchLists(t, target);
    } catch (e) {
      const why = deniedReason(e);
      const route = why ? routeOf(this.ctx.config, t) : undefined;
      if (!route) throw e;
      this.withheld.push(withheldOf(route, this.ctx.root, t.path, why!));
      return undefined;
    } finally {
      lock.release();
    }
  }

  private async fetchLists(t: TrackedPointer, target: Target) {
    const cache = this.ctx.cache;
    let rootSize = cache.statBlobSync(t.pointer.digest);
    if (rootSize === undefined && hasBlobStat(target)) rootSize = await target.statBlob(t.pointer.digest);
    if (rootSize === undefined)
      throw new MkError('ENOTFOUND', `the file list of ${t.path} (${t.pointer.digest.slice(7, 19)}) is in neither the local cache nor the remote`, {
        hint: 'it was never pushed: push it from a clone that has the data',
      });
    const ensure = async (ds: Array<{ digest: string; size: number }>) => {
      const missing: Descriptor[] = ds.map((d) => ({ mediaType: MediaType.octet, digest: d.digest, size: d.size })).filter((d) => !cache.existsSync(d));
      if (!missing.length) return;
      const r = await copyGraph(target, cache, missing, { concurrency: 6 });
      this.fetched += r.copied.length;
    };
    await ensure([{ digest: t.pointer.digest, size: rootSize }]);
    const what = `directory manifest ${t.pointer.digest.slice(7, 19)}`;
    await ensure(decodeDirRoot(readCachedSmall(cache, t.pointer.digest, what), what).lists);
    return (await loadDirManifest(cache, t.pointer)).files;
  }
}
