import { readFileSync, rmSync } from 'node:fs';
import { MkError, UsageError } from '../errors/index.js';
import { git } from '../git/run.js';
import { readWorkspacePointer } from '../git/pointers.js';
import { planKitfileSync } from '../modelkit/kitfile-file.js';
import { dataPathFor, isPointerPath, pointerPathFor } from '../pointer/pointer.js';
import { RepoContext } from '../repo/context.js';
import { abs, repoRelative } from '../repo/paths.js';
import { writeFileAtomic } from '../util/fs.js';
import { ignoreLine } from '../util/gitignore.js';

export interface RemoveResult {
  path: string;
  pointerPath: string;
  /** The data was deleted from the work tree too (--data). */
  dataRemoved: boolean;
}

/**
 * Stops tracking artifacts: removes the pointer (staged), the .gitignore entry and the
 * Kitfile entry. The data stays in the work tree (as an untracked file) unless `data` is set;
 * its bytes stay in the cache until `mk gc`.
 */
export async function remove(paths: string[], opts: { cwd?: string; data?: boolean; stage?: boolean } = {}): Promise<RemoveResult[]> {
  if (paths.length === 0) throw new UsageError('nothing to remove', 'name tracked artifacts, e.g. mk rm data/old');
  const ctx = RepoContext.open(opts.cwd);
  const cwd = opts.cwd ?? process.cwd();
  const rels = paths.map((p) => {
    const r = repoRelative(ctx.root, p.replace(/\/+$/, '') || p, cwd);
    return isPointerPath(r) ? dataPathFor(r) : r;
  });
  for (const rel of rels) if (!readWorkspacePointer(ctx.root, pointerPathFor(rel))) throw new MkError('ENOTTRACKED', `${rel} is not tracked by mk (no ${pointerPathFor(rel)})`);
  // The Kitfile change is worked out (and validated) before anything is touched.
  const kitfile = planKitfileSync(ctx.root, [], rels);
  const lock = await ctx.lock();
  const out: RemoveResult[] = [];
  try {
    for (const rel of rels) {
      const pointerPath = pointerPathFor(rel);
      rmSync(abs(ctx.root, pointerPath), { force: true });
      const slash = rel.lastIndexOf('/');
      const ignoreFile = slash < 0 ? '.gitignore' : `${rel.slice(0, slash)}/.gitignore`;
      const staged = [pointerPath];
      try {
        const text = readFileSync(abs(ctx.root, ignoreFile), 'utf8');
        const line = ignoreLine(rel.slice(slash + 1));
        const next = text.split('\n').filter((l) => l !== line).join('\n');
        if (next !== text) {
          await writeFileAtomic(abs(ctx.root, ignoreFile), next);
          staged.push(ignoreFile);
        }
      } catch {
        /* no .gitignore there */
      }
      if (opts.data) rmSync(abs(ctx.root, rel), { recursive: true, force: true });
      if (opts.stage !== false) await git(ctx.root, ['add', '-A', '--', ...staged]);
      out.push({ path: rel, pointerPath, dataRemoved: !!opts.data });
    }
    if (kitfile) {
      await writeFileAtomic(abs(ctx.root, kitfile.name), kitfile.text);
      if (opts.stage !== false) await git(ctx.root, ['add', '--', kitfile.name]);
    }
  } finally {
    lock.release();
  }
  return out;
}
