import { createHash } from 'node:crypto';
import type { Descriptor } from '../content/descriptor.js';
import { isModelKitConfigType, MediaType, parseModelKitLayerType } from '../content/media-types.js';
import { readAll, type CacheStore, type Target } from '../content/storage.js';
import { isMkError, MkError, NotFoundError } from '../errors/index.js';
import { sha256 } from '../hashing/digest.js';
import { pointersAtCommit, type TrackedPointer } from '../git/pointers.js';
import { encodeDirManifest, type FileEntry, type LayerRef } from '../formats/dir-manifest.js';
import { checkStoredPath } from '../formats/stored-path.js';
import { readTar } from '../formats/tar.js';
import { MemoryStore } from '../stores/memory/memory-store.js';
import { overlay } from '../stores/overlay.js';
import { copyGraph, type GraphCopyOptions } from '../transfer/graph-copy.js';
import { readManifest } from './publish.js';
import { modelPackKitConfig, parseImageManifest, parseKitConfig, type ImageManifest } from './read.js';
import { referrersTag } from './referrers.js';
import { configEntries, layerPlaces } from './unpack.js';

/**
 * A folder's directory manifest (root and file lists) rebuilt from the ModelKit layers on a
 * remote that lacks it: a mirror made by `skopeo copy`, `kit push` or `crane copy` holds the
 * ModelKit manifest, config and layers, but not mk's referrer that carries the file lists.
 *
 * The packs are mk's deterministic tars and the raw layers name their file, so the files of
 * each layer (path, mode, size, sha256 hashed while reading) give back the file lists and
 * the root byte for byte: the root's digest must be the one the pointer names, or nothing is
 * trusted. Only ModelKits whose `org.opencontainers.image.revision` is a commit of this
 * repository whose pointer names that very version are read (nothing is downloaded for the
 * others); the commits being fetched are tried first, then every other tag of the remote.
 */

const REVISION = 'org.opencontainers.image.revision';
const COMMIT = /^[0-9a-f]{40}$/;
const FILEPATH = 'org.cncf.model.filepath';
const FILE_METADATA = 'org.cncf.model.file.metadata+json';

interface Candidate {
  tag: string;
  manifest: ImageManifest;
  desc: Descriptor;
  commit: string;
}

/** The ModelKits of one remote, each read at most once during one fetch. */
export class ModelKitSource {
  private list?: Promise<string[]>;
  private readonly byTag = new Map<string, Promise<Candidate | undefined>>();
  /** Git trees read so far (pointersAtCommit's memo), shared by the commits tried. */
  private readonly trees = new Map<string, Array<{ path: string; oid: string }>>();

  /** `preferred`: the commits being fetched, whose ModelKits are tried first. */
  constructor(
    readonly target: Target,
    private readonly preferred: string[],
  ) {}

  /** Tags to try, the preferred commits first; mk's referrer tags are left out. */
  private async tags(): Promise<string[]> {
    this.list ??= this.target.tags().then(
      (ts) => ts,
      (e: unknown) => {
        if (isMkError(e, 'ENOTFOUND')) return [];
        throw e;
      },
    );
    const all = await this.list;
    return [...new Set([...this.preferred, ...all.filter((t) => !/^sha256-[0-9a-f]{64}$/.test(t))])];
  }

  /** A tag's ModelKit made by mk (a kit config, a commit id in its revision annotation), or undefined. */
  private candidate(tag: string): Promise<Candidate | undefined> {
    let p = this.byTag.get(tag);
    if (!p) {
      p = this.read(tag);
      this.byTag.set(tag, p);
    }
    return p;
  }

  private async read(tag: string): Promise<Candidate | undefined> {
    let desc: Descriptor;
    try {
      desc = await this.target.resolve(tag);
    } catch (e) {
      if (isMkError(e, 'ENOTFOUND')) return undefined;
      throw e;
    }
    if (desc.mediaType && desc.mediaType !== MediaType.ociManifest) return undefined;
    const bytes = await readManifest(this.target, { ...desc, mediaType: MediaType.ociManifest });
    if (sha256(bytes) !== desc.digest) throw new MkError('EDIGEST', `the manifest of tag '${tag}' in ${this.target.location} does not match its digest ${desc.digest.slice(7, 19)}`);
    let manifest: ImageManifest;
    try {
      manifest = parseImageManifest(bytes, `the manifest of tag '${tag}' in ${this.target.location}`);
    } catch (e) {
      if (isMkError(e, 'EMODELKIT') || isMkError(e, 'ENOTMODELKIT')) return undefined; // not a ModelKit: not one to read
      throw e;
    }
    const commit = manifest.annotations[REVISION];
    if (!isModelKitConfigType(manifest.config.mediaType) || !commit || !COMMIT.test(commit)) return undefined;
    return { tag, manifest, desc: { mediaType: MediaType.ociManifest, digest: desc.digest, size: bytes.length }, commit };
  }

  /**
   * The first ModelKit whose commit records `t`'s version at `t`'s path. A tag that is a
   * commit id is first checked here, in Git, so a remote with thousands of commit tags is not
   * asked for the manifests of commits that cannot hold this version.
   */
  async find(gitdir: string, t: TrackedPointer): Promise<Candidate | undefined> {
    for (const tag of await this.tags()) {
      if (COMMIT.test(tag) && !(await this.holds(gitdir, tag, t))) continue;
      const c = await this.candidate(tag);
      if (c && (c.commit === tag || (await this.holds(gitdir, c.commit, t)))) return c;
    }
    return undefined;
  }

  /** Whether `commit` is in this repository and its pointer at `t.path` names `t`'s version. */
  private async holds(gitdir: string, commit: string, t: TrackedPointer): Promise<boolean> {
    let there: TrackedPointer[];
    try {
      there = await pointersAtCommit(gitdir, commit, [t.path], this.trees);
    } catch (e) {
      if (isMkError(e, 'EGIT')) return false; // a commit this clone does not have
      throw e;
    }
    return there.some((p) => p.path === t.path && p.pointer.type === 'dir' && p.pointer.digest === t.pointer.digest);
  }
}

/**
 * The root of folder `t`'s directory manifest, rebuilt from a ModelKit of `src` and placed in
 * the cache with its file lists and the folder's layers (through the one graph copy: layers,
 * then lists, then the root), with the blobs downloaded for it and those made here (lists, root). Throws NotFoundError when no ModelKit of `src` holds this
 * version, and a one-line EMANIFEST when the one that should does not rebuild to the digest
 * the pointer names.
 */
export async function rebuildDirRoot(
  cache: CacheStore,
  gitdir: string,
  src: ModelKitSource,
  t: TrackedPointer,
  opts: GraphCopyOptions = {},
): Promise<{ root: Descriptor; fetched: Descriptor[]; bytes: number; made: Descriptor[] }> {
  const target = src.target;
  const c = await src.find(gitdir, t);
  if (!c) {
    throw new NotFoundError(
      `the file list of ${t.path} (${t.pointer.digest.slice(7, 19)}) is not in ${target.location}, and no ModelKit there holds that version`,
      `push it there from a clone that has the data ('mk push'); a mirror made by copying ModelKits (skopeo copy, kit push, crane copy) needs the ModelKit of a commit that has this version of ${t.path}`,
    );
  }
  const where = `the ModelKit '${c.tag}' (${c.desc.digest.slice(7, 19)}) in ${target.location}`;
  const refuse = (problem: string) =>
    new MkError('EMANIFEST', `cannot rebuild the file list of ${t.path} from ${where}: ${problem}`, {
      hint: `push ${t.path} from a clone that has its data ('mk push'), or copy mk's referrer too (tag ${referrersTag(c.desc)})`,
    });

  const configBytes = await readAll(await target.fetch(c.manifest.config), 64 << 20);
  if (sha256(configBytes) !== c.manifest.config.digest) throw refuse('its config does not match its digest');
  // A ModelPack (modelkits: {format: modelpack}) carries the Kitfile in kit's annotation.
  const config = c.manifest.config.mediaType === MediaType.modelPackConfig ? modelPackKitConfig(c.manifest, configBytes, where).config : parseKitConfig(configBytes, `the config of ${where}`);
  // The folder's layers: the entry at its path, and its further layers (layerPlaces).
  const digests = new Set([...layerPlaces(configEntries(config))].flatMap(([d, place]) => (place === t.path ? [d] : [])));
  const descs = c.manifest.layers.filter((l) => digests.has(l.digest));
  if (descs.length === 0) throw refuse(`no layer of it is ${t.path}`);

  const prefix = `${t.path}/`;
  const inside = (name: string, what: string): string => {
    if (!name.startsWith(prefix)) throw refuse(`${what} holds ${name}, outside ${t.path}`);
    return checkStoredPath(name.slice(prefix.length));
  };
  const layers: LayerRef[] = [];
  const files: FileEntry[] = [];
  for (const [i, l] of descs.entries()) {
    const kind = parseModelKitLayerType(l.mediaType);
    if (!kind || kind.compression || (kind.format !== 'raw' && kind.format !== 'tar')) throw refuse(`layer ${l.digest.slice(7, 19)} is ${l.mediaType}, not an uncompressed tar or raw layer`);
    layers.push({ format: kind.format, digest: l.digest, size: l.size });
    if (kind.format === 'tar') continue;
    const path = l.annotations?.[FILEPATH];
    if (!path) throw refuse(`raw layer ${l.digest.slice(7, 19)} names no file (${FILEPATH})`);
    files.push({ path: inside(path, `raw layer ${l.digest.slice(7, 19)}`), mode: rawMode(l.annotations?.[FILE_METADATA]), size: l.size, digest: l.digest, layer: i });
  }

  // The folder's layers go to the cache first (leaves: nothing names them yet); the packs are read from there.
  const got = await copyGraph(
    target,
    cache,
    layers.map((l) => ({ mediaType: MediaType.octet, digest: l.digest, size: l.size })),
    opts,
  );
  for (const [i, l] of descs.entries()) {
    if (layers[i]!.format !== 'tar') continue;
    const what = `pack ${l.digest.slice(7, 19)}`;
    await readTar(await cache.fetch({ mediaType: MediaType.octet, digest: l.digest, size: l.size }), what, async (e) => {
      if (e.type !== 'file') return;
      const path = inside(e.name, what);
      const h = createHash('sha256');
      let size = 0;
      for await (const chunk of e.body) {
        h.update(chunk);
        size += chunk.length;
      }
      files.push({ path, mode: e.mode & 0o111 ? 0o755 : 0o644, size, digest: `sha256:${h.digest('hex')}`, layer: i });
    });
  }

  const encode = (ls: LayerRef[]) => {
    try {
      return encodeDirManifest({ files, layers: ls });
    } catch (e) {
      throw refuse((e as Error).message);
    }
  };
  let encoded = encode(layers);
  // A large file whose bytes an earlier layer of the ModelKit already is (two identical
  // files) is published as a one-file tar, where the folder's manifest has a raw layer.
  const held = new Map<number, FileEntry[]>();
  for (const f of files) held.set(f.layer, [...(held.get(f.layer) ?? []), f].slice(0, 2));
  const index = new Map(descs.map((l, i) => [l, i]));
  const earlier = new Set<string>();
  const asRaw = new Map<number, FileEntry>();
  for (const l of c.manifest.layers) {
    const i = index.get(l);
    const only = i === undefined ? [] : (held.get(i) ?? []);
    if (i !== undefined && layers[i]!.format === 'tar' && only.length === 1 && earlier.has(only[0]!.digest)) asRaw.set(i, only[0]!);
    earlier.add(l.digest);
  }
  const dedup: Descriptor[] = [];
  if (encoded.rootDigest !== t.pointer.digest && asRaw.size) {
    const again = encode(layers.map((l, i) => (asRaw.has(i) ? { format: 'raw' as const, digest: asRaw.get(i)!.digest, size: asRaw.get(i)!.size } : l)));
    if (again.rootDigest === t.pointer.digest) {
      encoded = again;
      for (const f of asRaw.values()) dedup.push({ mediaType: MediaType.octet, digest: f.digest, size: f.size });
    }
  }
  if (encoded.rootDigest !== t.pointer.digest) throw refuse(`its layers give the file list ${encoded.rootDigest.slice(7, 19)}, the pointer names ${t.pointer.digest.slice(7, 19)}`);
  // Those raw blobs are layers of the ModelKit (maybe of another entry): fetched like the others.
  const more = dedup.length ? await copyGraph(target, cache, dedup, opts) : { copied: [], bytes: 0 };
  const mem = new MemoryStore('the rebuilt file lists');
  const made = encoded.lists.map((l) => mem.put(MediaType.mkFileList, l.bytes));
  const root = mem.put(MediaType.mkDirectory, encoded.root);
  await copyGraph(overlay(mem, cache), cache, [root], opts);
  return { root, fetched: [...got.copied, ...more.copied], bytes: got.bytes + more.bytes, made: [...made, root] };
}

/** 0o755 when the raw layer's file metadata says executable, else 0o644. */
function rawMode(meta: string | undefined): number {
  if (!meta) return 0o644;
  try {
    const m = (JSON.parse(meta) as { mode?: unknown }).mode;
    return typeof m === 'number' && m & 0o111 ? 0o755 : 0o644;
  } catch {
    return 0o644;
  }
}
