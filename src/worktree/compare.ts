import { MediaType } from '../content/media-types.js';
import type { StatCache } from '../hashing/stat-cache.js';
import type { Pointer } from '../formats/pointer.js';
import type { RepoContext } from '../repo/context.js';
import type { DirManifest } from '../formats/dir-manifest.js';
import { dirVersionCached, loadDirManifest } from './load.js';
import { scanPath, workState, type Scanned, type WorkFile, type WorkState } from './workspace.js';
import { scanFromFind } from './scan.js';
import { findSignatureAsync, statSignature, type Stamps } from '../hashing/stamps.js';
import { abs } from '../repo/paths.js';
import { partialMark, restoredUnder } from './partial.js';

export interface FileChange {
  path: string;
  change: 'added' | 'removed' | 'modified';
  oldSize?: number;
  newSize?: number;
}

export type WorkspaceStatus = 'clean' | 'modified' | 'deleted' | 'unknown';

export interface Comparison {
  workspace: WorkspaceStatus;
  /** All the pointer's blobs are in the local cache. */
  cached: boolean;
  changes: FileChange[];
  state: WorkState;
  manifest?: DirManifest;
  /**
   * A folder restored in part (see partial.ts): files of the version outside the restored
   * paths are absent because they were never restored; they are not changes. `files` of `of`
   * are in the work tree.
   */
  partial?: { files: number; of: number };
}

/** Are all blobs needed to restore `p` in the local cache? */
export async function isCached(ctx: RepoContext, p: Pointer): Promise<boolean> {
  if (p.type === 'file') return ctx.cache.existsSync({ mediaType: MediaType.octet, digest: p.digest, size: p.size });
  try {
    return dirVersionCached(ctx.cache, p.digest);
  } catch {
    return false;
  }
}

/** Differences between two file lists (old → new), sorted by path. */
export function diffFiles(oldFiles: Array<{ path: string; digest: string; size: number; mode: number }>, newFiles: Array<{ path: string; digest: string; size: number; mode: number }>): FileChange[] {
  const old = new Map(oldFiles.map((f) => [f.path, f]));
  const out: FileChange[] = [];
  for (const f of newFiles) {
    const o = old.get(f.path);
    if (!o) out.push({ path: f.path, change: 'added', newSize: f.size });
    else {
      if (o.digest !== f.digest || o.mode !== f.mode) out.push({ path: f.path, change: 'modified', oldSize: o.size, newSize: f.size });
      old.delete(f.path);
    }
  }
  for (const o of old.values()) out.push({ path: o.path, change: 'removed', oldSize: o.size });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Differences between two link lists (old → new): a link whose target text differs is modified. */
export function diffLinks(oldLinks: Array<{ path: string; target: string }>, newLinks: Array<{ path: string; target: string }>): FileChange[] {
  const old = new Map(oldLinks.map((l) => [l.path, l.target]));
  const out: FileChange[] = [];
  for (const l of newLinks) {
    const t = old.get(l.path);
    if (t === undefined) out.push({ path: l.path, change: 'added' });
    else if (t !== l.target) out.push({ path: l.path, change: 'modified' });
    old.delete(l.path);
  }
  for (const p of old.keys()) out.push({ path: p, change: 'removed' });
  return out;
}

export function pointerFiles(p: Pointer, path: string): Array<{ path: string; digest: string; size: number; mode: number }> {
  return [{ path, digest: p.digest, size: p.size, mode: p.exec ? 0o755 : 0o644 }];
}

function workFiles(s: WorkState, path: string): WorkFile[] {
  if (s.kind === 'file') return [{ ...s.file, path }];
  if (s.kind === 'dir') return s.files;
  return [];
}

function signatureOf(s: Scanned): { sig: string; newest: number } | undefined {
  if (s.kind === 'file') return statSignature([{ path: '', stat: s.stat }]);
  if (s.kind === 'dir') return statSignature(s.scan.files);
  return undefined;
}

/**
 * Compares what the work tree holds at `path` with what pointer `p` records. With `stamps`,
 * an artifact whose files have exactly the stat data they had when last found clean is
 * answered from one scan (no stat cache, no file list, no reading).
 */
export async function compareWorkspace(
  ctx: RepoContext,
  stat: StatCache,
  path: string,
  p: Pointer,
  stamps?: Stamps,
  early?: Promise<{ sig: string; newest: number; findOutput?: Buffer } | undefined>,
): Promise<Comparison> {
  let sig: { sig: string; newest: number; findOutput?: Buffer } | undefined;
  let scanned: Scanned | undefined;
  if (stamps) {
    if (p.type === 'dir') sig = (await early) ?? (await findSignatureAsync(abs(ctx.root, path)));
    if (!sig) {
      scanned = scanPath(ctx.root, path);
      sig = signatureOf(scanned);
    }
    if (sig && stamps.isClean(path, p.digest, sig.sig, p.type === 'dir' ? abs(ctx.root, path) : undefined)) {
      // 'cached' means every blob needed to restore it, packs included, not just the file list.
      const blobs = stamps.blobs(path);
      const cached = blobs ? blobs.every((b) => blobPresent(ctx, b)) : await isCached(ctx, p);
      return { workspace: 'clean', cached, changes: [], state: { kind: 'unread' } };
    }
  }
  // A folder whose signature changed: its files' stat data is in the output find just gave.
  const fromFind = !scanned && sig?.findOutput ? scanFromFind(abs(ctx.root, path), sig.findOutput) : undefined;
  const result = await compareFull(ctx, stat, path, p, scanned ?? (fromFind ? { kind: 'dir', scan: fromFind } : scanPath(ctx.root, path)));
  if (stamps && sig && result.workspace === 'clean' && !result.partial) stamps.record(path, p.digest, sig, result.cached ? neededBlobs(p, result.manifest) : undefined, digestLookup(result.manifest));
  return result;
}

/** path → digest over a manifest's files, built on first use. */
export function digestLookup(m: DirManifest | undefined): ((rel: string) => string | undefined) | undefined {
  if (!m) return undefined;
  let map: Map<string, string> | undefined;
  return (rel) => (map ??= new Map(m.files.map((f) => [f.path, f.digest]))).get(rel);
}

export function neededBlobs(p: Pointer, m: DirManifest | undefined): string[] {
  if (p.type === 'file') return [`${p.digest}@${p.size}`];
  const out = [`${p.digest}@-1`];
  for (const l of m?.layers ?? []) {
    out.push(`${l.digest}@${l.size}`);
    if (l.list) out.push(`${l.list.digest}@${l.list.size}`);
  }
  return out;
}

function blobPresent(ctx: RepoContext, b: string): boolean {
  const [digest, size] = b.split('@') as [string, string];
  if (size === '-1') return ctx.cache.existsSync({ mediaType: MediaType.mkDirectory, digest, size: ctx.cache.statBlobSync(digest) ?? -2 });
  return ctx.cache.existsSync({ mediaType: MediaType.octet, digest, size: Number(size) });
}

async function compareFull(ctx: RepoContext, stat: StatCache, path: string, p: Pointer, scanned: Scanned): Promise<Comparison> {
  const state = await workState(ctx.root, stat, path, scanned);
  const cached = await isCached(ctx, p);
  if (state.kind === 'missing') return { workspace: 'deleted', cached, changes: [], state };
  // A folder with nothing in it but what Git keeps there (its marker) holds none of its data.
  if (state.kind === 'dir' && p.type === 'dir' && (p.files ?? 0) > 0 && !state.files.length && !state.links.length && !state.skipped.length)
    return { workspace: 'deleted', cached, changes: [], state };
  if (p.type === 'file') {
    if (state.kind !== 'file') return { workspace: 'modified', cached, changes: [{ path, change: 'modified', oldSize: p.size }], state };
    const changes = diffFiles(pointerFiles(p, path), workFiles(state, path));
    return { workspace: changes.length ? 'modified' : 'clean', cached, changes, state };
  }
  const manifest = await loadDirManifest(ctx.cache, p).catch(() => undefined);
  if (state.kind !== 'dir') return { workspace: 'modified', cached, changes: [], state, manifest };
  if (!manifest) {
    const size = state.files.reduce((s, f) => s + f.size, 0);
    const same = state.files.length === p.files && size === p.size;
    return { workspace: same ? 'unknown' : 'modified', cached: false, changes: [], state };
  }
  let changes = diffFiles(manifest.files, state.files);
  const linkChanges = diffLinks(manifest.links ?? [], state.links);
  if (linkChanges.length) changes = [...changes, ...linkChanges].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const mark = partialMark(ctx.stateDir, path, p.digest);
  if (mark) {
    const kept = changes.filter((c) => c.change !== 'removed' || restoredUnder(mark, c.path));
    const notRestored = changes.length - kept.length;
    changes = kept;
    if (notRestored) return { workspace: changes.length ? 'modified' : 'clean', cached, changes, state, manifest, partial: { files: manifest.files.length - notRestored, of: manifest.files.length } };
  }
  return { workspace: changes.length ? 'modified' : 'clean', cached, changes, state, manifest };
}
