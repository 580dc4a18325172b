import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parsePointer, serializePointer, type Pointer } from '../formats/pointer.js';
import { workspacePointers, type TrackedPointer } from '../git/pointers.js';
import type { RepoContext } from '../repo/context.js';
import { writeFileAtomicSync } from '../util/fs.js';
import { checkout } from './checkout.js';
import { judge } from './judge.js';
import { loadDirManifestFrom, mergeEntries, mergeFiles, storeMergedDir } from './merge.js';
import { Session } from './session.js';
import { snapshot } from './snapshot.js';

/**
 * `git stash` stashes tracked files; a tracked folder's data is ignored by Git, so its
 * unsaved edits would stay in the work tree. When a stash is made (the reference-transaction
 * hook sees refs/stash get a new commit, before git resets the work tree), mk stores each
 * edited artifact's data in the cache and notes it under that stash commit
 * (`.git/mk/stash/<commit>.json`: path → the version the edits were made on, and the edited
 * version); git's reset then puts the pointers' data back. When that stash is popped, the
 * edits come back on top of whatever the pointer records then (merged file by file when it
 * moved since), as the user's unsaved changes again.
 */
export interface StashedEdit {
  /** The pointer the edits were made on (its text). */
  base: string;
  /** The edited data, as a pointer (its text): every blob is in the cache. */
  edited: string;
}

function noteFile(ctx: RepoContext, commit: string): string {
  return join(ctx.stateDir, 'stash', `${commit}.json`);
}

/** Stores the edited artifacts' data and notes it under `commit` (the new stash). Returns the paths noted. */
export async function stashEdits(ctx: RepoContext, commit: string): Promise<string[]> {
  if (!/^[0-9a-f]{40,64}$/.test(commit)) return [];
  const tracked = (await workspacePointers(ctx.root)).filter((t) => !t.filtered);
  if (!tracked.length) return [];
  const session = await Session.writer(ctx);
  const note: Record<string, StashedEdit> = {};
  try {
    for (const t of tracked) {
      const d = await judge(ctx, session.stat, session.stamps, session.journal, t.path, t.pointer, async function* () {});
      if (d.state !== 'modified') continue;
      const snap = await snapshot(ctx, session.stat, t.path, { kind: t.pointer.kind, description: t.pointer.description, previous: t.pointer });
      note[t.path] = { base: t.text, edited: serializePointer(snap.pointer, t.path.split('/').pop()!) };
    }
  } finally {
    session.close();
  }
  const paths = Object.keys(note);
  if (paths.length) {
    mkdirSync(join(ctx.stateDir, 'stash'), { recursive: true });
    writeFileAtomicSync(noteFile(ctx, commit), JSON.stringify(note, null, 1) + '\n');
  }
  return paths;
}

export interface UnstashResult {
  /** Artifacts whose stashed edits are back in the work tree. */
  applied: string[];
  /** Artifacts whose stashed edits could not come back (the user changed them since, or they conflict): [path, why]. */
  left: Array<[string, string]>;
}

/** After `git stash pop` dropped stash `commit`: its noted edits come back, as the user's unsaved changes. */
export async function unstashEdits(ctx: RepoContext, commit: string): Promise<UnstashResult> {
  const out: UnstashResult = { applied: [], left: [] };
  let note: Record<string, StashedEdit>;
  try {
    note = JSON.parse(readFileSync(noteFile(ctx, commit), 'utf8')) as Record<string, StashedEdit>;
  } catch {
    return out;
  }
  const now = new Map((await workspacePointers(ctx.root, Object.keys(note))).map((t) => [t.path, t]));
  const targets: TrackedPointer[] = [];
  const session = new Session(ctx);
  for (const [path, e] of Object.entries(note)) {
    const t = now.get(path);
    let base: Pointer;
    let edited: Pointer;
    try {
      base = parsePointer(e.base, path);
      edited = parsePointer(e.edited, path);
    } catch {
      out.left.push([path, 'the note of its stashed changes cannot be read']);
      continue;
    }
    if (!t || t.filtered || t.pointer.type !== edited.type) {
      out.left.push([path, 'it is no longer tracked as it was']);
      continue;
    }
    const d = await judge(ctx, session.stat, session.stamps, session.journal, path, t.pointer, async function* () {});
    if (d.state === 'modified') {
      out.left.push([path, 'it holds other unsaved changes now']);
      continue;
    }
    let target = edited;
    if (t.pointer.digest !== base.digest) {
      // The pointer moved since the stash: the edits are merged onto its version, file by file.
      if (edited.type !== 'dir') {
        out.left.push([path, 'its pointer changed since the stash']);
        continue;
      }
      const src = { cache: ctx.cache };
      const [mb, mo, mt] = await Promise.all([loadDirManifestFrom(src, base.digest), loadDirManifestFrom(src, t.pointer.digest), loadDirManifestFrom(src, edited.digest)]);
      const merged = mergeFiles(mergeEntries(mb), mergeEntries(mo), mergeEntries(mt));
      if (merged.conflicts.length) {
        out.left.push([path, `its pointer changed since the stash, and ${merged.conflicts.length} file(s) changed on both (e.g. ${merged.conflicts[0]!.path})`]);
        continue;
      }
      const m = await storeMergedDir(src, path, merged.files, { ours: mo, theirs: mt }, { rawThreshold: ctx.config.rawThreshold, packTarget: ctx.config.packTarget });
      target = { ...t.pointer, digest: m.digest, size: m.size, files: m.files };
    }
    targets.push({ ...t, pointer: target, text: serializePointer(target, path.split('/').pop()!) });
  }
  session.save();
  if (targets.length) {
    const r = await checkout({ cwd: ctx.root, pointers: targets, baseline: new Map(targets.map((t) => [t.path, now.get(t.path)!.pointer])), mode: 'discard', usersData: true });
    out.applied.push(...r.artifacts.filter((a) => a.action === 'restored' || a.action === 'unchanged').map((a) => a.path));
  }
  if (!out.left.length) rmSync(noteFile(ctx, commit), { force: true });
  return out;
}
