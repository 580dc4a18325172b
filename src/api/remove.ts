import { lstatSync, rmSync } from 'node:fs';
import { compareWorkspace } from '../worktree/compare.js';
import { MkError, UnsafePathError, UsageError } from '../errors/index.js';
import { StatCache } from '../hashing/stat-cache.js';
import type { Pointer } from '../formats/pointer.js';
import { git } from '../git/run.js';
import { recordPointerState } from '../git/pointer-state.js';
import { readWorkspacePointer } from '../git/pointers.js';
import { planKitfileSync } from '../repo/kitfile-file.js';
import { dataPathFor, isPointerPath, pointerPathFor } from '../formats/pointer.js';
import { workspaceFilterMatcher } from '../repo/gitattributes.js';
import { RepoContext } from '../repo/context.js';
import { abs, assertNoSymlinkedParents, repoRelative } from '../repo/paths.js';
import { writeFileAtomic } from '../util/fs.js';
import { checkIgnorable, folderMarkerOf, hasFolderMarker, removeIgnored } from '../repo/gitignore.js';

export interface RemoveResult {
  path: string;
  pointerPath: string;
  /** The data was deleted from the work tree too (--data). */
  dataRemoved: boolean;
  /** There was data at the path (file or folder) when the command started. */
  dataPresent: boolean;
}

/**
 * Stops tracking artifacts: removes the pointer (staged), the .gitignore entry and the
 * Kitfile entry. The data stays in the work tree (as an untracked file) unless `data` is set;
 * its bytes stay in the cache until `mk gc`.
 */
export async function remove(paths: string[], opts: { cwd?: string; data?: boolean; force?: boolean; stage?: boolean } = {}): Promise<RemoveResult[]> {
  if (paths.length === 0) throw new UsageError('nothing to remove', 'name tracked artifacts, e.g. mk rm data/old');
  const ctx = RepoContext.open(opts.cwd);
  const cwd = opts.cwd ?? process.cwd();
  const rels = [
    ...new Set(
      paths.map((p) => {
        const r = repoRelative(ctx.root, p.replace(/\/+$/, '') || p, cwd);
        return isPointerPath(r) ? dataPathFor(r) : r;
      }),
    ),
  ];
  const pointers = new Map<string, Pointer>();
  for (const rel of rels) {
    const p = readWorkspacePointer(ctx.root, pointerPathFor(rel));
    if (!p && workspaceFilterMatcher(ctx.root)(rel))
      throw new MkError('EFILTERED', `${rel} is kept through mk's Git filter (.gitattributes), not by a pointer file`, {
        hint: `to keep it in Git itself, remove the pattern that covers it from track: and .gitattributes, then 'git add --renormalize ${rel}'; to delete it, 'git rm ${rel}'`,
      });
    if (!p) throw new MkError('ENOTTRACKED', `${rel} is not tracked by mk (no ${pointerPathFor(rel)})`);
    // Nothing is removed through a symlinked folder: it could be someone else's disk.
    assertNoSymlinkedParents(ctx.root, rel);
    checkIgnorable(ctx.root, rel);
    pointers.set(rel, p);
  }
  // The Kitfile change is worked out (and validated) before anything is touched.
  const kitfile = planKitfileSync(ctx.root, [], rels);
  const lock = await ctx.lock();
  const out: RemoveResult[] = [];
  try {
    if (opts.data) await checkDataMayGo(ctx, pointers, !!opts.force);
    const staged: string[] = [];
    for (const rel of rels) {
      const pointerPath = pointerPathFor(rel);
      rmSync(abs(ctx.root, pointerPath), { force: true });
      staged.push(pointerPath);
      const ignoreFile = await removeIgnored(ctx.root, rel);
      if (ignoreFile) staged.push(ignoreFile);
      // A folder's marker goes too: its files become the user's untracked files.
      if (hasFolderMarker(ctx.root, rel)) {
        rmSync(abs(ctx.root, folderMarkerOf(rel)), { force: true });
        staged.push(folderMarkerOf(rel));
      }
      const dataPresent = existsInWorkTree(abs(ctx.root, rel));
      out.push({ path: rel, pointerPath, dataRemoved: !!opts.data && dataPresent, dataPresent });
    }
    if (kitfile) {
      await writeFileAtomic(abs(ctx.root, kitfile.name), kitfile.text);
      staged.push(kitfile.name);
    }
    if (opts.stage !== false) await git(ctx.root, ['add', '-A', '--', ...staged]);
    await recordPointerState(ctx.root, ctx.stateDir);
    // The data goes last, once the pointers are out of the way: its bytes stay in the cache.
    if (opts.data) for (const rel of rels) rmSync(abs(ctx.root, rel), { recursive: true, force: true });
  } finally {
    lock.release();
  }
  return out;
}

function existsInWorkTree(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * `--data` deletes only what can be had again: data that is exactly what its pointer
 * records and whose bytes are in the cache. An edit not saved with `mk add`, or data the
 * cache does not hold, stops the command before anything changes (unless `force`).
 */
async function checkDataMayGo(ctx: RepoContext, pointers: Map<string, Pointer>, force: boolean): Promise<void> {
  const stat = new StatCache(ctx.stateDir);
  const unsaved: string[] = [];
  try {
    for (const [rel, p] of pointers) {
      let st;
      try {
        st = lstatSync(abs(ctx.root, rel));
      } catch {
        continue; // nothing there to delete
      }
      if (st.isSymbolicLink()) throw new UnsafePathError(rel, 'it is a symlink: mk rm --data deletes only data mk placed (remove the link yourself)');
      if (force) continue;
      const c = await compareWorkspace(ctx, stat, rel, p);
      if (c.workspace === 'modified') unsaved.push(...(c.changes.length && p.type === 'dir' ? c.changes.map((f) => `${rel}/${f.path}`) : [rel]));
      else if (!c.cached) unsaved.push(rel);
    }
  } finally {
    stat.save();
  }
  if (unsaved.length) {
    const shown = unsaved.slice(0, 5).join(', ') + (unsaved.length > 5 ? ` and ${unsaved.length - 5} more` : '');
    throw new MkError('EUNSAVED', `mk rm --data would delete data that exists nowhere else: ${shown}`, {
      hint: "save it first ('mk add <path>', or 'mk fetch' for data the cache lacks), keep it with 'mk rm' without --data, or delete it anyway with --force",
      data: { paths: unsaved },
    });
  }
}
