import { existsSync, lstatSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { MkError, PointerError, UsageError } from '../errors/index.js';
import { snapshot } from './snapshot.js';
import { Journal } from './journal.js';
import { assertNotPartial, forgetPartial } from './partial.js';
import { StatCache } from '../hashing/stat-cache.js';
import { findSignatureAsync, Stamps } from '../hashing/stamps.js';
import { compareWorkspace, digestLookup, neededBlobs } from './compare.js';
import { indexTexts, updateIndex } from '../git/index-update.js';
import { recordPointerState } from '../git/pointer-state.js';
import { readWorkspacePointer, underPrefix, workspacePointerPaths } from '../git/pointers.js';
import { dataPathFor, guessKind, isPointerPath, pointerPathFor, serializePointer, type Kind, type Pointer, samePointerData } from '../formats/pointer.js';
import { RepoContext } from '../repo/context.js';
import { abs, assertNoSymlinkedParents, repoRelative } from '../repo/paths.js';
import { removeStaleTemps, writeFileAtomic } from '../util/fs.js';
import { checkIgnorable, folderMarkerOf, hasFolderMarker, ignoreFileOf, ignores, keepOutOfGit, removeIgnored } from '../repo/gitignore.js';
import { kitfileName, kitfileNeedsStaging, syncProjectKitfile } from '../repo/kitfile-file.js';
import { KITFILE_NAMES } from '../formats/kitfile-names.js';
import { readAttributes, usesFilter } from '../repo/gitattributes.js';

export interface AddOptions {
  cwd?: string;
  kind?: Kind;
  description?: string;
  /** Stage the pointer and .gitignore with git (default true). */
  stage?: boolean;
  /** More paths to take out of the index in the same step that stages the pointers. */
  unstage?: string[];
}

export interface AddedArtifact {
  path: string;
  pointerPath: string;
  pointer: Pointer;
  changed: boolean;
  hashedFiles: number;
  newBlobs: number;
  newBytes: number;
  skipped: string[];
  warnings: string[];
}

/**
 * Records files or folders (`mk add`, the pre-commit hook): stores their bytes in the cache,
 * writes their pointers and stages them.
 */
export async function record(paths: string[], opts: AddOptions = {}): Promise<AddedArtifact[]> {
  const ctx = RepoContext.open(opts.cwd);
  const cwd = opts.cwd ?? process.cwd();
  const rels = [...new Set(paths.map((p) => repoRelative(ctx.root, p.replace(/\/+$/, '') || p, cwd)))];
  const existing = (await workspacePointerPaths(ctx.root)).map(dataPathFor);
  for (const rel of rels) {
    if (rel === '.') throw new UsageError('cannot track the whole repository', 'name a data file or folder inside it');
    if (isPointerPath(rel)) throw new UsageError(`${rel} is an mk pointer; name the data path '${dataPathFor(rel)}' instead`);
    if (rel === '.mk' || rel.startsWith('.mk/') || rel === '.gitignore' || rel.endsWith('/.gitignore'))
      throw new UsageError(`${rel} belongs to the repository's own settings and cannot be tracked by mk`);
    assertNoSymlinkedParents(ctx.root, rel);
    checkIgnorable(ctx.root, rel);
    if (!existsSync(abs(ctx.root, rel))) throw new MkError('ENOENT', `${rel}: no such file or directory`);
    const inside = existing.find((e) => e !== rel && underPrefix(rel, e));
    if (inside) throw new UsageError(`${rel} is inside the tracked directory ${inside}`, `run 'mk add ${inside}' to record changes to it`);
    const holds = existing.find((e) => e !== rel && underPrefix(e, rel));
    if (holds) throw new UsageError(`${rel} contains the tracked artifact ${holds}`, 'track the folders inside it one by one, or remove that pointer first');
  }
  // A folder restored in part holds only some of its files: recording it would delete the rest.
  // (A note left on a path no longer tracked, e.g. after 'mk rm', no longer means anything.)
  assertNotPartial(
    ctx.stateDir,
    rels.filter((r) => existing.includes(r)),
  );
  forgetPartial(
    ctx.stateDir,
    rels.filter((r) => !existing.includes(r)),
  );
  // mk's own placement of a version there was interrupted: recording would record a mix of two versions.
  const journal = new Journal(ctx.stateDir);
  const interrupted: string[] = [];
  for (const r of rels.filter((x) => existing.includes(x) && journal.get(x))) {
    let p: Pointer | undefined;
    try {
      p = readWorkspacePointer(ctx.root, pointerPathFor(r));
    } catch {
      /* a broken pointer: the data cannot be judged clean */
    }
    // Killed after the data was in place but before its note went: the note is all that is left.
    if (p && (await compareWorkspace(ctx, new StatCache(ctx.stateDir), r, p)).workspace === 'clean') journal.done([r]);
    else interrupted.push(r);
  }
  if (interrupted.length)
    throw new MkError('EINTERRUPTED', `${interrupted.join(', ')}: mk was placing another version there when it was stopped; recording it now would record a mix of two versions`, {
      hint: `finish the placement with 'mk checkout -- ${interrupted[0]}' (it names any changes of yours in the way), then record your changes`,
      data: { paths: interrupted },
    });
  // In a repository that keeps files through mk's Git filter, a file (not yet tracked with a
  // pointer file beside it) goes through Git: the filter stores it, Git stores its pointer.
  const viaFilter = usesFilter(readAttributes(ctx.root)) ? rels.filter((r) => lstatSync(abs(ctx.root, r)).isFile() && !existing.includes(r)) : [];
  const filtered: AddedArtifact[] = [];
  if (viaFilter.length) {
    const { addFilteredFiles } = await import('./record-filtered.js');
    for (const a of await addFilteredFiles(ctx, viaFilter, { kind: opts.kind, description: opts.description, stage: opts.stage })) {
      filtered.push({ path: a.path, pointerPath: a.path, pointer: a.pointer, changed: a.changed, hashedFiles: 0, newBlobs: 0, newBytes: 0, skipped: [], warnings: [] });
    }
    const rest = rels.filter((r) => !viaFilter.includes(r));
    if (!rest.length) return filtered;
    rels.splice(0, rels.length, ...rest);
  }
  const lock = await ctx.lock();
  for (const k of KITFILE_NAMES) removeStaleTemps(ctx.root, k); // a killed mk's Kitfile temp file
  const stat = new StatCache(ctx.stateDir);
  const stamps = new Stamps(ctx.stateDir);
  const results: AddedArtifact[] = [];
  const unstage: string[] = [];
  const stage: string[] = [];
  const ignoreChecks: string[] = [];
  try {
    for (const rel of rels) {
      const pointerPath = pointerPathFor(rel);
      removeStaleTemps(dirname(abs(ctx.root, rel)), basename(rel)); // left by a killed mk (pointer or data temp files)
      removeStaleTemps(dirname(abs(ctx.root, rel)), '.gitignore');
      removeStaleTemps(abs(ctx.root, rel), '.gitignore'); // a folder's marker is written inside it
      // A broken (or conflicted) pointer is replaced: its error message tells users to re-create it with 'mk add'.
      let previous: Pointer | undefined;
      try {
        previous = readWorkspacePointer(ctx.root, pointerPath);
      } catch (e) {
        if (!(e instanceof PointerError) && !(e instanceof MkError && e.code === 'ECONFLICT')) throw e;
      }
      const kind = opts.kind ?? previous?.kind ?? guessKind(rel + (lstatSync(abs(ctx.root, rel)).isDirectory() ? '/' : ''));
      const description = opts.description ?? previous?.description;
      // The folder's stat signature, taken before any file is read: recorded as a stamp with
      // the new pointer, so status and the pre-commit hook need not read the folder again.
      const early = lstatSync(abs(ctx.root, rel)).isDirectory() ? findSignatureAsync(abs(ctx.root, rel)) : undefined;
      const snap = await snapshot(ctx, stat, rel, { kind, description, previous });
      stat.save();
      const sig = await early;
      if (sig && snap.manifest) stamps.record(rel, snap.pointer.digest, sig, neededBlobs(snap.pointer, snap.manifest), digestLookup(snap.manifest));
      else if (stamps.digestOf(rel) !== snap.pointer.digest) stamps.versionOnly(rel, snap.pointer.digest, neededBlobs(snap.pointer, snap.manifest)); // the version recorded, for the judgement (a stamp of another version would no longer be true)
      const changed = !previous || !samePointerData(previous, snap.pointer) || previous.kind !== kind || previous.description !== description;
      if (changed) await writeFileAtomic(abs(ctx.root, pointerPath), serializePointer(snap.pointer, rel.split('/').pop()!));
      // Out of Git: a folder by its marker (a .gitignore inside it, which Git tracks and moves
      // with the folder), a file by a line in its folder's .gitignore.
      const folder = lstatSync(abs(ctx.root, rel)).isDirectory();
      const changedIgnore = await keepOutOfGit(ctx.root, rel, folder);
      // A file git tracked so far leaves the index: from now on its pointer stands for it.
      unstage.push(rel);
      stage.push(pointerPath);
      if (folder && hasFolderMarker(ctx.root, rel)) {
        // The marker goes in with the pointer (always: the folder's other files leave the index).
        stage.push(folderMarkerOf(rel));
        // A line an older mk wrote in the parent's .gitignore: the marker does its work now.
        const dropped = await removeIgnored(ctx.root, rel);
        if (dropped) stage.push(dropped);
      } else if (changedIgnore) stage.push(changedIgnore);
      // The .gitignore line goes in with the pointer, also when an earlier run (killed before
      // it staged anything) already wrote it to the work tree (checked below, in one go).
      else ignoreChecks.push(rel);
      results.push({
        path: rel,
        pointerPath,
        pointer: snap.pointer,
        changed,
        hashedFiles: snap.hashed,
        newBlobs: snap.newBlobs,
        newBytes: snap.newBytes,
        skipped: snap.skipped,
        warnings: snap.warnings,
      });
    }
    const synced = results.map((r) => ({ path: r.path, kind: r.pointer.kind, description: r.pointer.description }));
    const kf = await syncProjectKitfile(ctx.root, synced);
    if (kf) stage.push(kf);
    if (opts.stage !== false) {
      const name = kf ? undefined : kitfileName(ctx.root);
      const staged = await indexTexts(ctx.root, [...(name ? [name] : []), ...ignoreChecks.map((r) => ignoreFileOf(r).file)]);
      for (const r of ignoreChecks) {
        const { file, name: n } = ignoreFileOf(r);
        if (!ignores(staged.get(file), n)) stage.push(file);
      }
      if (name && kitfileNeedsStaging(name, staged.get(name), synced)) stage.push(name);
    }
    // One step for the whole index change: killed before it, the index is as it was.
    if (opts.stage !== false) await updateIndex(ctx.root, [...unstage, ...(opts.unstage ?? [])], [...new Set(stage)]);
    await recordPointerState(ctx.root, ctx.stateDir);
  } finally {
    stat.save();
    stamps.save();
    lock.release();
  }
  return [...filtered, ...results];
}
