import { chmodSync, closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import type { Descriptor } from '../content/descriptor.js';
import { MediaType, parseModelKitLayerType } from '../content/media-types.js';
import { isCompression, decompress } from '../content/decompress.js';
import { readAll, type Fetcher } from '../content/storage.js';
import { MkError } from '../errors/index.js';
import { underPrefix } from '../git/pointers.js';
import { assembleDirManifest, decodeDirRoot, type DirManifest } from '../formats/dir-manifest.js';
import { checkStoredPath } from '../formats/stored-path.js';
import { readTar } from '../formats/tar.js';
import { readManifest } from './publish.js';
import { modelPackKitConfig, parseImageManifest, parseKitConfig } from './read.js';
import { DIR_MANIFESTS_ARTIFACT, referrers } from './referrers.js';
import { configEntries, layerPlaces } from './unpack.js';
import { cleanPath } from '../formats/kitfile.js';
import { ANN } from './builder.js';
import { assertNotGitDir } from '../repo/paths.js';
import { readPackRanges, type RangeWant } from '../worktree/pack-ranges.js';
import { listsCovering } from '../worktree/dir-lookup.js';
import { replaceWith, tmpName } from '../util/fs.js';
import { ensureRoom } from '../util/disk.js';
import { resolveModelKit, type ResolvedModelKit } from './resolve.js';
import type { GetOptions, GetResult } from './get-types.js';

/** A small blob (a root, a file list) read whole: every store verifies a whole read. */
const SMALL = 64 << 20;

/**
 * `mk get <modelkit-ref> <path>`: one file or folder of a ModelKit, without Git (a registry
 * reference, `oci:<layout>[:tag]`, `<remote>:<tag>`). Only the layers that hold the path are
 * read: a raw layer whole (verified); a pack of an mk ModelKit by the byte ranges of the files
 * asked for, found through the directory manifests mk attaches to its ModelKits (only the file
 * lists of those packs are read), each file verified against its digest; any other tar layer
 * (a ModelKit made by kit) streamed whole, verified, keeping only the entries under the path.
 * Nothing is written into a cache; the output appears whole or not at all.
 */
export async function getFromModelKit(ref: string, path: string, opts: GetOptions = {}): Promise<GetResult> {
  const cwd = opts.cwd ?? process.cwd();
  const rel = cleanPath(path);
  if (rel === '.' || rel.startsWith('..')) throw new MkError('EUSAGE', `name a file or folder inside the ModelKit, not '${path}'`);
  checkStoredPath(rel);
  const out = resolvePath(cwd, opts.out ?? basename(rel));
  assertNotGitDir(dirname(out));
  if (existsSync(out) && !opts.force) throw new MkError('EEXIST', `${out} already exists`, { hint: 'choose another place with -o, or replace it with --force' });
  const r = await resolveModelKit(ref, { cwd });
  const counted = { blobs: 0, bytes: 0, packs: 0, requests: 0 };
  const small = async (from: Fetcher, d: Descriptor) => {
    const b = await readAll(await from.fetch(d), SMALL);
    counted.blobs++;
    counted.bytes += b.length;
    return b;
  };
  const manifestBytes = await readManifest(r.target, r.desc);
  const manifest = parseImageManifest(manifestBytes, `the manifest of ${ref}`);
  const modelPack = manifest.config.mediaType === MediaType.modelPackConfig;
  if (manifest.config.mediaType !== MediaType.kitConfig && !modelPack)
    throw new MkError('ENOTMODELKIT', `${ref} is not a ModelKit (config media type ${manifest.config.mediaType})`, {
      hint: `a ModelKit has config type ${MediaType.kitConfig} (KitOps) or ${MediaType.modelPackConfig} (ModelPack)`,
    });
  const configBytes = await small(r.target, manifest.config);
  const config = modelPack ? modelPackKitConfig(manifest, configBytes, ref).config : parseKitConfig(configBytes, `the config of ${ref}`);
  // Each layer's place: the config entry that names its digest (a raw layer also names its
  // file); a folder's further layers take the folder's (any of them may hold the path). A
  // ModelPack's layers carry their path themselves (org.cncf.model.filepath).
  const entryOf = layerPlaces(configEntries(config));
  const diffIdOf = new Map(configEntries(config).flatMap((e) => (e.digest && e.diffId && e.diffId !== e.digest ? [[e.digest, e.diffId] as const] : [])));
  const raws: Array<{ l: Descriptor; file: string; mode: number }> = [];
  const tars: Array<{ l: Descriptor; at: string }> = [];
  for (const l of manifest.layers) {
    const kind = parseModelKitLayerType(l.mediaType);
    const own = l.annotations?.[ANN.filepath];
    const at = entryOf.get(l.digest) ?? (modelPack && own ? checkStoredPath(cleanPath(own)) : '.');
    if (kind ? kind.format === 'raw' : own !== undefined) {
      const file = checkStoredPath(cleanPath(l.annotations?.[ANN.filepath] ?? at));
      if (underPrefix(file, rel)) raws.push({ l, file, mode: fileMode(l.annotations?.[ANN.fileMetadata]) });
    } else if (underPrefix(rel, at) || underPrefix(at, rel)) tars.push({ l, at });
  }
  // A tar layer of a folder that holds the path makes those of the folders around it (the code layer, '.') irrelevant.
  const deepest = Math.max(-1, ...tars.filter((x) => underPrefix(rel, x.at)).map((x) => (x.at === '.' ? 0 : x.at.length)));
  const wanted = tars.filter((x) => !underPrefix(rel, x.at) || (x.at === '.' ? 0 : x.at.length) === deepest);
  if (!raws.length && !wanted.length) throw new MkError('ENOTFOUND', `${rel} is not in ModelKit ${ref}`, { hint: `see what it holds with 'mk modelkit inspect ${ref}'` });
  const dirs = wanted.length && r.store ? await dirManifestsOf(r.store, r.desc, small) : new Map<string, PackRoot>();
  const lists = new Map<string, Uint8Array>();
  const coveringOf = new Map<PackRoot['root'], Set<string>>();

  const tmp = tmpName(out);
  const written: Array<{ name: string; size: number }> = [];
  // Where an entry (named from the ModelKit's root) goes: the output itself for the one file asked for, or inside the output folder.
  const destOf = (name: string) => (name === rel ? tmp : join(tmp, ...name.slice(rel.length + 1).split('/')));
  try {
    for (const { l, file, mode } of raws) {
      ensureRoom(dirname(out), l.size, file);
      await writeStream(await r.target.fetch({ mediaType: MediaType.octet, digest: l.digest, size: l.size }), destOf(file), mode);
      counted.blobs++;
      counted.bytes += l.size;
      written.push({ name: file, size: l.size });
    }
    for (const { l, at } of wanted) {
      const dm = dirs.get(l.digest);
      let rest: Set<string> | undefined; // names still to extract from the whole layer (undefined: everything under rel)
      if (dm && r.store) {
        // Only the file lists that can hold the path (a binary search over them), and of those only this pack's.
        const store = r.store;
        const read = async (d: Descriptor) => {
          if (!lists.has(d.digest)) lists.set(d.digest, await small(store, { mediaType: MediaType.octet, digest: d.digest, size: d.size }));
          return lists.get(d.digest)!;
        };
        let covering = coveringOf.get(dm.root);
        if (!covering) coveringOf.set(dm.root, (covering = await listsCovering(dm.root, underPrefix(rel, at) && rel !== at ? rel.slice(at.length + 1) : '', read, `the directory manifest of ${at}`)));
        const list = dm.root.lists[dm.root.listIndex[dm.index]!]!;
        if (!covering.has(list.digest)) continue;
        await read(list);
        const m: DirManifest = assembleDirManifest(dm.root, (d) => lists.get(d)!, `the directory manifest of ${at}`, new Set([list.digest]));
        const all = m.files.filter((f) => f.layer === dm.index).map((f) => ({ ...f, name: `${at}/${f.path}` }));
        const wants: RangeWant[] = all.filter((f) => underPrefix(f.name, rel)).map((f) => ({ name: f.name, dest: destOf(f.name), mode: f.mode, digest: f.digest, size: f.size }));
        if (!wants.length) continue;
        const got = await readPackRanges(r.target, l, all, wants);
        counted.packs++;
        counted.requests += got.requests;
        counted.bytes += got.bytes;
        for (const w of got.placed) written.push({ name: w.name, size: w.size });
        if (!got.unmatched.length) continue;
        rest = new Set(got.unmatched.map((w) => w.name));
      }
      // The whole layer, verified as it streams; only entries under the path are kept.
      const kind = parseModelKitLayerType(l.mediaType);
      let body: AsyncIterable<Uint8Array> = await r.target.fetch({ mediaType: MediaType.octet, digest: l.digest, size: l.size });
      counted.blobs++;
      counted.bytes += l.size;
      if (kind?.compression) {
        if (!isCompression(kind.compression)) throw new MkError('EMODELKIT', `layer ${l.digest.slice(7, 19)} of ${ref} has an unknown compression '${kind.compression}'`);
        body = decompress(body, kind.compression, `layer ${l.digest.slice(7, 19)}`, { diffId: diffIdOf.get(l.digest) });
      }
      await readTar(body, `layer ${l.digest.slice(7, 19)} of ${ref}`, async (e) => {
        if (e.type !== 'file' || !underPrefix(e.name, rel) || (rest && !rest.has(e.name))) return;
        ensureRoom(dirname(out), e.size, e.name); // what the tar header declares, before a byte of it is written
        await writeStream(e.body, destOf(e.name), e.mode & 0o100 ? 0o755 : 0o644);
        written.push({ name: e.name, size: e.size });
      });
    }
    if (!written.length) throw new MkError('ENOTFOUND', `${rel} is not in ModelKit ${ref}`, { hint: `see what it holds with 'mk modelkit inspect ${ref}'` });
    replaceWith(tmp, out); // --force: the old output goes only once the new one is complete
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const single = written.length === 1 && written[0]!.name === rel;
  return {
    path: rel,
    commit: manifest.annotations?.[ANN.revision] ?? '',
    artifact: wanted[0]?.at ?? raws[0]!.file,
    reference: ref,
    digest: r.desc.digest,
    out,
    type: single ? 'file' : 'dir',
    files: written.length,
    bytes: written.reduce((n, f) => n + f.size, 0),
    downloaded: counted.blobs + counted.packs,
    downloadedBytes: counted.bytes,
    packsInPart: counted.packs,
    rangeRequests: counted.requests,
  };
}

interface PackRoot {
  root: ReturnType<typeof decodeDirRoot>;
  /** The pack's index among the root's layers. */
  index: number;
}

/**
 * mk's directory manifests attached to a ModelKit (a referrer listing roots and file lists):
 * for each pack layer, the root that names it and its index there. Only roots are read here
 * (small); a pack's file list is read when that pack is asked for. A ModelKit without them
 * (made by kit) gives none: its layers are read whole.
 */
async function dirManifestsOf(store: NonNullable<ResolvedModelKit['store']>, subject: Descriptor, small: (from: Fetcher, d: Descriptor) => Promise<Buffer>): Promise<Map<string, PackRoot>> {
  const out = new Map<string, PackRoot>();
  for (const ref of await referrers(store, subject)) {
    if (ref.artifactType !== undefined && ref.artifactType !== DIR_MANIFESTS_ARTIFACT) continue;
    let m: { artifactType?: unknown; layers?: unknown };
    try {
      m = JSON.parse((await readManifest(store, ref)).toString('utf8')) as typeof m;
    } catch {
      continue; // not one of mk's: the layers are read whole
    }
    if (m.artifactType !== DIR_MANIFESTS_ARTIFACT || !Array.isArray(m.layers)) continue;
    for (const d of m.layers as Descriptor[]) {
      if (d?.mediaType !== MediaType.mkDirectory || typeof d.digest !== 'string' || typeof d.size !== 'number') continue;
      const what = `directory manifest ${d.digest.slice(7, 19)}`;
      const root = decodeDirRoot(await small(store, { mediaType: MediaType.octet, digest: d.digest, size: d.size }), what);
      if (root.version !== 2) continue;
      root.layers.forEach((l, index) => {
        if (l.format === 'tar' && !out.has(l.digest)) out.set(l.digest, { root, index });
      });
    }
  }
  return out;
}

/** Mode from kit's file metadata annotation (only the executable bit is kept). */
function fileMode(meta: string | undefined): number {
  try {
    const m = JSON.parse(meta ?? '{}') as { mode?: unknown };
    return typeof m.mode === 'number' && m.mode & 0o100 ? 0o755 : 0o644;
  } catch {
    return 0o644;
  }
}

/** Writes a stream to `dest` (temp file, then rename): an error of the stream (a digest mismatch at its end) leaves nothing. */
async function writeStream(body: AsyncIterable<Uint8Array>, dest: string, mode: number): Promise<void> {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = tmpName(dest);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    for await (const c of body) {
      let off = 0;
      while (off < c.length) off += writeSync(fd, c, off, c.length - off);
    }
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  chmodSync(tmp, mode);
  renameSync(tmp, dest);
}
