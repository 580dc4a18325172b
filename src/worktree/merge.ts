import { createHash } from 'node:crypto';
import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { readAll, type CacheStore, type Target, hasBlobStat } from '../content/storage.js';
import { DigestMismatchError, MkError, NotFoundError } from '../errors/index.js';
import { invariant } from '../errors/invariant.js';
import { assembleDirManifest, cmp, decodeDirRoot, encodeDirManifest, type DirManifest, type FileEntry, type LayerRef } from '../formats/dir-manifest.js';
import { planGroups, type GroupingOptions } from '../formats/grouping.js';
import { readTar } from '../formats/tar.js';
import { MemoryStore } from '../stores/memory/memory-store.js';
import { overlay } from '../stores/overlay.js';
import { copyGraph } from '../transfer/graph-copy.js';
import { buildPackFromMemory } from './pack.js';

/**
 * Where a merge finds directory manifests and blobs: the cache first, then (opened only when
 * needed) the default remote. Directory roots read from the remote stay in memory (a root in
 * the cache promises that its packs are there too); file lists and packs go to the cache.
 */
export interface BlobSources {
  cache: CacheStore;
  remote?: () => Promise<Target>;
}

/** What one side did to a file, compared with the common base. */
export type FileChangeKind = 'unchanged' | 'added' | 'deleted' | 'modified';

export interface FileConflict {
  /** Path relative to the folder. */
  path: string;
  ours: FileChangeKind;
  theirs: FileChangeKind;
  /** The path is a file on one side and a folder on the other. */
  fileAndFolder?: true;
}

/** A file of the merge result, and whose manifest holds its bytes. */
export interface MergedFile {
  path: string;
  mode: number;
  size: number;
  digest: string;
  from: 'ours' | 'theirs';
}

export interface FileMerge {
  /** The merged files, sorted by path; a conflicting path keeps our version (or stays absent). */
  files: MergedFile[];
  conflicts: FileConflict[];
  /** Paths where the result differs from our side (what a work tree holding ours must change). */
  fromTheirs: string[];
}

type Slim = Pick<FileEntry, 'path' | 'mode' | 'size' | 'digest'>;
const same = (a: Slim | undefined, b: Slim | undefined) => (!a || !b ? a === b : a.digest === b.digest && a.mode === b.mode);

function changeOf(base: Slim | undefined, side: Slim | undefined): FileChangeKind {
  if (same(base, side)) return 'unchanged';
  if (!base) return 'added';
  if (!side) return 'deleted';
  return 'modified';
}

/**
 * The three-way merge of a folder, path by path: a file changed (added, removed, modified:
 * bytes or executable bit) on one side only takes that side; changed identically on both
 * takes it; changed differently on both is a conflict. A path that would be a file on one
 * side and a folder on the other is a conflict too.
 */
export function mergeFiles(base: Slim[], ours: Slim[], theirs: Slim[]): FileMerge {
  const b = new Map(base.map((f) => [f.path, f]));
  const o = new Map(ours.map((f) => [f.path, f]));
  const t = new Map(theirs.map((f) => [f.path, f]));
  const paths = [...new Set([...b.keys(), ...o.keys(), ...t.keys()])].sort(cmp);
  const files: MergedFile[] = [];
  const conflicts: FileConflict[] = [];
  const fromTheirs: string[] = [];
  for (const p of paths) {
    const fb = b.get(p);
    const fo = o.get(p);
    const ft = t.get(p);
    const co = changeOf(fb, fo);
    const ct = changeOf(fb, ft);
    if (co !== 'unchanged' && ct !== 'unchanged' && !same(fo, ft)) {
      conflicts.push({ path: p, ours: co, theirs: ct });
      if (fo) files.push({ ...slim(fo), from: 'ours' });
      continue;
    }
    if (co === 'unchanged' && ct !== 'unchanged') {
      fromTheirs.push(p);
      if (ft) files.push({ ...slim(ft), from: 'theirs' });
      continue;
    }
    if (fo) files.push({ ...slim(fo), from: 'ours' });
  }
  // A file where the other side now has a folder of that name: both cannot be.
  const present = new Set(files.map((f) => f.path));
  const clash = new Set<string>();
  for (const f of files) for (let k = f.path.indexOf('/'); k > 0; k = f.path.indexOf('/', k + 1)) if (present.has(f.path.slice(0, k))) clash.add(f.path.slice(0, k));
  for (const p of clash) {
    if (conflicts.some((c) => c.path === p)) continue;
    conflicts.push({ path: p, ours: changeOf(b.get(p), o.get(p)), theirs: changeOf(b.get(p), t.get(p)), fileAndFolder: true });
  }
  conflicts.sort((x, y) => cmp(x.path, y.path));
  return { files, conflicts, fromTheirs };
}

/** A link's stand-in among a merge's files: its "digest" is its target text (links merge as files do, path by path). */
const LINK = 'link:';

/** A folder's files and links, as the entries mergeFiles takes. */
export function mergeEntries(m: DirManifest): Slim[] {
  return [...m.files, ...(m.links ?? []).map((l) => ({ path: l.path, mode: 0, size: 0, digest: LINK + l.target }))];
}

function slim(f: Slim): Slim {
  return { path: f.path, mode: f.mode, size: f.size, digest: f.digest };
}

const ROOT_LIMIT = 64 << 20;

async function remoteOf(src: BlobSources, what: string): Promise<Target> {
  if (!src.remote) throw new NotFoundError(`${what} is not in the local cache and no remote is configured`, "add one with 'mk remote add <name> <url>', or fetch the data first");
  return src.remote();
}

/** Copies into the cache the blobs (leaves: packs, raw blobs, file lists) it lacks, from the remote. */
export async function ensureCached(src: BlobSources, blobs: Descriptor[], what: string): Promise<void> {
  // Claimed, not just seen: a gc on a shared cache keeps what the merge is about to reference.
  const missing = [...new Map(blobs.filter((d) => !src.cache.claim(d)).map((d) => [d.digest, d])).values()];
  if (missing.length === 0) return;
  const remote = await remoteOf(src, what);
  await copyGraph(remote, src.cache, missing);
}

/**
 * Reads a directory manifest (root and file lists) from the cache, fetching from the remote
 * what the cache lacks: the root is read into memory (and checked against its digest), the
 * missing file lists are copied into the cache.
 */
export async function loadDirManifestFrom(src: BlobSources, digest: string): Promise<DirManifest> {
  const what = `directory manifest ${digest.slice(7, 19)}`;
  let bytes: Buffer;
  if (src.cache.statBlobSync(digest) !== undefined) bytes = src.cache.readSmall(digest, what);
  else {
    const remote = await remoteOf(src, what);
    const size = hasBlobStat(remote) ? await remote.statBlob(digest) : undefined;
    if (size === undefined) throw new NotFoundError(`${what} is neither in the local cache nor in ${remote.location}`, 'push it from a clone that has it, then merge again');
    bytes = await readAll(await remote.fetch({ mediaType: MediaType.mkDirectory, digest, size }), ROOT_LIMIT);
    const got = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
    if (got !== digest) throw new DigestMismatchError(what, digest, got);
  }
  const root = decodeDirRoot(bytes, what);
  await ensureCached(src, root.lists, what);
  return assembleDirManifest(root, (d) => src.cache.readSmall(d, `file list ${d.slice(7, 19)}`), what);
}

function packSignature(rel: string, files: Array<{ path: string; mode: number; digest: string }>): string {
  return createHash('sha256')
    .update(rel + '\0' + files.map((f) => `${f.path}\0${f.mode}\0${f.digest}`).join('\n'))
    .digest('hex');
}

export interface MergedDir {
  digest: string;
  size: number;
  files: number;
  manifest: DirManifest;
  /** Packs reused as they are, and packs written anew from the files of other packs. */
  reused: number;
  repacked: number;
}

/**
 * Builds and stores the directory manifest of `files` (the result of mergeFiles) exactly as
 * `mk add` would store a folder holding those files: the same grouping (planGroups, with
 * its path-hash boundaries), so the same packs and the same root digest. A pack whose files
 * are exactly those of a pack of either side is reused as it is; the others (packs where the
 * two sides' changes meet, or whose boundaries moved) are written anew from the bytes of the
 * packs that hold their files, read from the cache one source pack at a time, each file
 * checked against its digest. Everything the new root names is in the cache when it returns.
 */
export async function storeMergedDir(src: BlobSources, rel: string, files: MergedFile[], sides: { ours: DirManifest; theirs: DirManifest }, opts: GroupingOptions): Promise<MergedDir> {
  const cache = src.cache;
  const links = files.filter((f) => f.digest.startsWith(LINK)).map((f) => ({ path: f.path, target: f.digest.slice(LINK.length) }));
  const sorted = files.filter((f) => !f.digest.startsWith(LINK)).sort((a, b) => cmp(a.path, b.path));
  links.sort((a, b) => cmp(a.path, b.path));
  const groups = planGroups(sorted, opts);
  // The packs of both sides, by the files they hold.
  const existing = new Map<string, LayerRef>();
  const holder = { ours: new Map<string, LayerRef>(), theirs: new Map<string, LayerRef>() };
  for (const side of ['ours', 'theirs'] as const) {
    const m = sides[side];
    const byLayer = new Map<number, FileEntry[]>();
    for (const f of m.files) {
      (byLayer.get(f.layer) ?? byLayer.set(f.layer, []).get(f.layer)!).push(f);
      holder[side].set(f.path, m.layers[f.layer]!);
    }
    for (const [i, fs] of byLayer) if (m.layers[i]!.format === 'tar') existing.set(packSignature(rel, fs), m.layers[i]!);
  }
  const sourceOf = (f: MergedFile): LayerRef => {
    const l = holder[f.from].get(f.path);
    invariant(l, `a layer of ${f.from} holds ${f.path}`);
    return l;
  };
  const layers: LayerRef[] = new Array(groups.length);
  const toBuild: number[] = [];
  const needed: Descriptor[] = [];
  const octet = (l: { digest: string; size: number }): Descriptor => ({ mediaType: MediaType.octet, digest: l.digest, size: l.size });
  groups.forEach((g, gi) => {
    if (g.format === 'raw') {
      const f = g.files[0];
      layers[gi] = { format: 'raw', digest: f.digest, size: f.size };
      const from = sourceOf(f);
      if (from.format === 'raw') needed.push(octet(from));
      else toBuild.push(gi);
      return;
    }
    const reuse = existing.get(packSignature(rel, g.files));
    if (reuse) {
      layers[gi] = reuse;
      needed.push(octet(reuse));
    } else toBuild.push(gi);
  });
  // Source layers of the files to re-pack, and the last group that needs each (to free its bytes after).
  const lastUse = new Map<string, number>();
  const wantedFrom = new Map<string, Set<string>>();
  for (const gi of toBuild)
    for (const f of groups[gi]!.files) {
      const d = sourceOf(f).digest;
      lastUse.set(d, gi);
      (wantedFrom.get(d) ?? wantedFrom.set(d, new Set()).get(d)!).add(`${rel}/${f.path}`);
    }
  for (const gi of toBuild)
    for (const f of groups[gi]!.files) {
      const l = sourceOf(f);
      needed.push(octet(l));
    }
  await ensureCached(src, needed, `the data of ${rel}`);
  const held = new Map<string, Map<string, Buffer>>();
  const bytesOf = async (f: MergedFile): Promise<Buffer> => {
    const l = sourceOf(f);
    const name = `${rel}/${f.path}`;
    if (l.format === 'raw') return cache.readSmall(l.digest, name, Infinity);
    let entries = held.get(l.digest);
    if (!entries) {
      const want = wantedFrom.get(l.digest) ?? new Set<string>();
      entries = new Map();
      const got = entries;
      await readTar(await cache.fetch(octet(l)), `pack ${l.digest.slice(7, 19)}`, async (e) => {
        if (e.type !== 'file' || !want.has(e.name)) return;
        const parts: Buffer[] = [];
        for await (const c of e.body) parts.push(c);
        got.set(e.name, Buffer.concat(parts));
      });
      held.set(l.digest, entries);
    }
    const b = entries.get(name);
    if (!b) throw new MkError('EPACK', `pack ${l.digest} lacks ${name}, which its file list names`);
    const d = 'sha256:' + createHash('sha256').update(b).digest('hex');
    if (d !== f.digest || b.length !== f.size) throw new DigestMismatchError(`${name} in pack ${l.digest}`, f.digest, d);
    return b;
  };
  for (const gi of toBuild) {
    const g = groups[gi]!;
    if (g.format === 'raw') {
      const f = g.files[0];
      const w = await cache.ingest('raw');
      try {
        w.writeSync(await bytesOf(f)); // verified against f.digest: the cache names it so
      } catch (e) {
        await w.abort();
        throw e;
      }
      await w.commit();
    } else {
      const input = [];
      for (const f of g.files) input.push({ name: `${rel}/${f.path}`, mode: f.mode, bytes: await bytesOf(f) });
      const res = await buildPackFromMemory(input, cache);
      layers[gi] = { format: 'tar', digest: res.digest, size: res.size };
    }
    for (const [d, last] of lastUse) if (last === gi) held.delete(d);
  }
  const groupOf = new Map<string, number>();
  groups.forEach((g, gi) => g.files.forEach((f) => groupOf.set(f.path, gi)));
  const manifest: DirManifest = { layers, files: sorted.map((f) => ({ path: f.path, mode: f.mode, size: f.size, digest: f.digest, layer: groupOf.get(f.path)! })) };
  if (links.length) manifest.links = links;
  const enc = encodeDirManifest(manifest);
  manifest.layers = enc.layers;
  const mem = new MemoryStore();
  for (const l of enc.lists) mem.put(MediaType.mkFileList, l.bytes);
  const root = mem.put(MediaType.mkDirectory, enc.root);
  await copyGraph(overlay(mem, cache), cache, [root]);
  const tars = groups.filter((g) => g.format === 'tar').length;
  const rebuilt = toBuild.filter((gi) => groups[gi]!.format === 'tar').length;
  return { digest: root.digest, size: sorted.reduce((s, f) => s + f.size, 0), files: sorted.length, manifest, reused: tars - rebuilt, repacked: rebuilt };
}
