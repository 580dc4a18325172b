import { existsSync, lstatSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { MkError, UsageError } from '../errors/index.js';
import { readWorkspacePointer, underPrefix, workspacePointerPaths } from '../git/pointers.js';
import { git } from '../git/run.js';
import { planKitfileRename } from '../repo/kitfile-file.js';
import { dataPathFor, isPointerPath, pointerPathFor } from '../formats/pointer.js';
import { RepoContext } from '../repo/context.js';
import { Session } from '../worktree/session.js';
import { moveTracked } from '../worktree/move.js';
import { ATTRIBUTES_FILE, readAttributes, syncAttributes, workspaceFilterMatcher } from '../repo/gitattributes.js';
import { checkIgnorable } from '../repo/gitignore.js';
import { abs, assertNoSymlinkedParents, repoRelative } from '../repo/paths.js';
import { writeFileAtomic } from '../util/fs.js';

export interface MoveResult {
  from: string;
  to: string;
  /** `mk`: a pointer-tracked artifact (data, pointer, .gitignore line and Kitfile entry moved); `git`: a path git tracks, moved by `git mv`. */
  by: 'mk' | 'git';
  /** Files staged (or, for `git`, the paths git moved). */
  staged: string[];
}

/**
 * Moves a tracked artifact: renames its data (no copy, nothing hashed again: the stat cache
 * and stamp entries follow), its pointer, its `.gitignore` line and its Kitfile entry, and
 * stages them. A path that is not a pointer-tracked artifact but that git tracks (code, or a
 * file artifact kept by mk's clean/smudge filter) is moved by `git mv`.
 */
export async function move(source: string, destination: string, opts: { cwd?: string; stage?: boolean } = {}): Promise<MoveResult> {
  const ctx = RepoContext.open(opts.cwd);
  const cwd = opts.cwd ?? process.cwd();
  const rel = (p: string) => {
    const r = repoRelative(ctx.root, p.replace(/\/+$/, '') || p, cwd);
    return isPointerPath(r) ? dataPathFor(r) : r;
  };
  const from = rel(source);
  let to = rel(destination);
  const pointer = readWorkspacePointer(ctx.root, pointerPathFor(from));
  if (!pointer) {
    // The seam for what git itself tracks (filter-tracked files included): git moves it.
    const known = (await git(ctx.root, ['ls-files', '-z', '--', from])).length > 0;
    if (!known) throw new MkError('ENOTTRACKED', `${from} is not tracked (no ${pointerPathFor(from)}, and git does not track it)`, { hint: "track it first with 'mk add', or move it with mv" });
    // A file kept through mk's filter: its Kitfile entry follows (planned, so validated, before
    // anything moves), and an exact-path .gitattributes line moves first, so that Git cleans the
    // file at its new path too (without it Git would store the bytes).
    const staged = [from, to];
    const filtered = workspaceFilterMatcher(ctx.root);
    const isFilteredFile = filtered(from) && !isDirectory(abs(ctx.root, from));
    const dest = isDirectory(abs(ctx.root, to)) ? (to === '.' ? basename(from) : `${to}/${basename(from)}`) : to;
    const kitfile = isFilteredFile ? planKitfileRename(ctx.root, from, dest) : undefined;
    // Checked before anything changes (git mv would fail after the .gitattributes line moved).
    if (isFilteredFile) {
      if (existsSync(abs(ctx.root, dest))) throw new MkError('EEXIST', `${dest} already exists`, { hint: 'choose another name, or remove it first' });
      if (!isDirectory(dirname(abs(ctx.root, dest)))) throw new MkError('ENOENT', `${dirname(dest)}: no such folder`, { hint: `create it first (mkdir -p ${dirname(dest)})` });
    }
    const attributesBefore = isFilteredFile ? readAttributes(ctx.root) : undefined;
    if (isFilteredFile && !filtered(dest) && (await syncAttributes(ctx.root, ctx.config.track, { addPaths: [dest], dropPaths: [from] }))) {
      await git(ctx.root, ['add', '--', ATTRIBUTES_FILE]);
      staged.push(ATTRIBUTES_FILE);
    }
    // A large file git holds as clean is renamed by mk itself (git mv would read it all through the filter).
    const rename = isFilteredFile && !existsSync(abs(ctx.root, dest)) ? await (await import('../git/index-stat.js')).prepareRename(ctx.root, ctx.stateDir, from) : undefined;
    try {
      if (rename) await rename.move(dest);
      else await git(ctx.root, ['mv', '--', abs(ctx.root, from), abs(ctx.root, to)]);
    } catch (e) {
      // The file did not move: neither does its .gitattributes line (else git would store its bytes).
      if (staged.includes(ATTRIBUTES_FILE) && attributesBefore !== undefined && existsSync(abs(ctx.root, from))) {
        await writeFileAtomic(abs(ctx.root, ATTRIBUTES_FILE), attributesBefore);
        await git(ctx.root, ['add', '--', ATTRIBUTES_FILE]);
      }
      throw e;
    }
    if (kitfile) {
      await writeFileAtomic(abs(ctx.root, kitfile.name), kitfile.text);
      await git(ctx.root, ['add', '--', kitfile.name]);
      staged.push(kitfile.name);
    }
    return { from, to, by: 'git', staged };
  }
  const tracked = (await workspacePointerPaths(ctx.root)).map(dataPathFor);
  // Like mv: into an existing folder that is not itself an artifact.
  if (isDirectory(abs(ctx.root, to)) && !tracked.includes(to)) to = to === '.' ? basename(from) : `${to}/${basename(from)}`;
  if (to === from) throw new UsageError(`${from} is already there`);
  if (to === '.' || to === '.mk' || to.startsWith('.mk/') || basename(to) === '.gitignore') throw new UsageError(`cannot move ${from} to ${to}`, 'name a new data path inside the repository');
  if (underPrefix(to, from)) throw new UsageError(`cannot move ${from} into itself (${to})`);
  if (existsSync(abs(ctx.root, to)) || existsSync(abs(ctx.root, pointerPathFor(to)))) throw new MkError('EEXIST', `${to} already exists`, { hint: 'choose another name, or remove it first' });
  const inside = tracked.find((e) => e !== from && underPrefix(to, e));
  if (inside) throw new UsageError(`${to} is inside the tracked directory ${inside}`);
  const holds = tracked.find((e) => e !== from && underPrefix(e, to));
  if (holds) throw new UsageError(`${to} would contain the tracked artifact ${holds}`);
  for (const p of [from, to]) {
    assertNoSymlinkedParents(ctx.root, p);
    checkIgnorable(ctx.root, p);
  }
  planKitfileRename(ctx.root, from, to); // validated before anything moves
  const session = await Session.writer(ctx);
  try {
    const staged = await moveTracked(session, from, to, pointer, { stage: opts.stage });
    return { from, to, by: 'mk', staged };
  } finally {
    session.close();
  }
}

function isDirectory(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}
