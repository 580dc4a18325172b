import { lstatSync } from 'node:fs';
import { filteredIndexPointers } from '../../git/pointers.js';
import { git } from '../../git/run.js';
import { stagedPaths } from '../../git/staged.js';
import type { RepoContext } from '../../repo/context.js';
import { ATTRIBUTES_FILE, readAttributes, syncAttributes, unwritablePatterns, usesFilter, workspaceFilterMatcher } from '../../repo/gitattributes.js';
import { TEAM_CONFIG } from '../../repo/context.js';
import { abs } from '../../repo/paths.js';
import { syncProjectKitfileKnown } from '../../repo/kitfile-memo.js';
import { matcher } from '../../util/glob.js';

export interface FilteredCommitResult {
  /** Staged paths that go through the filter: the pre-commit hook leaves them to Git. */
  handled: Set<string>;
  /** Files newly sent through the filter by this hook (size threshold, or staged before the filter was set up). */
  autoTracked: string[];
  /** Whether the hook staged anything (attributes, re-cleaned files, the Kitfile). */
  changed: boolean;
  /** `track:` patterns that cannot go into .gitattributes (told when the config is part of the commit). */
  warnings: string[];
}

/**
 * The pre-commit hook's part for files that go through mk's Git filter:
 * - a staged file the root .gitattributes sends through the filter, but whose staged blob is
 *   its bytes (added before the filter was set up), is cleaned again (`git add --renormalize`);
 * - in a repository that uses the filter, a staged file that reaches `size_threshold` (or
 *   matches `track:` while .gitattributes lags behind) gets an exact-path line in the mk block
 *   of .gitattributes and is cleaned through the filter;
 * - the Kitfile follows: an entry for each filtered file, none for files gone since HEAD
 *   (`git mv` moves the entry).
 */
export async function filteredFilesBeforeCommit(ctx: RepoContext, staged: string[], never: (p: string) => boolean): Promise<FilteredCommitResult> {
  const result: FilteredCommitResult = { handled: new Set(), autoTracked: [], changed: false, warnings: [] };
  const attrs = readAttributes(ctx.root);
  if (!usesFilter(attrs) && !attrs?.includes('filter=mk')) return result;
  let filtered = workspaceFilterMatcher(ctx.root);
  const renormalize: string[] = [];
  if (usesFilter(attrs)) {
    const wanted = matcher(ctx.config.track);
    const big = (p: string) => {
      if (ctx.config.sizeThreshold <= 0) return false;
      try {
        const st = lstatSync(abs(ctx.root, p));
        return st.isFile() && st.size >= ctx.config.sizeThreshold;
      } catch {
        return false;
      }
    };
    const add = staged.filter((p) => !never(p) && !filtered(p) && (big(p) || wanted(p)));
    // Folder patterns ('dir/') stay folder artifacts (the hook tracks them with pointer files).
    const files = add.filter((p) => !ctx.config.track.some((t) => t.endsWith('/') && matcher([t])(p)));
    // The block follows track: (a pattern added or removed there), plus exact paths for large files.
    const synced = await syncAttributes(ctx.root, ctx.config.track, { addPaths: files.filter((p) => !matcher(ctx.config.track)(p)) });
    if (staged.includes(TEAM_CONFIG)) result.warnings.push(...unwritablePatterns(ctx.config.track));
    if (synced) {
      await git(ctx.root, ['add', '--', ATTRIBUTES_FILE]);
      filtered = workspaceFilterMatcher(ctx.root);
      result.changed = true;
    }
    renormalize.push(...files.filter(filtered));
    result.autoTracked.push(...files.filter(filtered));
  }
  const mine = staged.filter((p) => filtered(p));
  for (const p of mine) result.handled.add(p);
  // Staged as bytes (before the filter was set up): cleaned again, now through the filter.
  const asPointers = new Set((await filteredIndexPointers(ctx.root)).map((t) => t.path));
  for (const p of mine) if (!renormalize.includes(p) && !asPointers.has(p)) renormalize.push(p);
  if (renormalize.length) {
    await git(ctx.root, ['add', '--renormalize', '--', ...renormalize]);
    result.changed = true;
  }
  // The Kitfile names every filtered file; files gone since HEAD leave it.
  const now = await filteredIndexPointers(ctx.root);
  // Deleted (or moved away: `git mv`) since HEAD, as staged; only paths the filter covered can have been filtered files.
  // The hook's one read of the staged changes, unless what it staged above changed the index.
  const deleted = await stagedPaths(ctx.root, 'D');
  const gone = deleted.filter((p) => filtered(p) && !now.some((t) => t.path === p));
  if (now.length || gone.length) {
    const kf = await syncProjectKitfileKnown(
      ctx.root,
      ctx.stateDir,
      now.map((t) => ({ path: t.path, kind: t.pointer.kind, description: t.pointer.description })),
      gone,
    );
    if (kf) {
      await git(ctx.root, ['add', '--', kf]);
      result.changed = true;
    }
  }
  return result;
}
