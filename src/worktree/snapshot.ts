import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';
import pLimit from 'p-limit';
import { MediaType } from '../content/media-types.js';
import { MkError, UnsafePathError } from '../errors/index.js';
import type { FileStat, StatCache } from '../hashing/stat-cache.js';
import type { Kind, Pointer } from '../formats/pointer.js';
import type { RepoContext } from '../repo/context.js';
import { abs } from '../repo/paths.js';
import type { CacheStore } from '../content/storage.js';
import { encodeDirManifest, linkTargetInside, type DirManifest, type FileEntry, type LayerRef } from '../formats/dir-manifest.js';
import { planGroups } from '../formats/grouping.js';
import { loadDirManifest } from './load.js';
import { PackPool } from './pack-pool.js';
import { MemoryStore } from '../stores/memory/memory-store.js';
import { overlay } from '../stores/overlay.js';
import { copyGraph } from '../transfer/graph-copy.js';
import { scanDir, type ScannedFile } from './scan.js';

export interface SnapshotOptions {
  kind: Kind;
  description?: string;
  /** The pointer recorded so far, whose directory manifest lets unchanged packs be reused. */
  previous?: Pointer;
}

export interface SnapshotResult {
  pointer: Pointer;
  manifest?: DirManifest;
  /** Files whose bytes were read (not answered by the stat cache). */
  hashed: number;
  /** Blobs newly written to the cache, and their bytes. */
  newBlobs: number;
  newBytes: number;
  /** Entries inside a directory that are not regular files (symlinks...) and were left out. */
  skipped: string[];
  /** Things the user must know (e.g. a hardlinked file edited in place). */
  warnings: string[];
}

/**
 * Stores the current content of a file or directory of the work tree in the cache and
 * returns the pointer that records it. Unchanged files (stat cache) are not read again;
 * unchanged packs are reused from the previous directory manifest.
 */
export async function snapshot(ctx: RepoContext, stat: StatCache, rel: string, opts: SnapshotOptions): Promise<SnapshotResult> {
  const path = abs(ctx.root, rel);
  let st;
  try {
    st = lstatSync(path);
  } catch {
    throw new MkError('ENOENT', `${rel}: no such file or directory`);
  }
  if (st.isSymbolicLink()) throw new UnsafePathError(rel, 'it is a symlink; track the file or folder it points to instead');
  if (st.isFile()) return snapshotFile(ctx, stat, rel, opts);
  if (st.isDirectory()) return snapshotDir(ctx, stat, rel, opts);
  throw new MkError('EUNSUPPORTED', `${rel}: not a regular file or directory`);
}

/**
 * A file checked out as a hardlink shares its inode with a cache blob: edited in place, it
 * changed the blob too. Such a blob no longer matches its name; it is removed from the cache
 * (never served again) and the user is told that version is gone unless a remote has it.
 */
function checkLinkedEdit(cache: CacheStore, rel: string, st: import('node:fs').Stats, old: string | undefined, newDigest: string, warnings: string[]): void {
  if (!old || old === newDigest) return;
  if (!cache.dropIfLinked(old, st)) return;
  warnings.push(
    `${rel} was a hardlink into the cache and was edited in place: the cache copy of its previous version (${old.slice(7, 19)}) changed with it and was removed; that version is lost unless a remote has it (use checkout.link: copy to avoid this)`,
  );
}

async function storeRawFile(
  cache: CacheStore,
  stat: StatCache,
  rel: string,
  absPath: string,
  before: FileStat,
  warnings: string[] = [],
  previousDigest?: string,
): Promise<{ digest: string; written: boolean; hashed: boolean }> {
  const known = stat.lookup(rel, before);
  if (known && cache.claim({ digest: known, size: before.size })) return { digest: known, written: false, hashed: false };
  // The cache copies the file in and names it by the hash of what it read; a file that changes
  // meanwhile is refused (ECHANGED).
  const got = await cache.ingestFile(absPath, { before, what: rel });
  checkLinkedEdit(cache, rel, lstatSync(absPath), previousDigest, got.digest, warnings);
  stat.record(rel, before, got.digest);
  return { digest: got.digest, written: got.written, hashed: true };
}

async function snapshotFile(ctx: RepoContext, stat: StatCache, rel: string, opts: SnapshotOptions): Promise<SnapshotResult> {
  const path = abs(ctx.root, rel);
  const st = lstatSync(path);
  const warnings: string[] = [];
  const r = await storeRawFile(ctx.cache, stat, rel, path, st, warnings, opts.previous?.type === 'file' ? opts.previous.digest : undefined);
  const pointer: Pointer = { version: 1, kind: opts.kind, type: 'file', digest: r.digest, size: st.size };
  if (st.mode & 0o100) pointer.exec = true;
  if (opts.description !== undefined) pointer.description = opts.description;
  return { pointer, hashed: r.hashed ? 1 : 0, newBlobs: r.written ? 1 : 0, newBytes: r.written ? st.size : 0, skipped: [], warnings };
}

function packSignature(dirRel: string, files: Array<{ path: string; mode: number; digest: string }>): string {
  return createHash('sha256')
    .update(dirRel + '\0' + files.map((f) => `${f.path}\0${f.mode}\0${f.digest}`).join('\n'))
    .digest('hex');
}

async function snapshotDir(ctx: RepoContext, stat: StatCache, rel: string, opts: SnapshotOptions): Promise<SnapshotResult> {
  const cache = ctx.cache;
  const { files, links, skipped } = scanDir(abs(ctx.root, rel));
  // Links are recorded as Git records them (their target text), when they stay inside the folder.
  const outside = links.find((l) => !linkTargetInside(l.path, l.target));
  if (outside)
    throw new UnsafePathError(
      `${rel}/${outside.path}`,
      `it is a symlink to ${JSON.stringify(outside.target)}, outside ${rel}: mk records links that stay inside a tracked folder (replace it with what it points to, or remove it)`,
    );
  const warnings: string[] = [];
  const reusable = new Map<string, LayerRef>();
  const previousDigests = new Map<string, string>();
  if (opts.previous?.type === 'dir') {
    const prev = await loadDirManifest(cache, opts.previous).catch(() => undefined);
    if (prev) {
      for (const f of prev.files) previousDigests.set(f.path, f.digest);
      const byLayer = new Map<number, FileEntry[]>();
      for (const f of prev.files) (byLayer.get(f.layer) ?? byLayer.set(f.layer, []).get(f.layer)!).push(f);
      for (const [i, fs] of byLayer) if (prev.layers[i]!.format === 'tar') reusable.set(packSignature(rel, fs), prev.layers[i]!);
    }
  }
  const known: Array<string | undefined> = files.map((f) => stat.lookup(`${rel}/${f.path}`, f.stat));
  const index = new Map<ScannedFile, number>(files.map((f, i) => [f, i]));
  const groups = planGroups(files, { rawThreshold: ctx.config.rawThreshold, packTarget: ctx.config.packTarget });
  const layers: LayerRef[] = new Array(groups.length);
  const digests: string[] = new Array(files.length);
  let hashed = 0;
  let newBlobs = 0;
  let newBytes = 0;
  // Packs whose files are unchanged are reused from the previous manifest; only the others are built.
  const reused = new Set<number>();
  groups.forEach((g, gi) => {
    if (g.format !== 'tar') return;
    const ds = g.files.map((f) => known[index.get(f)!]);
    if (!ds.every((d) => d !== undefined)) return;
    const prev = reusable.get(
      packSignature(
        rel,
        g.files.map((f, k) => ({ path: f.path, mode: f.mode, digest: ds[k]! })),
      ),
    );
    if (!prev || !cache.claim(prev)) return;
    g.files.forEach((f, k) => (digests[index.get(f)!] = ds[k]!));
    layers[gi] = prev;
    reused.add(gi);
  });
  const toBuild = groups.filter((g, gi) => g.format === 'tar' && !reused.has(gi));
  const pool = new PackPool(
    cache,
    ctx.cacheDir,
    toBuild.reduce((n, g) => n + g.files.reduce((m, f) => m + f.size, 0), 0),
    toBuild.length,
  );
  const limit = pLimit(Math.max(4, pool.size * 2));
  try {
    await Promise.all(
      groups.map((g, gi) =>
        limit(async () => {
          if (g.format === 'raw') {
            const f = g.files[0];
            const r = await storeRawFile(cache, stat, `${rel}/${f.path}`, f.abs, f.stat, warnings, previousDigests.get(f.path));
            digests[index.get(f)!] = r.digest;
            if (r.hashed) hashed++;
            if (r.written) {
              newBlobs++;
              newBytes += f.size;
            }
            layers[gi] = { format: 'raw', digest: r.digest, size: f.size };
            return;
          }
          if (reused.has(gi)) return;
          const res = await pool.build(g.files.map((f) => ({ abs: f.abs, name: `${rel}/${f.path}`, mode: f.mode, size: f.size })));
          hashed += g.files.length;
          g.files.forEach((f, k) => {
            digests[index.get(f)!] = res.fileDigests[k]!;
            stat.record(`${rel}/${f.path}`, f.stat, res.fileDigests[k]!);
          });
          if (res.written) {
            newBlobs++;
            newBytes += res.size;
          }
          layers[gi] = { format: 'tar', digest: res.digest, size: res.size };
        }),
      ),
    );
  } finally {
    await pool.close();
  }
  const groupOf = new Map<ScannedFile, number>();
  groups.forEach((g, gi) => g.files.forEach((f) => groupOf.set(f, gi)));
  const manifest: DirManifest = {
    layers,
    files: files.map((f, i) => ({ path: f.path, mode: f.mode, size: f.size, digest: digests[i]!, layer: groupOf.get(f)! })),
  };
  if (links.length) manifest.links = links;
  const enc = encodeDirManifest(manifest);
  manifest.layers = enc.layers;
  // The new file lists and root go to the cache through the one graph copy: lists before the
  // root that names them (the packs and raw blobs are there already).
  const mem = new MemoryStore();
  for (const l of enc.lists) mem.put(MediaType.mkFileList, l.bytes);
  const desc = mem.put(MediaType.mkDirectory, enc.root);
  const written = await copyGraph(overlay(mem, cache), cache, [desc]);
  for (const d of written.copied) {
    newBlobs++;
    newBytes += d.size;
  }
  const size = files.reduce((s, f) => s + f.size, 0);
  const pointer: Pointer = { version: 1, kind: opts.kind, type: 'dir', digest: desc.digest, size, files: files.length };
  if (opts.description !== undefined) pointer.description = opts.description;
  return { pointer, manifest, hashed, newBlobs, newBytes, skipped, warnings };
}
