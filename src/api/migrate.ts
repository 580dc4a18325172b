import { rmSync } from 'node:fs';
import { compareWorkspace } from '../worktree/compare.js';
import { placeBlob } from '../worktree/materialize.js';
import { MediaType } from '../content/media-types.js';
import { MkError } from '../errors/index.js';
import { stagePointerTexts } from '../git/index-update.js';
import { filteredIndexPointers, workspacePointers } from '../git/pointers.js';
import { git } from '../git/run.js';
import { StatCache } from '../hashing/stat-cache.js';
import { serializePointer } from '../formats/pointer.js';
import { RepoContext } from '../repo/context.js';
import { syncAttributes, workspaceFilterMatcher } from '../repo/gitattributes.js';
import { removeIgnored } from '../repo/gitignore.js';
import { abs } from '../repo/paths.js';
import { configuredFilter } from '../git/filter-config.js';

export interface MigrateResult {
  dryRun: boolean;
  /** File artifacts converted (or, with dryRun, that would be) from `<file>.mk.yaml` to the Git filter. */
  converted: Array<{ path: string; digest: string }>;
  /** File artifacts left as they are, and why. */
  skipped: Array<{ path: string; reason: string }>;
}

/**
 * Converts file artifacts tracked with a pointer file beside them (`<file>.mk.yaml`, the
 * file git-ignored) to files kept through mk's Git filter: each gets a .gitattributes line
 * (the mk block is created with the `track:` file patterns), loses its .gitignore line and
 * its `.mk.yaml`, and is `git add`ed (the filter finds the bytes in the cache: nothing new is
 * stored, the digest stays). Kind and description are kept; the Kitfile entry keeps its path.
 * Everything is staged. Folders keep their pointer files.
 */
export async function migrate(opts: { cwd?: string; dryRun?: boolean } = {}): Promise<MigrateResult> {
  const ctx = RepoContext.open(opts.cwd);
  const dryRun = !!opts.dryRun;
  const result: MigrateResult = { dryRun, converted: [], skipped: [] };
  const legacy = (await workspacePointers(ctx.root)).filter((t) => !t.filtered && t.pointer.type === 'file');
  const stat = new StatCache(ctx.stateDir);
  const ready: typeof legacy = [];
  try {
    for (const t of legacy) {
      const c = await compareWorkspace(ctx, stat, t.path, t.pointer);
      const cached = ctx.cache.existsSync({ mediaType: MediaType.octet, digest: t.pointer.digest, size: t.pointer.size });
      if (c.workspace === 'clean' || (c.workspace === 'deleted' && cached)) ready.push(t);
      else if (c.workspace === 'deleted') result.skipped.push({ path: t.path, reason: "its data is neither in the work tree nor in the cache (run 'mk pull' first)" });
      else result.skipped.push({ path: t.path, reason: "its data differs from its pointer (record it with 'mk add' or restore it with 'mk checkout' first)" });
    }
  } finally {
    stat.save();
  }
  result.converted = ready.map((t) => ({ path: t.path, digest: t.pointer.digest }));
  if (dryRun || ready.length === 0) return result;
  if (!(await configuredFilter(ctx.root)))
    throw new MkError('ENOFILTER', "mk's Git filter is not set up in this clone: 'git add' would store the data in Git", {
      hint: "run 'mk install' (or 'mk install --global'), then 'mk migrate' again",
    });
  const lock = await ctx.lock();
  try {
    // Data the work tree lacks comes from the cache first (verified), so that Git's index gets the file.
    for (const t of ready) {
      const c = await compareWorkspace(ctx, stat, t.path, t.pointer);
      if (c.workspace === 'deleted') {
        const placed = await placeBlob(ctx.cache, t.pointer.digest, t.pointer.size, abs(ctx.root, t.path), t.pointer.exec ? 0o755 : 0o644, 'copy');
        stat.record(t.path, placed.stat, t.pointer.digest, undefined, true);
      }
    }
    stat.save();
    const covered = workspaceFilterMatcher(ctx.root);
    await syncAttributes(ctx.root, ctx.config.track, { addPaths: ready.map((t) => t.path).filter((p) => !covered(p)) });
    const stage = new Set<string>(['.gitattributes']);
    for (const t of ready) {
      const file = await removeIgnored(ctx.root, t.path);
      if (file) stage.add(file);
    }
    await git(ctx.root, ['rm', '-q', '--cached', '--ignore-unmatch', '--', ...ready.map((t) => t.pointerPath)]);
    for (const t of ready) rmSync(abs(ctx.root, t.pointerPath), { force: true });
    await git(ctx.root, ['add', '--', ...stage]);
    await git(ctx.root, ['add', '--', ...ready.map((t) => t.path)]);
    // The filter guessed kinds from the paths: the pointers keep what their .mk.yaml said.
    const now = new Map(
      (
        await filteredIndexPointers(
          ctx.root,
          ready.map((t) => t.path),
        )
      ).map((t) => [t.path, t]),
    );
    const rewrite: Array<{ path: string; text: string; exec?: boolean }> = [];
    for (const t of ready) {
      const n = now.get(t.path);
      if (!n || n.pointer.digest !== t.pointer.digest) throw new MkError('EMIGRATE', `${t.path} did not go through mk's Git filter as expected`, { hint: "check 'git check-attr filter -- <path>'" });
      if (n.pointer.kind !== t.pointer.kind || n.pointer.description !== t.pointer.description) {
        const p = { ...n.pointer, kind: t.pointer.kind };
        if (t.pointer.description === undefined) delete p.description;
        else p.description = t.pointer.description;
        rewrite.push({ path: t.path, text: serializePointer(p), exec: p.exec });
      }
    }
    await stagePointerTexts(ctx.root, rewrite);
  } finally {
    lock.release();
  }
  return result;
}
