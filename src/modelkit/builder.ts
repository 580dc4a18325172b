import { checkPointerSize } from '../worktree/pointer-size.js';
import { MemoryStore } from '../stores/memory/memory-store.js';
import { overlay } from '../stores/overlay.js';
import { copyGraph, GraphIncompleteError } from '../transfer/graph-copy.js';
import type { Descriptor } from '../content/descriptor.js';
import { KITFILE_ANNOTATION, kitLayerType, MediaType, modelPackLayerType, parseKitLayerType, type KitLayerKind } from '../content/media-types.js';
import type { DirManifest } from '../formats/dir-manifest.js';
import { loadDirManifest } from '../worktree/load.js';
import { MkError } from '../errors/index.js';
import { sha256 } from '../hashing/digest.js';
import { pointersAtCommit, underPrefix, type TrackedPointer } from '../git/pointers.js';
import { git } from '../git/run.js';
import type { RepoContext } from '../repo/context.js';
import { cleanPath, isModelKitReference, KITFILE_NAMES, kitEntries, KitfileError, kitfileLineOfPath, parseKitfile, type Kitfile, type KitEntryRef } from './kitfile.js';
import { defaultKitfile } from './kitfile-sync.js';
import { encodeConfig, encodeManifest } from './json.js';
import { commitInfo, listTree, readGitBlob, type TreeFile } from './tree.js';
import { fileLayer, treeLayer } from './tree-layer.js';
import { commitExperiment } from '../experiments/modelkit.js';
import { routeOf } from '../repo/routes.js';
import { parseRemoteUrl } from '../remote/url.js';
import { routedTag } from './tags.js';

export const ANN = {
  created: 'org.opencontainers.image.created',
  revision: 'org.opencontainers.image.revision',
  source: 'org.opencontainers.image.source',
  title: 'org.opencontainers.image.title',
  version: 'org.opencontainers.image.version',
  description: 'org.opencontainers.image.description',
  licenses: 'org.opencontainers.image.licenses',
  authors: 'org.opencontainers.image.authors',
  filepath: 'org.cncf.model.filepath',
  fileMetadata: 'org.cncf.model.file.metadata+json',
  layerSubtype: 'ml.kitops.modelkit.layer-subtype',
} as const;

export interface BuiltModelKit {
  commit: string;
  manifest: Descriptor;
  manifestBytes: Buffer;
  config: Descriptor;
  layers: Descriptor[];
  /** Files of the tree left out (symlinks, submodules), which kit cannot represent. */
  skipped: string[];
  /** The config and manifest (read it in front of the cache: the layers are there, when cached). */
  store: MemoryStore;
}

export interface PlannedLayer {
  desc: Descriptor;
  /** Path written in the config entry for this layer. */
  entryPath: string;
  /** For a raw layer: the file it holds. */
  file?: { path: string; mode: number };
}

const SECTION_KIND: Record<KitEntryRef['section'], KitLayerKind> = {
  model: 'model',
  modelpart: 'modelpart',
  code: 'code',
  datasets: 'dataset',
  docs: 'docs',
  prompts: 'code',
  mcpServers: 'code',
};

/** The commit's `origin` URL, without credentials, when it identifies a shared place (not a local path). */
export async function sourceUrl(root: string): Promise<string | undefined> {
  const url = (await git(root, ['config', '--get', 'remote.origin.url'], { okCodes: [1] })).trim();
  if (!url) return undefined;
  const scp = /^([^@/]+@)?([^:/]+):(?!\/)(.+)$/.exec(url);
  let u = scp ? `https://${scp[2]}/${scp[3]}` : url;
  if (!/^(https?|ssh|git):\/\//.test(u)) return undefined;
  try {
    const parsed = new URL(u.replace(/^(ssh|git):/, 'https:'));
    parsed.username = '';
    parsed.password = '';
    u = parsed.toString();
  } catch {
    return undefined;
  }
  return u.replace(/\.git\/?$/, '').replace(/\/$/, '');
}

function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function readKitfileAt(ctx: RepoContext, tree: TreeFile[]): Promise<{ kf: Kitfile; name?: string; text?: string }> {
  for (const n of KITFILE_NAMES) {
    const f = tree.find((t) => t.path === n);
    if (f) {
      const text = Buffer.from(await readGitBlob(ctx.commonDir, f.oid)).toString('utf8');
      return { kf: parseKitfile(text, n), name: n, text };
    }
  }
  return { kf: parseKitfile(defaultKitfile('project'), 'Kitfile (default)') };
}

/** Adds entries for tracked artifacts the Kitfile does not name, by their kind. */
function withImplicitEntries(kf: Kitfile, tracked: TrackedPointer[]): Kitfile {
  const out: Kitfile = JSON.parse(JSON.stringify(kf));
  const used = new Set(kitEntries(out).map((e) => cleanPath(e.entry.path)));
  for (const t of tracked) {
    if (used.has(t.path)) continue;
    const name = t.path.split('/').pop()!;
    const k = t.pointer.kind;
    if (k === 'model') {
      if (!out.model) out.model = { name, path: t.path };
      else if (!out.model.path) out.model.path = t.path;
      else (out.model.parts ??= []).push({ name, path: t.path });
    } else if (k === 'dataset') (out.datasets ??= []).push({ name, path: t.path });
    else if (k === 'code') (out.code ??= []).push({ path: t.path });
    else (out.docs ??= []).push({ path: t.path });
    used.add(t.path);
  }
  if (!out.code?.length && !kitEntries(out).some((e) => cleanPath(e.entry.path) === '.')) out.code = [{ path: '.' }];
  return out;
}

/**
 * The reference a ModelKit gives a routed artifact (remotes by path): its own ModelKit in its
 * remote's repository, `host/repository:<routedTag>`. Undefined for an artifact of the default
 * remote.
 */
export function routedReference(ctx: Pick<RepoContext, 'config' | 'root'>, t: TrackedPointer): string | undefined {
  const rc = routeOf(ctx.config, t);
  if (!rc) return undefined;
  const u = parseRemoteUrl(rc.url, ctx.root);
  if (u.type !== 'registry') throw new MkError('EROUTE', `remote '${rc.name}' has paths but is not a registry repository`);
  return `${u.host}/${u.repository}:${routedTag(t.path, t.pointer.digest)}`;
}

/**
 * A Kitfile whose routed artifacts are references to their own ModelKits, with no layer here:
 * each becomes a dataset with a `remotePath`, as kit writes a dataset kept in another ModelKit
 * (kit has remote entries for datasets only, so a routed model or model part is listed so
 * too). The ModelKit then holds neither their bytes nor the names of their files.
 */
function withRoutedEntries(kf: Kitfile, refs: Map<string, string>): Kitfile {
  if (refs.size === 0) return kf;
  const out: Kitfile = JSON.parse(JSON.stringify(kf));
  const ref = (p: string | undefined) => (p === undefined ? undefined : refs.get(cleanPath(p)));
  const moved: NonNullable<Kitfile['datasets']> = [];
  const move = (e: { path?: string; name?: string; description?: string; license?: string }, r: string) =>
    moved.push({
      name: e.name ?? cleanPath(e.path!).split('/').pop()!,
      path: cleanPath(e.path!),
      remotePath: r,
      ...(e.description ? { description: e.description } : {}),
      ...(e.license ? { license: e.license } : {}),
    });
  if (out.model) {
    const r = ref(out.model.path);
    if (r) {
      move(out.model, r);
      delete out.model.path;
    }
    if (out.model.parts) {
      for (const part of out.model.parts) {
        const pr = ref(part.path);
        if (pr) move(part, pr);
      }
      out.model.parts = out.model.parts.filter((x) => !ref(x.path));
      if (!out.model.parts.length) delete out.model.parts;
    }
    if (out.model.path === undefined && !out.model.parts) delete out.model;
  }
  for (const d of out.datasets ?? []) {
    const r = ref(d.path);
    if (r) {
      d.remotePath = r;
      delete d.remoteHash;
    }
  }
  for (const k of ['code', 'docs', 'prompts', 'mcpServers'] as const) {
    const list = out[k] as Array<{ path?: string; name?: string }> | undefined;
    if (!list) continue;
    for (const e of list) {
      const r = ref(e.path);
      if (r) move(e, r);
    }
    (out as unknown as Record<string, unknown>)[k] = list.filter((e) => !ref(e.path));
  }
  if (moved.length) out.datasets = [...(out.datasets ?? []), ...moved];
  return out;
}

/**
 * Builds the ModelKit of a commit from the commit alone: its Kitfile, its pointers (whose
 * data must be in the cache) and its tree. Writes the config, code/docs layers and the
 * manifest into the cache. Same commit in, same bytes out, on any machine.
 * `opts.source`: the `sourceUrl` already looked up (null: none), for a caller building many.
 */
export async function buildModelKit(ctx: RepoContext, commit: string, opts: { source?: string | null } = {}): Promise<BuiltModelKit> {
  const info = await commitInfo(ctx.commonDir, commit);
  const { files: tree, skipped } = await listTree(ctx.commonDir, commit);
  const tracked = await pointersAtCommit(ctx.commonDir, commit);
  const { kf: written, name: kitfileName, text: kitfileText } = await readKitfileAt(ctx, tree);
  // Remotes by path: a routed artifact is a reference to its own ModelKit, never a layer here.
  const refs = new Map<string, string>();
  for (const t of tracked) {
    const r = routedReference(ctx, t);
    if (r) refs.set(t.path, r);
  }
  const kf = withRoutedEntries(withImplicitEntries(written, tracked), refs);
  // The commit's params (its own .mk/config.yaml's `params` files) go in model.parameters,
  // over what the Kitfile says; params and metrics also as manifest annotations.
  const exp = await commitExperiment(ctx.commonDir, commit);
  if (kf.model && Object.keys(exp.params).length) {
    const own = kf.model.parameters;
    kf.model.parameters = own && typeof own === 'object' && !Array.isArray(own) ? { ...(own as Record<string, unknown>), ...exp.params } : exp.params;
  }
  const entries = kitEntries(kf);
  const trackedByPath = new Map(tracked.map((t) => [t.path, t]));
  const claimed = [...new Set([...entries.map((e) => cleanPath(e.entry.path)), ...tracked.map((t) => t.path)])];
  const ignoredNames = new Set([...KITFILE_NAMES, '.kitignore']);

  const planned = new Map<KitEntryRef, PlannedLayer[]>();
  for (const e of entries) {
    const p = cleanPath(e.entry.path);
    if (e.section === 'model' && isModelKitReference(e.entry.path)) {
      planned.set(e, []);
      continue;
    }
    if (refs.has(p)) {
      planned.set(e, []);
      continue;
    }
    const kind = SECTION_KIND[e.section];
    const t = trackedByPath.get(p);
    if (t) {
      planned.set(e, await artifactLayers(ctx, t, kind, e));
      continue;
    }
    const inside = tree.filter((f) => underPrefix(f.path, p) && !ignoredNames.has(f.path));
    const own = inside.filter((f) => !claimed.some((q) => q !== p && underPrefix(q, p) && underPrefix(f.path, q)));
    if (inside.length === 0 && !tree.some((f) => f.path === p)) {
      const line = kitfileText !== undefined && e.entry.path !== undefined ? kitfileLineOfPath(kitfileText, e.entry.path) : undefined;
      throw new KitfileError(kitfileName ?? 'Kitfile', line, `${e.section} path '${e.entry.path}' does not exist at ${commit.slice(0, 12)} (neither a file of the commit nor a tracked artifact)`);
    }
    if (own.length === 0) {
      planned.set(e, []);
      continue;
    }
    const layer = await treeLayer(ctx.commonDir, ctx.stateDir, ctx.cache, own);
    const desc: Descriptor = { mediaType: kitLayerType(kind, 'tar'), digest: layer.digest, size: layer.size };
    if (e.section === 'prompts') desc.annotations = { [ANN.layerSubtype]: 'prompt' };
    planned.set(e, [{ desc, entryPath: e.entry.path ?? '.' }]);
  }

  // Identical files (two tracked copies, or two large files of one directory) would be the
  // same raw blob twice: every copy after the first goes in a one-file tar layer instead.
  const used = new Set<string>();
  for (const e of entries) {
    for (const l of planned.get(e) ?? []) {
      if (used.has(l.desc.digest) && l.file && l.desc.mediaType.endsWith('.raw')) {
        const t = await fileLayer(ctx.stateDir, ctx.cache, l.file.path, l.file.mode, l.desc);
        l.desc = { mediaType: l.desc.mediaType.replace(/\.raw$/, '.tar'), digest: t.digest, size: t.size };
        delete l.file;
      }
      used.add(l.desc.digest);
    }
  }

  const modelPack = ctx.config.modelKitFormat === 'modelpack';
  if (modelPack) for (const e of entries) for (const l of planned.get(e) ?? []) l.desc = asModelPackLayer(l, e);

  // The config: the Kitfile as JSON, each entry expanded to one entry per layer, with digests.
  const config = expandConfig(kf, entries, planned);
  const kitConfigBytes = encodeConfig(config);
  const layers: Descriptor[] = [];
  for (const e of entries) for (const l of planned.get(e) ?? []) layers.push(l.desc);
  // A ModelPack's config is model-spec's; the Kitfile travels in an annotation, as kit writes it.
  const src = ctx.config.source ?? (opts.source === undefined ? await sourceUrl(ctx.root) : (opts.source ?? undefined));
  const configBytes = modelPack ? modelPackConfig(kf, layers, info.committerTime, commit, src) : kitConfigBytes;
  const configDesc: Descriptor = { mediaType: modelPack ? MediaType.modelPackConfig : MediaType.kitConfig, digest: sha256(configBytes), size: configBytes.length };
  const seen = new Set<string>();
  for (const l of layers) {
    if (seen.has(l.digest))
      throw new MkError('EMODELKIT', `two Kitfile entries produce the same layer ${l.digest.slice(7, 19)} (identical content at two paths)`, { hint: 'list that content once in the Kitfile' });
    seen.add(l.digest);
  }

  const annotations: Record<string, string> = {
    [ANN.created]: rfc3339(info.committerTime),
    [ANN.revision]: commit,
  };
  if (src) annotations[ANN.source] = src;
  const pkg = kf.package ?? {};
  if (pkg.name) annotations[ANN.title] = pkg.name;
  if (pkg.version) annotations[ANN.version] = pkg.version;
  if (pkg.description) annotations[ANN.description] = pkg.description;
  if (pkg.license) annotations[ANN.licenses] = pkg.license;
  if (pkg.authors?.length) annotations[ANN.authors] = pkg.authors.join(', ');
  Object.assign(annotations, exp.annotations);
  if (modelPack) annotations[KITFILE_ANNOTATION] = kitConfigBytes.toString('utf8');
  const artifactType = modelPack ? MediaType.modelPackManifestArtifact : MediaType.kitManifestArtifact;
  const manifestBytes = encodeManifest(configDesc, layers, annotations, artifactType);
  if (manifestBytes.length > 4 * 1024 * 1024) {
    throw new MkError('EMODELKIT', `the ModelKit manifest of ${commit.slice(0, 12)} would be ${manifestBytes.length} bytes, over the 4 MiB registries accept`, {
      hint: 'raise storage.pack_target in .mk/config.yaml so directories use fewer, larger packs',
    });
  }
  const manifest: Descriptor = { mediaType: MediaType.ociManifest, digest: sha256(manifestBytes), size: manifestBytes.length, artifactType };
  // Config and manifest are held in memory (`store`, read in front of the cache), and go to
  // the cache through the one graph copy when the layers are all there (the manifest after
  // what it names). A clone without the data can still build, compare and verify digests.
  const store = new MemoryStore('the built ModelKit');
  store.put(configDesc.mediaType, configBytes);
  store.put(MediaType.ociManifest, manifestBytes);
  try {
    await copyGraph(overlay(store, ctx.cache), ctx.cache, [manifest]);
  } catch (e) {
    if (!(e instanceof GraphIncompleteError)) throw e;
  }
  return { commit, manifest, manifestBytes, config: configDesc, layers, skipped, store };
}

export async function artifactLayers(ctx: RepoContext, t: TrackedPointer, kind: KitLayerKind, e: KitEntryRef): Promise<PlannedLayer[]> {
  const p = t.pointer;
  const rawLayer = (digest: string, size: number, path: string, mode: number, entryPath = path, k: KitLayerKind = kind): PlannedLayer => ({
    entryPath,
    file: { path, mode },
    desc: {
      mediaType: kitLayerType(k, 'raw'),
      digest,
      size,
      annotations: {
        [ANN.fileMetadata]: `{"name":${JSON.stringify(path.split('/').pop())},"mode":${mode},"uid":0,"gid":0,"size":${size},"mtime":"1970-01-01T00:00:00Z","typeflag":48}`,
        [ANN.filepath]: path,
        // Generic OCI clients name a layer's file by its title: `oras pull` writes this blob
        // at this path. Tar layers get none: oras would write the tar itself as a file (it
        // unpacks only gzip tars marked io.deis.oras.content.unpack), so it skips them.
        [ANN.title]: path,
      },
    },
  });
  await checkPointerSize(ctx.cache, t);
  if (p.type === 'file') return [rawLayer(p.digest, p.size, t.path, p.exec ? 0o755 : 0o644)];
  let m: DirManifest;
  try {
    m = await loadDirManifest(ctx.cache, p);
  } catch {
    throw new MkError('ENOTCACHED', `the data of ${t.path} is not in the local cache`, { hint: "run 'mk fetch' for this revision first" });
  }
  const firstFile = new Map<number, { path: string; mode: number }>();
  for (const f of m.files) if (!firstFile.has(f.layer)) firstFile.set(f.layer, f);
  // kit pairs each layer with a config entry (by digest), and `kit pack` refuses two entries
  // with one path. The first layer of the directory keeps the Kitfile entry's path; every
  // further layer gets a path of its own inside the directory (partPaths), with the entry's
  // name: `kit info` lists the Kitfile's entry once, the unpacked Kitfile packs again, and
  // `kit unpack --filter <type>:<name>` selects every layer of the directory.
  // The config lists the layers of a model directory after the first as model parts
  // (expandConfig), so their media type says modelpart too: kit versions that pair layers
  // with config entries by media type and position then find the same digests.
  const dirPath = e.entry.path ?? t.path;
  const paths = partPaths(m, t.path, dirPath);
  return m.layers.map((l, i) => {
    const f = firstFile.get(i);
    const k: KitLayerKind = kind === 'model' && i > 0 ? 'modelpart' : kind;
    if (l.format === 'raw') return rawLayer(l.digest, l.size, `${t.path}/${f!.path}`, f!.mode, paths[i], k);
    return { entryPath: paths[i]!, desc: { mediaType: kitLayerType(k, 'tar'), digest: l.digest, size: l.size } };
  });
}

/**
 * The config path of each layer of a directory: the entry's own path for the first; for a
 * raw layer its file; for a pack the deepest folder that holds its files and no other
 * layer's, or else its first file (a pack of a flat folder). Distinct, and each names a
 * path the layer's files are in, so `kit pack` of an unpacked tree accepts them.
 */
function partPaths(m: DirManifest, artifactPath: string, dirPath: string): string[] {
  const byLayer = new Map<number, string[]>();
  for (const f of m.files) {
    let l = byLayer.get(f.layer);
    if (!l) byLayer.set(f.layer, (l = []));
    l.push(f.path);
  }
  const owner = new Map<string, number>(); // folder (relative) -> the one layer with files under it, or -1
  for (const [layer, files] of byLayer) {
    for (const f of files) {
      for (let d = f.lastIndexOf('/'); d > 0; d = f.lastIndexOf('/', d - 1)) {
        const dir = f.slice(0, d);
        const o = owner.get(dir);
        if (o === undefined) owner.set(dir, layer);
        else if (o !== layer) owner.set(dir, -1);
      }
    }
  }
  const used = new Set([cleanPath(dirPath)]);
  return m.layers.map((_, i) => {
    if (i === 0) return dirPath;
    const files = byLayer.get(i) ?? [];
    let choice = `${artifactPath}/${files[0]}`;
    if (m.layers[i]!.format === 'tar' && files.length > 1) {
      let common = files[0]!.slice(0, Math.max(0, files[0]!.lastIndexOf('/')));
      for (const f of files) while (common && !f.startsWith(`${common}/`)) common = common.slice(0, Math.max(0, common.lastIndexOf('/')));
      if (common && owner.get(common) === i && !used.has(`${artifactPath}/${common}`)) choice = `${artifactPath}/${common}`;
    }
    used.add(choice);
    return choice;
  });
}

/**
 * A layer in ModelPack's terms (model-spec v1, as `kit pack --use-model-pack` writes it): its
 * media type (`weight` for the model and the further layers of a model directory,
 * `weight.config` for a Kitfile model part, `dataset`, `code`, `doc`) and the path of its entry
 * as `org.cncf.model.filepath`, which ModelPack readers unpack by.
 */
function asModelPackLayer(l: PlannedLayer, e: KitEntryRef): Descriptor {
  const kit = parseKitLayerType(l.desc.mediaType)!;
  const kind: KitLayerKind = e.section === 'modelpart' ? 'modelpart' : kit.kind === 'modelpart' ? 'model' : (kit.kind as KitLayerKind);
  return { ...l.desc, mediaType: modelPackLayerType(kind, kit.format as 'tar' | 'raw'), annotations: { ...l.desc.annotations, [ANN.filepath]: l.file?.path ?? cleanPath(l.entryPath) } };
}

/** model-spec's config: the descriptor from the Kitfile's package, the commit and its time; the layers' diffIds. */
function modelPackConfig(kf: Kitfile, layers: Descriptor[], committerTime: number, commit: string, source: string | undefined): Buffer {
  const pkg = kf.package ?? {};
  // model-spec's field order (specs-go/v1 ModelDescriptor).
  const descriptor: Record<string, unknown> = { createdAt: rfc3339(committerTime) };
  if (pkg.authors?.length) descriptor.authors = pkg.authors;
  if (pkg.name) descriptor.name = pkg.name;
  if (source) descriptor.sourceURL = source;
  if (pkg.version) descriptor.version = pkg.version;
  descriptor.revision = commit;
  if (pkg.license) descriptor.licenses = [pkg.license];
  if (pkg.name) descriptor.title = pkg.name;
  if (pkg.description) descriptor.description = pkg.description;
  const config: Record<string, unknown> = {};
  if (kf.model?.format) config.format = kf.model.format;
  // Every layer is stored uncompressed: its diffId is its digest.
  return Buffer.from(JSON.stringify({ descriptor, modelfs: { type: 'layers', diffIds: layers.map((l) => l.digest) }, config }), 'utf8');
}

export function expandConfig(kf: Kitfile, entries: KitEntryRef[], planned: Map<KitEntryRef, PlannedLayer[]>): Kitfile {
  const out: Kitfile = { manifestVersion: kf.manifestVersion };
  if (kf.package) out.package = kf.package;
  const expand = <T extends { path?: string }>(ref: KitEntryRef): T[] => {
    const ls = planned.get(ref) ?? [];
    // A model that names another ModelKit, and a dataset kept in another ModelKit (remotePath), have no layer here.
    if (ls.length === 0) return ref.section === 'model' || (ref.entry as { remotePath?: string }).remotePath ? [{ ...(ref.entry as T) }] : [];
    return ls.map((l) => ({ ...(ref.entry as T), path: l.entryPath, digest: l.desc.digest, diffId: l.desc.digest }));
  };
  for (const ref of entries) {
    if (ref.section === 'model') {
      const [first, ...rest] = expand<NonNullable<Kitfile['model']>>(ref);
      const { parts: _p, ...model } = first!;
      out.model = { ...model };
      const parts = rest.map((r) => ({ name: r.name, path: r.path, license: r.license, digest: r.digest, diffId: r.diffId }));
      if (parts.length) out.model.parts = parts;
    } else if (ref.section === 'modelpart') {
      (out.model!.parts ??= []).push(...expand<NonNullable<NonNullable<Kitfile['model']>['parts']>[number]>(ref));
    } else {
      const list = (out[ref.section] ??= []) as Array<{ path?: string }>;
      list.push(...expand(ref));
    }
  }
  for (const k of ['code', 'datasets', 'docs', 'prompts', 'mcpServers'] as const) if (out[k]?.length === 0) delete out[k];
  return out;
}
