import { MkError } from '../../errors/index.js';
import { filteredIndexPointers } from '../../git/pointers.js';
import { git } from '../../git/run.js';
import { stagePointerTexts } from '../../git/index-update.js';
import { guessKind, samePointerData, serializePointer, type Kind, type Pointer } from '../../pointer/pointer.js';
import type { RepoContext } from '../../repo/context.js';
import { ATTRIBUTES_FILE, syncAttributes, workspaceFilterMatcher } from '../../repo/gitattributes.js';
import { syncProjectKitfile } from '../../modelkit/kitfile-file.js';
import { configuredFilter } from './setup.js';

export interface FilteredAdd {
  path: string;
  pointer: Pointer;
  changed: boolean;
}

/**
 * `mk add <file>` in a repository that keeps files through mk's Git filter: a file no
 * .gitattributes line covers gets an exact-path line in mk's block, then `git add` sends it
 * through the filter (which stores its bytes in the cache; Git stores the pointer). A kind or
 * description given on the command line is written into the staged pointer; the Kitfile gets
 * its entry.
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
  await git(ctx.root, ['add', '--', ...stage, ...rels]);
  const after = new Map((await filteredIndexPointers(ctx.root, rels)).map((t) => [t.path, t]));
  const out: FilteredAdd[] = [];
  const rewrite: Array<{ path: string; text: string; exec?: boolean }> = [];
  for (const path of rels) {
    const t = after.get(path);
    if (!t) throw new MkError('ENOFILTER', `${path} did not go through mk's Git filter`, { hint: "check 'git check-attr filter -- <path>' and run 'mk install'" });
    const p: Pointer = { ...t.pointer };
    const kind = opts.kind ?? before.get(path)?.kind ?? guessKind(path);
    const description = opts.description ?? before.get(path)?.description;
    if (p.kind !== kind || p.description !== description) {
      p.kind = kind;
      if (description === undefined) delete p.description;
      else p.description = description;
      rewrite.push({ path, text: serializePointer(p), exec: p.exec });
    }
    const prev = before.get(path);
    out.push({ path, pointer: p, changed: !prev || !samePointerData(prev, p) || prev.kind !== p.kind || prev.description !== p.description });
  }
  await stagePointerTexts(ctx.root, rewrite);
  const kf = await syncProjectKitfile(
    ctx.root,
    out.map((a) => ({ path: a.path, kind: a.pointer.kind, description: a.pointer.description })),
  );
  if (kf) await git(ctx.root, ['add', '--', kf]);
  return out;
}
