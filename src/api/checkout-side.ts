import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensureCached, loadDirManifestFrom, type BlobSources } from '../worktree/merge.js';
import { extractPack, placeBlob, type PackWant } from '../worktree/materialize.js';
import { MediaType } from '../content/media-types.js';
import type { Target } from '../content/storage.js';
import { MkError, UsageError } from '../errors/index.js';
import { StatCache } from '../hashing/stat-cache.js';
import { Stamps } from '../hashing/stamps.js';
import { git } from '../git/run.js';
import { parsePointer, pointerPathFor } from '../formats/pointer.js';
import { openRemote, remoteConfig } from '../remote/remotes.js';
import { RepoContext } from '../repo/context.js';
import { abs, assertNoSymlinkedParents, checkStoredPath, repoRelative } from '../repo/paths.js';
import { pruneEmptyParents } from '../util/fs.js';
import { isFolderMarker } from '../repo/gitignore.js';

export interface SideCheckoutOptions {
  cwd?: string;
  /** Git's names for the sides of a conflicted pointer: index stage 2 (ours) or 3 (theirs). */
  side: 'ours' | 'theirs';
  /** Files (or folders) inside tracked folders whose pointer is in conflict. */
  paths: string[];
}

export interface SideCheckoutFile {
  path: string;
  action: 'written' | 'removed' | 'unchanged';
}

/**
 * `mk checkout --ours|--theirs -- <file>...`: while a merge or rebase has a folder's pointer in
 * conflict, puts one side's version of the given files (or of every file under a given
 * folder, or of the whole folder) in the work tree, as `git checkout --ours|--theirs` does for code: the side's
 * version is written, or the file removed where that side deleted it. The sides are git's
 * (index stages 2 and 3): during a rebase "ours" is the upstream and "theirs" your commit.
 * Then `mk add <folder>` records the resolution.
 */
export async function checkoutSide(opts: SideCheckoutOptions): Promise<SideCheckoutFile[]> {
  const ctx = RepoContext.open(opts.cwd);
  const cwd = opts.cwd ?? process.cwd();
  if (opts.paths.length === 0) throw new UsageError(`--${opts.side} needs the files to take`, `mk checkout --${opts.side} -- <folder>/<file>...`);
  const stage = opts.side === 'ours' ? '2' : '3';
  let remote: Promise<Target> | undefined;
  const src: BlobSources = { cache: ctx.cache, remote: ctx.config.remotes.length ? () => (remote ??= openRemote(ctx, remoteConfig(ctx), { readOnly: true })) : undefined };
  // Requests grouped by the conflicted folder they fall in.
  const byFolder = new Map<string, string[]>();
  for (const p of opts.paths) {
    const rel = repoRelative(ctx.root, p, cwd);
    checkStoredPath(rel);
    const folder = await conflictedFolder(ctx.root, rel);
    if (!folder)
      throw new MkError('ENOTTRACKED', `${rel} is not inside a tracked folder whose pointer is in conflict`, {
        hint: `for a whole artifact use 'git checkout --${opts.side} -- <pointer>' then 'mk checkout'`,
      });
    (byFolder.get(folder) ?? byFolder.set(folder, []).get(folder)!).push(rel === folder ? '' : rel.slice(folder.length + 1));
  }
  const out: SideCheckoutFile[] = [];
  const lock = await ctx.lock();
  const stat = new StatCache(ctx.stateDir);
  const stamps = new Stamps(ctx.stateDir);
  try {
    for (const [folder, wanted] of byFolder) {
      const pointerPath = pointerPathFor(folder);
      const text = await git(ctx.root, ['show', `:${stage}:${pointerPath}`], { okCodes: [128] }).catch(() => '');
      const root = abs(ctx.root, folder);
      assertNoSymlinkedParents(ctx.root, folder);
      stamps.forget(folder);
      const under = (f: string, w: string) => w === '' || f === w || f.startsWith(w + '/');
      let files: Array<{ path: string; mode: number; size: number; digest: string; layer: number }> = [];
      let layers: Array<{ format: 'raw' | 'tar'; digest: string; size: number }> = [];
      if (text) {
        const p = parsePointer(text, `${pointerPath} (${opts.side})`);
        if (p.type !== 'dir')
          throw new MkError('EUNSUPPORTED', `${pointerPath}: ${opts.side} side is a file, not a folder`, { hint: `use 'git checkout --${opts.side} -- ${pointerPath}' then 'mk checkout'` });
        const m = await loadDirManifestFrom(src, p.digest);
        files = m.files;
        layers = m.layers;
      }
      const take = files.filter((f) => wanted.some((w) => under(f.path, w)));
      await ensureCached(
        src,
        [...new Set(take.map((f) => f.layer))].map((i) => ({ mediaType: MediaType.octet, digest: layers[i]!.digest, size: layers[i]!.size })),
        `${opts.side} side of ${folder}`,
      );
      // Files under the requested paths that this side does not have: removed.
      const keep = new Set(take.map((f) => f.path));
      for (const w of wanted) {
        for (const f of listUnder(root, w)) {
          if (keep.has(f)) continue;
          rmSync(abs(root, f), { force: true });
          stat.forget(`${folder}/${f}`);
          pruneEmptyParents(root, dirname(abs(root, f)));
          out.push({ path: `${folder}/${f}`, action: 'removed' });
        }
      }
      const byLayer = new Map<number, typeof take>();
      for (const f of take) (byLayer.get(f.layer) ?? byLayer.set(f.layer, []).get(f.layer)!).push(f);
      for (const [li, fs] of byLayer) {
        const layer = layers[li]!;
        if (layer.format === 'raw') {
          const f = fs[0]!;
          const placed = await placeBlob(ctx.cache, f.digest, f.size, abs(root, f.path), f.mode, 'copy');
          stat.record(`${folder}/${f.path}`, placed.stat, f.digest, undefined, true);
        } else {
          const wants = new Map<string, PackWant>();
          for (const f of fs) wants.set(`${folder}/${f.path}`, { dest: abs(root, f.path), mode: f.mode, digest: f.digest, size: f.size });
          await extractPack(ctx.cache, layer, wants, (name, placed) => stat.record(name, placed.stat, placed.digest, undefined, true), folder);
        }
        for (const f of fs) out.push({ path: `${folder}/${f.path}`, action: 'written' });
      }
      for (const w of wanted) {
        const p = w ? `${folder}/${w}` : folder;
        if (!out.some((o) => under(o.path, p))) out.push({ path: p, action: 'unchanged' });
      }
    }
  } finally {
    stat.save();
    stamps.save();
    lock.release();
  }
  return out;
}

/** The tracked folder holding `rel` whose pointer has conflict stages in the index. */
async function conflictedFolder(root: string, rel: string): Promise<string | undefined> {
  const parts = rel.split('/');
  for (let i = parts.length; i >= 1; i--) {
    const folder = parts.slice(0, i).join('/');
    const staged = await git(root, ['ls-files', '-u', '-z', '--', pointerPathFor(folder)]);
    if (staged.length) return folder;
  }
  return undefined;
}

/** Files (relative to `root`) at `w` or under it ('': every file), in the work tree. */
function listUnder(root: string, w: string): string[] {
  let st;
  try {
    st = lstatSync(w ? abs(root, w) : root);
  } catch {
    return [];
  }
  if (st.isFile()) return [w];
  if (!st.isDirectory()) return [];
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(rel ? abs(root, rel) : root, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === '.gitignore' && isFolderMarker(abs(root, r))) continue; // the folder's marker is Git's
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  walk(w);
  return out;
}
