import { lstatSync, type BigIntStats } from 'node:fs';
import { snapshot } from './snapshot.js';
import { MkError } from '../errors/index.js';
import { StatCache } from '../hashing/stat-cache.js';
import { abs } from '../repo/paths.js';
import { recordIndexStat } from '../git/index-stat.js';
import { filteredIndexPointers } from '../git/pointers.js';
import { git } from '../git/run.js';
import { stagePointerTexts } from '../git/index-update.js';
import { guessKind, samePointerData, serializePointer, type Kind, type Pointer } from '../formats/pointer.js';
import type { RepoContext } from '../repo/context.js';
import { ATTRIBUTES_FILE, syncAttributes, workspaceFilterMatcher } from '../repo/gitattributes.js';
import { syncProjectKitfile } from '../repo/kitfile-file.js';
import { configuredFilter } from '../git/filter-config.js';

export interface FilteredAdd {
  path: string;
  pointer: Pointer;
  changed: boolean;
}

/**
 * `mk add <file>` in a repository that keeps files through mk's Git filter: a file no
 * .gitattributes line covers gets an exact-path line in mk's block; mk stores its bytes in
 * the cache and stages the pointer the clean filter gives for it (the same text, so git sees
 * the file as clean), with the file's stat data (see recordIndexStat). A kind or description
 * given on the command line is written into the staged pointer; the Kitfile gets its entry.
 */
export async function addFilteredFiles(ctx: RepoContext, rels: string[], opts: { kind?: Kind; description?: string; stage?: boolean }): Promise<FilteredAdd[]> {
  if (!rels.length) return [];
  if (!(await configuredFilter(ctx.root)))
    throw new MkError('ENOFILTER', `mk's Git filter is not set up in this clone, so 'git add' would store the bytes of ${rels[0]} in Git`, {
      hint: "run 'mk install' (this clone) or 'mk install --global' (every clone), then add it again",
    });
  const before = new Map((await filteredIndexPointers(ctx.root, rels)).map((t) => [t.path, t.pointer]));
  const covered = workspaceFilterMatcher(ctx.root);
  const uncovered = rels.filter((r) => !covered(r));
  const stage: string[] = [];
  if (uncovered.length && (await syncAttributes(ctx.root, ctx.config.track, { addPaths: uncovered }))) stage.push(ATTRIBUTES_FILE);
  if (opts.stage === false) return rels.map((path) => ({ path, pointer: before.get(path)!, changed: false })).filter((a) => a.pointer);
  if (stage.length) await git(ctx.root, ['add', '--', ...stage]);
  const out: FilteredAdd[] = [];
  const attrs = (await git(ctx.root, ['check-attr', '-z', 'filter', '--', ...rels])).split('\0');
  for (let i = 0; i + 2 < attrs.length; i += 3)
    if (attrs[i + 2] !== 'mk') throw new MkError('ENOFILTER', `${attrs[i]} did not go through mk's Git filter`, { hint: "check 'git check-attr filter -- <path>' and the .gitattributes files" });
  // mk reads each file itself, as for any artifact (an in-kernel copy into the cache while
  // another core hashes it), stages the pointer the clean filter would give, and writes the
  // file's stat data into the index: git has no reason to send the bytes through the filter
  // again (for a 2 GiB model that pipe alone costs more than hashing it).
  const stat = new StatCache(ctx.stateDir);
  const lock = await ctx.lock();
  const staged: Array<{ path: string; text: string; exec?: boolean; st: BigIntStats }> = [];
  try {
    for (const path of rels) {
      const prev = before.get(path);
      const st = lstatSync(abs(ctx.root, path), { bigint: true });
      const snap = await snapshot(ctx, stat, path, {
        kind: opts.kind ?? prev?.kind ?? guessKind(path),
        description: opts.description ?? prev?.description,
        previous: prev,
      });
      stat.save();
      const p = snap.pointer;
      out.push({ path, pointer: p, changed: !prev || !samePointerData(prev, p) || prev.kind !== p.kind || prev.description !== p.description });
      staged.push({ path, text: serializePointer(p), exec: p.exec, st });
    }
    const oids = await stagePointerTexts(ctx.root, staged);
    await recordIndexStat(
      ctx.root,
      staged.map((s) => ({ path: s.path, oid: oids.get(s.path)!, st: s.st })),
    );
  } finally {
    lock.release();
  }
  const kf = await syncProjectKitfile(
    ctx.root,
    out.map((a) => ({ path: a.path, kind: a.pointer.kind, description: a.pointer.description })),
  );
  if (kf) await git(ctx.root, ['add', '--', kf]);
  return out;
}
