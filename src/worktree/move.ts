import { existsSync, lstatSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { updateIndex } from '../git/index-update.js';
import { recordPointerState } from '../git/pointer-state.js';
import { pointerPathFor, serializePointer, type Pointer } from '../formats/pointer.js';
import { planKitfileRename } from '../repo/kitfile-file.js';
import { folderMarkerOf, hasFolderMarker, ignoreFileOf, ignoreLine, keepOutOfGit, readIgnoreFile } from '../repo/gitignore.js';
import { abs } from '../repo/paths.js';
import { writeFileAtomic } from '../util/fs.js';
import { movePartial } from './partial.js';
import type { Session } from './session.js';

export interface MoveOptions {
  /** Stage the change (default true). */
  stage?: boolean;
  /** The data is at `to` already (the user moved it: `mv`, `git mv`): only what records it moves. */
  dataMoved?: boolean;
  /** More paths to take out of the index in the same step (data files `git add -A` staged at the new place). */
  unstage?: string[];
}

/**
 * Moves a pointer-tracked artifact from `from` to `to` (repository paths the caller checked):
 * its data is renamed (no copy, nothing hashed again: the stat cache and stamp entries follow),
 * unless the user moved it already; its pointer, what keeps it out of Git (the folder's marker
 * moves with the folder; a line in the parent's .gitignore is rewritten) and its Kitfile entry
 * follow; all of it is staged in one index update. Returns the paths staged (removed ones first).
 */
export async function moveTracked(session: Session, from: string, to: string, pointer: Pointer, opts: MoveOptions = {}): Promise<string[]> {
  const { ctx, stat, stamps } = session;
  const kitfile = planKitfileRename(ctx.root, from, to); // validated before anything moves
  const add: string[] = [];
  const remove: string[] = [pointerPathFor(from), ...(opts.unstage ?? [])];
  if (!opts.dataMoved) {
    mkdirSync(dirname(abs(ctx.root, to)), { recursive: true });
    let before;
    try {
      before = lstatSync(abs(ctx.root, from));
    } catch {
      /* no data in the work tree: only the pointer moves */
    }
    if (before) {
      renameSync(abs(ctx.root, from), abs(ctx.root, to));
      const renamed = lstatSync(abs(ctx.root, to));
      stat.move(from, to, before.isFile() ? { before, renamed } : undefined);
    }
  } else stat.move(from, to);
  if (pointer.type === 'dir') {
    stamps.move(from, to);
    movePartial(ctx.stateDir, from, to); // a folder restored in part stays so, under its new name
  } else stamps.forget(from);
  // A folder's marker (its own .gitignore) moved with it: the new one enters the index, the old one leaves it.
  if (hasFolderMarker(ctx.root, to)) {
    remove.push(folderMarkerOf(from));
    add.push(folderMarkerOf(to));
  }
  await writeFileAtomic(abs(ctx.root, pointerPathFor(to)), serializePointer(pointer, basename(to)));
  add.push(pointerPathFor(to));
  rmSync(abs(ctx.root, pointerPathFor(from)), { force: true });
  const { file, name } = ignoreFileOf(from);
  const text = readIgnoreFile(ctx.root, file);
  if (text !== undefined) {
    const next = text
      .split('\n')
      .filter((l) => l !== ignoreLine(name))
      .join('\n');
    if (next !== text) {
      await writeFileAtomic(abs(ctx.root, file), next);
      add.push(file);
    }
  }
  const kept = await keepOutOfGit(ctx.root, to, pointer.type === 'dir' && existsSync(abs(ctx.root, to)));
  if (kept) add.push(kept);
  if (kitfile) {
    await writeFileAtomic(abs(ctx.root, kitfile.name), kitfile.text);
    add.push(kitfile.name);
  }
  const staged = [...new Set(add)];
  if (opts.stage !== false) {
    await updateIndex(ctx.root, remove, staged);
    await recordPointerState(ctx.root, ctx.stateDir);
  }
  return [...remove, ...staged];
}
