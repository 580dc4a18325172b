import { compareWorkspace, type FileChange, type WorkspaceStatus } from '../worktree/compare.js';
import { StatCache } from '../hashing/stat-cache.js';
import { pointerTextInWorkTree, pointersAtCommit, workspacePointers, type TrackedPointer } from '../git/pointers.js';
import { classifyData } from '../worktree/reconcile.js';
import { git } from '../git/run.js';
import { Stamps } from '../hashing/stamps.js';
import type { Kind } from '../formats/pointer.js';
import { RepoContext } from '../repo/context.js';
import { abs, repoRelative } from '../repo/paths.js';
import { MkError } from '../errors/index.js';
import { pointerPathFor } from '../formats/pointer.js';
import { existsSync, statSync } from 'node:fs';
import { readWithheld as readNoAccess, withheldFor } from '../remote/access.js';
import { routeOf } from '../repo/routes.js';
import { readWithheld } from '../repo/withheld.js';

export interface ArtifactStatus {
  path: string;
  kind: Kind;
  type: 'file' | 'dir';
  /**
   * Work tree against the pointer: clean, modified (the user's changes), stale (exactly another
   * version mk placed or recorded: git changed the pointer without the data; `mk checkout` or the
   * next commit brings the pointer's data), deleted (data absent), unknown (not cached, cannot tell),
   * partial (a folder restored in part by `mk pull -- <path inside>`, unchanged: see `partial`),
   * withheld (routed to a remote this clone may not read: absent, and never recorded as deleted; see `withheld`).
   */
  workspace: WorkspaceStatus | 'stale' | 'partial' | 'withheld';
  /** Why the data is withheld: the remote by path and what it answered. */
  withheld?: { remote: string; repository: string; reason: string };
  /** A folder restored in part: `files` of its `of` files are in the work tree (the rest were not restored, not deleted). */
  partial?: { files: number; of: number };
  /** Pointer against HEAD: new (not in HEAD), changed (differs from HEAD), committed. */
  commit: 'new' | 'changed' | 'committed';
  /** All blobs needed to restore it are in the local cache. */
  cached: boolean;
  size: number;
  files?: number;
  changes: FileChange[];
  /** A filtered file Git's checkout left as pointer text because verify_signatures refused its revision: why. */
  refused?: string;
}

/** Status of every tracked artifact (or those under `paths`). */
export async function status(opts: { cwd?: string; paths?: string[] } = {}): Promise<ArtifactStatus[]> {
  const ctx = RepoContext.open(opts.cwd);
  const filters = opts.paths?.map((p) => repoRelative(ctx.root, p, opts.cwd ?? process.cwd()));
  const stat = new StatCache(ctx.stateDir);
  const stamps = new Stamps(ctx.stateDir);
  const early = stamps.prefetch(ctx.root);
  const [tracked, vsHead] = await Promise.all([workspacePointers(ctx.root, filters), pointerChanges(ctx.root)]);
  for (const f of filters ?? []) if (!tracked.some((t) => covers(f, t.path))) throw notTracked(ctx.root, f);
  const filteredVsHead = tracked.some((t) => t.filtered) ? await stagedChanges(ctx.root) : new Map<string, 'new' | 'changed'>();
  const out: ArtifactStatus[] = [];
  const withheld = readWithheld(ctx.stateDir);
  let headPointers: Promise<TrackedPointer[]> | undefined;
  const noAccess = readNoAccess(ctx.stateDir);
  for (const t of tracked) {
    const cmp = await compareWorkspace(ctx, stat, t.path, t.pointer, stamps, early.get(t.path));
    let workspace: ArtifactStatus['workspace'] = cmp.partial && cmp.workspace === 'clean' ? 'partial' : cmp.workspace;
    // A filtered file left as pointer text by a checkout that could not get its data: the data is absent.
    if (t.filtered && workspace === 'modified' && pointerTextInWorkTree(ctx.root, t.path)) workspace = 'deleted';
    else if (!t.filtered && (workspace === 'modified' || workspace === 'unknown')) {
      // Changed data may be merely stale: the one rule (src/worktree/reconcile.ts) tells.
      // The versions the work tree may have held before git moved the pointer: HEAD's, where HEAD was before, ORIG_HEAD's.
      // (A filtered file is Git's own: Git's checkout writes it, so it is never stale.)
      const d = await classifyData(ctx, stat, stamps, t.path, t.pointer, async function* () {
        const all = await (headPointers ??= Promise.all(['HEAD', 'HEAD@{1}', 'ORIG_HEAD'].map((r) => pointersOf(ctx, r))).then((x) => x.flat()));
        for (const h of all) if (h.path === t.path) yield h.pointer;
      });
      if (d.state === 'stale') workspace = 'stale';
    }
    // Absent data this clone may not read (remotes by path): withheld, not deleted.
    const denied = !cmp.cached && (workspace === 'deleted' || workspace === 'unknown') && noAccess.size ? withheldFor(noAccess, t.path, routeOf(ctx.config, t)) : undefined;
    if (denied) workspace = 'withheld';
    const s: ArtifactStatus = {
      path: t.path,
      kind: t.pointer.kind,
      type: t.pointer.type,
      workspace,
      commit: (t.filtered ? filteredVsHead.get(t.path) : vsHead.get(t.pointerPath)) ?? 'committed',
      cached: cmp.cached,
      size: t.pointer.size,
      changes: cmp.changes,
    };
    if (t.pointer.files !== undefined) s.files = t.pointer.files;
    const w = workspace === 'deleted' && t.filtered && Object.hasOwn(withheld, t.path) ? withheld[t.path] : undefined;
    if (w && w.digest === t.pointer.digest) s.refused = w.reason;
    if (cmp.partial) s.partial = cmp.partial;
    if (denied) s.withheld = { remote: denied.remote, repository: denied.repository, reason: denied.reason };
    out.push(s);
  }
  try {
    stat.save();
    stamps.save();
  } catch {
    /* read-only repository: status still answers */
  }
  return out;
}

/** A path given on the command line names this artifact, a folder holding it, or a file inside it. */
function covers(f: string, path: string): boolean {
  return f === '.' || f === path || path.startsWith(f + '/') || f.startsWith(path + '/');
}

/** As git's pathspec error: a path that names no tracked artifact is a mistake, not an empty answer. */
function notTracked(root: string, f: string): MkError {
  let dir = false;
  try {
    dir = statSync(abs(root, f)).isDirectory();
  } catch {
    /* not there */
  }
  return dir
    ? new MkError('ENOTTRACKED', `nothing in ${f}/ is tracked by mk`, { hint: `track it with 'mk add ${f}'` })
    : new MkError('ENOTTRACKED', `${f} is not tracked by mk (no ${pointerPathFor(f)})`, { hint: existsSync(abs(root, f)) ? `track it with 'mk add ${f}'` : undefined });
}

/** Pointer files that are new or changed against HEAD (staged or not), from one `git status`. */
async function pointerChanges(root: string): Promise<Map<string, 'new' | 'changed'>> {
  const out = new Map<string, 'new' | 'changed'>();
  const text = await git(root, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames', '--', '*.mk.yaml']);
  for (const rec of text.split('\0')) {
    if (rec.length < 4) continue;
    const x = rec[0]!;
    const y = rec[1]!;
    const path = rec.slice(3);
    out.set(path, x === 'A' || x === '?' ? 'new' : x !== ' ' || y !== ' ' ? 'changed' : 'new');
  }
  return out;
}

/**
 * Index entries that differ from HEAD (the pointers of filtered files live in the index), from
 * one `git diff-index --cached` (no work-tree reads, so the filter is not run).
 */
async function stagedChanges(root: string): Promise<Map<string, 'new' | 'changed'>> {
  const out = new Map<string, 'new' | 'changed'>();
  const head = (await git(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { okCodes: [1, 128] })).trim();
  if (!head) {
    for (const p of (await git(root, ['ls-files', '-z', '--cached'])).split('\0').filter(Boolean)) out.set(p, 'new');
    return out;
  }
  const text = await git(root, ['diff-index', '--cached', '--name-status', '--no-renames', '-z', head]);
  const parts = text.split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) out.set(parts[i + 1]!, parts[i] === 'A' ? 'new' : 'changed');
  return out;
}

/** The pointers of a revision (none when it does not resolve, e.g. before the first commit). */
async function pointersOf(ctx: RepoContext, rev: string): Promise<TrackedPointer[]> {
  const c = (await git(ctx.root, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { okCodes: [1, 128] })).trim();
  return c ? pointersAtCommit(ctx.commonDir, c).catch(() => []) : [];
}
