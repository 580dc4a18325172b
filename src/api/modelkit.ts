import pLimit from 'p-limit';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import type { Descriptor } from '../content/descriptor.js';
import { isModelKitConfigType, MediaType } from '../content/media-types.js';
import { readAll, type Fetcher, type Target } from '../content/storage.js';
import { overlay } from '../stores/overlay.js';
import { MkError } from '../errors/index.js';
import { sha256, verifying } from '../hashing/digest.js';
import { resolveCommit } from '../git/run.js';
import { buildModelKit, type BuiltModelKit } from '../modelkit/builder.js';
import { publishModelKit, readManifest } from '../modelkit/publish.js';
import { attachDirManifests, copyReferrers } from '../modelkit/referrers.js';
import { dirManifestBlobs } from '../worktree/roots.js';
import { pointersAtCommit } from '../git/pointers.js';
import { modelPackKitConfig, parseImageManifest, parseKitConfig, type ImageManifest, type KitConfig } from '../modelkit/read.js';
import { configEntries, matches, parseFilter, Unpacker, type Filter } from '../modelkit/unpack.js';
import { isModelKitReference } from '../modelkit/kitfile.js';
import { cleanEntryName } from '../formats/stored-path.js';
import { defaultRemoteHost, openLayout, openRemote, registrySettings, remoteConfig, remoteOnHost } from '../remote/remotes.js';
import { parseRemoteUrl } from '../remote/url.js';
import { openCacheStore, openLayoutStore, openRegistryStore } from '../stores/open.js';
import { RepoContext } from '../repo/context.js';
import type { CacheStore } from '../content/storage.js';
import { copyGraph, type GraphCopyOptions } from '../transfer/graph-copy.js';
import { deniedReason, repositoryOf, withheldOf, type Withheld } from '../remote/access.js';
import { isMkError } from '../errors/index.js';
import { ROUTED_PATH_ANNOTATION } from '../modelkit/routed.js';

export interface ResolvedModelKit {
  reference: string;
  /** Where to read it from (for a revision: the built manifest in front of the cache). */
  target: Fetcher & { location: string };
  /** The store that holds it under a tag (not for a revision, which is built on the spot). */
  store?: Target;
  /** The tag it was named by, if any. */
  tag?: string;
  desc: Descriptor;
  /** Set when the reference named a commit of the current repository. */
  commit?: string;
  built?: BuiltModelKit;
  /**
   * The registry host the user chose for this command (named in the reference, or the remote's):
   * the one host environment credentials may go to. ModelKits this one references get it as
   * it is, never their own host.
   */
  envHost?: string;
}

function tryRepo(cwd?: string): RepoContext | undefined {
  try {
    return RepoContext.open(cwd);
  } catch {
    return undefined;
  }
}

/** Builds (into the cache) the ModelKit of a revision; tags it in the cache with the commit id. */
export async function modelkitBuild(opts: { cwd?: string; rev?: string } = {}): Promise<BuiltModelKit & { reference?: string }> {
  const ctx = RepoContext.open(opts.cwd);
  const commit = await resolveCommit(ctx.root, opts.rev ?? 'HEAD');
  const lock = await ctx.lock();
  try {
    const built = await buildModelKit(ctx, commit);
    // Tagged in the cache only when it is complete there: a clone without the data still
    // learns the digest (the same on any machine), but holds no ModelKit it cannot serve.
    if (!ctx.cache.existsSync(built.manifest)) return built;
    await ctx.cache.tag(built.manifest, commit);
    return { ...built, reference: `${ctx.cacheDir}:${commit}` };
  } finally {
    lock.release();
  }
}

/** An OCI image layout named by `oci:<path>`, read only: a folder that is not there is one line, never an empty store. */
function existingLayout(path: string): ReturnType<typeof openLayoutStore> {
  if (!existsSync(join(path, 'oci-layout'))) {
    throw new MkError('ENOTFOUND', existsSync(path) ? `${path} is not an OCI image layout (no oci-layout file)` : `${path} does not exist (not mounted?)`, {
      hint: 'name the folder of an OCI image layout (it holds oci-layout, index.json and blobs/)',
    });
  }
  return openLayoutStore(path);
}

/**
 * Resolves a ModelKit reference:
 * - a revision of the current repository (built from the commit, into the cache);
 * - `<remote>:<tag>` for a configured mk remote (e.g. origin:main);
 * - `oci:<path>[:tag]` for an OCI image layout on disk;
 * - `[oci://]host[:port]/repository[:tag|@digest]` for a registry.
 */
export async function resolveModelKit(ref: string, opts: { cwd?: string } = {}): Promise<ResolvedModelKit> {
  const ctx = tryRepo(opts.cwd);
  if (ref.startsWith('oci:') && !ref.startsWith('oci://')) {
    const m = /^oci:(.*?)(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127})|@(sha256:[a-f0-9]{64}))?$/.exec(ref);
    const store = existingLayout(resolvePath(opts.cwd ?? process.cwd(), m![1]!));
    const tag = m![2] ?? m![3];
    const envHost = defaultRemoteHost(ctx);
    if (!tag) {
      const tags = await store.tags();
      if (tags.length !== 1) throw new MkError('EREF', `${ref}: name a tag (${tags.length} in the layout: ${tags.slice(0, 5).join(', ')})`);
      return { reference: ref, target: store, store, tag: tags[0], desc: await store.resolve(tags[0]!), envHost };
    }
    return { reference: ref, target: store, store, tag: m![2], desc: await store.resolve(tag), envHost };
  }
  if (ctx) {
    const colon = ref.indexOf(':');
    if (colon > 0 && !ref.includes('/')) {
      const name = ref.slice(0, colon);
      const rc = ctx.config.remotes.find((r) => r.name === name);
      if (rc) {
        const target = await openRemote(ctx, rc);
        const u = parseRemoteUrl(rc.url, ctx.root);
        return { reference: ref, target, store: target, tag: ref.slice(colon + 1), desc: await target.resolve(ref.slice(colon + 1)), envHost: u.type === 'registry' ? u.host : undefined };
      }
    }
    if (!ref.includes('/') || !/[.:]/.test(ref.split('/')[0]!)) {
      let commit: string | undefined;
      try {
        commit = await resolveCommit(ctx.root, ref);
      } catch {
        /* not a revision */
      }
      if (commit) {
        const built = await buildModelKit(ctx, commit);
        return { reference: ref, target: { ...overlay(built.store, ctx.cache), location: ctx.cacheDir }, desc: built.manifest, commit, built, envHost: defaultRemoteHost(ctx) };
      }
    }
  }
  return resolveRegistryModelKit(ref, ctx, (host) => host);
}

/**
 * A registry reference (`[oci://]host[:port]/repository[:tag|@digest]`), with the settings of a
 * remote on that host. `envHost` says which host environment credentials belong to: the
 * reference's own when the user typed it, the command's when a ModelKit named it.
 */
async function resolveRegistryModelKit(ref: string, ctx: RepoContext | undefined, envHost: (refHost: string) => string | undefined): Promise<ResolvedModelKit> {
  const { findUserinfo, parseRegistryReference } = await import('../stores/registry/index.js');
  let r;
  try {
    r = parseRegistryReference(ref.replace(/^oci:\/\//, ''));
  } catch (e) {
    if (findUserinfo(ref)) throw e; // it says so, with the credentials masked
    throw new MkError('EREF', `'${ref}' is not a revision of this repository, a remote:tag, oci:<path>[:tag] or a registry reference (host/repository:tag)`, { cause: e });
  }
  const chosen = envHost(r.host);
  const target = await openRegistryStore({ ...registrySettings(ctx && remoteOnHost(ctx, r.host), r.host, r.repository), envCredentialsHost: chosen });
  const tag = (r as { tag?: string }).tag ?? ((r as { digest?: string }).digest ? undefined : 'latest');
  const reference = (r as { digest?: string }).digest ?? tag!;
  return { reference: ref, target, store: target, tag, desc: await target.resolve(reference), envHost: chosen };
}

/** One ModelKit in a repository (a remote, a layout, host/repository), with every tag that names it. */
export interface ListedModelKit {
  digest: string;
  tags: string[];
  /** Bytes of its layers and config. */
  size: number;
  layers: number;
  /** org.opencontainers.image.created and .revision (mk writes both; kit neither). */
  created?: string;
  revision?: string;
  /** The Kitfile's package name, when it has one. */
  title?: string;
}

/**
 * The ModelKits of a repository: `where` is a remote's name (default: the default remote),
 * `oci:<path>` or `host[:port]/repository`. Tags that name anything else (mk's referrers'
 * fallback tags, images) are left out. Newest first (by `created`, then tag).
 */
export async function modelkitList(where?: string, opts: { cwd?: string } = {}): Promise<{ location: string; modelkits: ListedModelKit[] }> {
  const ctx = tryRepo(opts.cwd);
  let store: Target & { tags(): Promise<string[]>; resolve(ref: string): Promise<Descriptor> };
  if (where?.startsWith('oci:') && !where.startsWith('oci://')) store = existingLayout(resolvePath(opts.cwd ?? process.cwd(), where.slice(4)));
  else if (ctx && (where === undefined || ctx.config.remotes.some((r) => r.name === where))) store = await openRemote(ctx, remoteConfig(ctx, where));
  else if (where === undefined) throw new MkError('EUSAGE', 'name where to list: a remote, oci:<path> or host/repository', { hint: 'outside a repository there is no default remote' });
  else {
    const { parseRegistryReference } = await import('../stores/registry/index.js');
    let r;
    try {
      r = parseRegistryReference(where.replace(/^oci:\/\//, ''));
    } catch (e) {
      throw new MkError('EUSAGE', `'${where}' is not a remote of this repository, oci:<path> or a registry repository (host/repository)`, { cause: e });
    }
    store = await openRegistryStore({ ...registrySettings(ctx && remoteOnHost(ctx, r.host), r.host, r.repository), envCredentialsHost: r.host });
  }
  const byDigest = new Map<string, ListedModelKit>();
  const tags = (await store.tags()).filter((t) => !/^sha256-[0-9a-f]{64}$/.test(t) && !t.startsWith('mk-run-')); // not the referrers' fallback tags, nor run cache entries
  const limit = pLimit(8);
  const resolved = await Promise.all(tags.map((tag) => limit(async () => ({ tag, desc: await store.resolve(tag) }))));
  const manifests = new Map<string, Promise<ImageManifest | undefined>>();
  for (const { tag, desc } of resolved) {
    if (!manifests.has(desc.digest))
      manifests.set(
        desc.digest,
        limit(async () => {
          try {
            return parseImageManifest(await readManifest(store, desc), `the manifest tagged ${tag}`);
          } catch {
            return undefined; // an index, or anything else that is not an image manifest
          }
        }),
      );
  }
  for (const { tag, desc } of resolved) {
    const known = byDigest.get(desc.digest);
    if (known) {
      known.tags.push(tag);
      continue;
    }
    const manifest = await manifests.get(desc.digest)!;
    if (!manifest || !isModelKitConfigType(manifest.config.mediaType)) continue;
    const a = manifest.annotations ?? {};
    byDigest.set(desc.digest, {
      digest: desc.digest,
      tags: [tag],
      size: manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
      layers: manifest.layers.length,
      created: a['org.opencontainers.image.created'],
      revision: a['org.opencontainers.image.revision'],
      title: a['org.opencontainers.image.title'],
    });
  }
  const modelkits = [...byDigest.values()];
  for (const m of modelkits) m.tags.sort();
  modelkits.sort((x, y) => (y.created ?? '').localeCompare(x.created ?? '') || x.tags[0]!.localeCompare(y.tags[0]!));
  return { location: store.location, modelkits };
}

export interface ModelKitInfo {
  reference: string;
  digest: string;
  manifest: ImageManifest;
  /** The Kitfile as config JSON (for a ModelPack: kit's annotation, or built from the layers). */
  config: KitConfig;
  /** KitOps (`application/vnd.kitops.modelkit.*`) or CNCF ModelPack (`application/vnd.cncf.model.*`). */
  format: 'kitops' | 'modelpack';
  /** A Kitfile came with it (a ModelPack without kit's annotation has none: unpack writes none, as kit). */
  kitfile: boolean;
}

export async function modelkitInspect(ref: string, opts: { cwd?: string } = {}): Promise<ModelKitInfo> {
  return inspectResolved(ref, await resolveModelKit(ref, opts));
}

async function inspectResolved(ref: string, r: { target: Fetcher; desc: Descriptor }): Promise<ModelKitInfo> {
  const bytes = await readManifest(r.target, r.desc);
  const manifest = parseImageManifest(bytes, `the manifest of ${ref}`);
  if (!isModelKitConfigType(manifest.config.mediaType)) {
    throw new MkError('ENOTMODELKIT', `${ref} is not a ModelKit (config media type ${manifest.config.mediaType})`, {
      hint: `a ModelKit has config type ${MediaType.kitConfig} (KitOps) or ${MediaType.modelPackConfig} (ModelPack)`,
    });
  }
  const configBytes = await readAll(await r.target.fetch(manifest.config), 64 << 20);
  if (manifest.config.mediaType === MediaType.modelPackConfig) {
    const { config, generated } = modelPackKitConfig(manifest, configBytes, ref);
    return { reference: ref, digest: r.desc.digest, manifest, config, format: 'modelpack', kitfile: !generated };
  }
  const config = parseKitConfig(configBytes, `the config of ${ref}`);
  return { reference: ref, digest: r.desc.digest, manifest, config, format: 'kitops', kitfile: true };
}

function localStore(cwd?: string): CacheStore {
  const ctx = tryRepo(cwd);
  if (ctx) return ctx.cache;
  const dir = process.env.MK_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mk', 'cache');
  return openCacheStore(dir);
}

export interface UnpackOptions {
  cwd?: string;
  dir?: string;
  filters?: string[];
  overwrite?: boolean;
  ignoreExisting?: boolean;
  /** Also unpack datasets that name another ModelKit (`remotePath`), as `kit unpack --include-remote`. */
  includeRemote?: boolean;
  /** Write the ModelKit's OpenSSF model signature (a Sigstore bundle) to this file, for `model_signing verify`. */
  signature?: string;
}

/** kit's limit on a chain of ModelKit references (constants.MaxModelRefChain). */
const MAX_REFERENCE_CHAIN = 10;

/** The layers to take from one ModelKit of an unpack (the one named, or one its config references). */
interface UnpackPart {
  target: Fetcher;
  layers: Descriptor[];
  diffIds: Map<string, string>;
  /** Where its files go, under the unpack directory ('' = the directory itself). */
  base: string;
}

/**
 * The user's filters restricted to one base type, for a ModelKit referenced by the one being
 * unpacked (kit's unpackRemote): none given = that type only; else the filters naming that
 * type, with that type only; undefined = nothing of it is wanted.
 */
function restrictFilters(filters: Filter[], type: Filter['types'][number]): Filter[] | undefined {
  if (filters.length === 0) return [{ types: [type], names: [] }];
  const kept = filters.filter((f) => f.types.includes(type)).map((f) => ({ types: [type], names: f.names }));
  return kept.length ? kept : undefined;
}

/**
 * Plans the unpack of one ModelKit and of the ModelKits its config references, as kit does: a
 * `model.path` naming another ModelKit unpacks that ModelKit's model first (recursively, at most
 * 10 deep, a cycle refused); a dataset whose `remotePath` names a ModelKit unpacks that
 * ModelKit's datasets under the dataset's path, with `includeRemote`. References are registry
 * references only: a ModelKit from outside never makes mk read a local path.
 */
async function planUnpack(
  info: ModelKitInfo,
  target: Fetcher,
  filters: Filter[],
  opts: UnpackOptions,
  chain: string[],
  base: string,
  warnings: string[],
  envHost: string | undefined,
  withheld: Withheld[] = [],
): Promise<UnpackPart[]> {
  const parts: UnpackPart[] = [];
  const follow = async (ref: string, type: Filter['types'][number], under: string, dataset?: string): Promise<void> => {
    const sub = restrictFilters(filters, type);
    if (!sub) return;
    const at = chain.indexOf(ref);
    if (at !== -1) throw new MkError('EMODELKIT', `found a cycle in ModelKit references: [${[...chain.slice(at), ref].join(' => ')}]`);
    if (chain.length > MAX_REFERENCE_CHAIN) throw new MkError('EMODELKIT', `reached the maximum number of ModelKit references (${MAX_REFERENCE_CHAIN}): [${[...chain, ref].join(' => ')}]`);
    let r: ResolvedModelKit;
    let child: ModelKitInfo;
    try {
      // A host the ModelKit names is not one the user chose: the command's host keeps the credentials.
      r = await resolveRegistryModelKit(ref, tryRepo(opts.cwd), () => envHost);
      child = await inspectResolved(ref, r);
    } catch (e) {
      // A remote dataset in a repository this user may not read: withheld, the rest is unpacked.
      const why = dataset !== undefined ? deniedReason(e) : undefined;
      if (why === undefined) throw e;
      const repository = ref.replace(/^oci:\/\//, '').replace(/[:@][^/]*$/, '');
      withheld.push({ path: dataset!, remote: repository, repository, reason: why });
      return;
    }
    // mk's ModelKit of a routed artifact names its files from the repository root (its path is in them): unpacked where the project has it.
    const rooted = typeof child.manifest.annotations?.[ROUTED_PATH_ANNOTATION] === 'string';
    parts.push(...(await planUnpack(child, r.target, sub, opts, [...chain, ref], rooted ? base : under, warnings, envHost, withheld)));
  };
  const modelPath = info.config.model?.path;
  if (isModelKitReference(modelPath)) await follow(modelPath!, 'model', base);
  const remoteDatasets = (info.config.datasets ?? []).filter((d) => typeof d.remotePath === 'string' && d.remotePath !== '' && matches(filters, 'datasets', d.name, d.path));
  if (remoteDatasets.length && !opts.includeRemote) warnings.push(`${chain.at(-1)} has remote datasets (${remoteDatasets.map((d) => d.path).join(', ')}): add --include-remote to unpack them`);
  else {
    for (const d of remoteDatasets) {
      const rp = d.remotePath as string;
      if (!isModelKitReference(rp))
        throw new MkError('EUNSUPPORTED', `dataset ${d.path}: remote path ${rp} is not a ModelKit reference; mk unpacks ModelKit references only (kit unpack --include-remote downloads S3 objects)`);
      const under = cleanEntryName(typeof d.path === 'string' ? d.path : '');
      await follow(rp, 'datasets', base ? `${base}/${under}` : under, under);
    }
  }

  const layersByDigest = new Map<string, Descriptor>((info.manifest.layers as Descriptor[]).map((l) => [l.digest, l]));
  const entries = configEntries(info.config);
  // The config's digest of each layer's uncompressed bytes (checked when a layer is compressed).
  const diffIds = new Map(entries.filter((e) => e.digest && e.diffId).map((e) => [e.digest!, e.diffId!]));
  const selected: Descriptor[] = [];
  if (entries.some((e) => e.digest)) {
    for (const e of entries) {
      if (!e.digest || !matches(filters, e.type, e.name, e.path)) continue;
      const l = layersByDigest.get(e.digest);
      if (!l) throw new MkError('EMODELKIT', `digest in config and manifest do not match (${e.type} ${e.path ?? ''})`);
      selected.push(l);
    }
  } else {
    // Legacy ModelKits (kit < 0.5) carry no digests in the config: take layers by media type.
    for (const l of layersByDigest.values()) if (filters.length === 0) selected.push(l);
  }
  parts.push({ target, layers: selected, diffIds, base });
  return parts;
}

/**
 * Gets a ModelKit without Git, as `kit unpack` does: only the selected layers are
 * downloaded, each verified into the local cache first, then extracted (paths checked), with
 * the ModelKits its config references. All or nothing: a refusal anywhere leaves the
 * directory as it was.
 */
export async function modelkitUnpack(
  ref: string,
  opts: UnpackOptions = {},
): Promise<{ digest: string; layers: number; files: number; dir: string; referenced: number; warnings: string[]; withheld: Withheld[] }> {
  const r = await resolveModelKit(ref, opts);
  const info = await inspectResolved(ref, r);
  const filters: Filter[] = (opts.filters ?? []).map(parseFilter);
  const dir = resolvePath(opts.cwd ?? process.cwd(), opts.dir ?? '.');
  const t = { dir, overwrite: !!opts.overwrite, ignoreExisting: !!opts.ignoreExisting };
  const warnings: string[] = [];
  const withheld: Withheld[] = [];
  const parts = await planUnpack(info, r.target, filters, opts, [ref], '', warnings, r.envHost, withheld);
  // Signatures (config verify_signatures; --signature): checked and fetched before anything is written.
  const signing = await import('./signature-gate.js');
  const signature = await signing.beforeUnpack(r, { ...opts, filtered: filters.length > 0, referenced: parts.length > 1 });
  const cache = localStore(opts.cwd);
  const unpacker = new Unpacker(cache, t);
  for (const p of parts) await copyGraph(p.target, cache, p.layers);
  let files = 0;
  try {
    if (info.kitfile && (filters.length === 0 || filters.some((f) => f.types.includes('kitfile')))) await unpacker.kitfile(info.config);
    for (const p of parts) for (const l of p.layers) files += await unpacker.layer(l, p.diffIds.get(l.digest), p.base);
    await unpacker.commit();
  } catch (e) {
    await unpacker.abort();
    throw e;
  }
  if (signature) signing.writeSignature(signature, resolvePath(opts.cwd ?? process.cwd(), opts.signature!));
  return { digest: info.digest, layers: parts.reduce((n, p) => n + p.layers.length, 0), files, dir, referenced: parts.length - 1, warnings, withheld };
}

export interface VerifyResult {
  reference: string;
  commit: string;
  expected: string;
  actual?: string;
  blobs: Array<{ digest: string; ok: boolean; problem?: string }>;
  /**
   * The ModelKits of the commit's routed artifacts (remotes by path), each in its own
   * repository: rebuilt and compared where this clone has the data, else checked against the
   * pointer; read back blob by blob. Those this user may not read are withheld (not a failure).
   */
  routed: RoutedVerify[];
  withheld: Withheld[];
  ok: boolean;
}

export interface RoutedVerify {
  path: string;
  reference: string;
  /** The digest rebuilt from the data (when this clone has it). */
  expected?: string;
  actual?: string;
  blobs: number;
  ok: boolean;
  problem?: string;
}

/**
 * Rebuilds a commit's ModelKit and compares it, digest by digest, with what a remote holds
 * under the commit's tag; then reads every blob back from the remote and checks its digest.
 */
export async function verify(ref: string, opts: { cwd?: string; remote?: string } = {}): Promise<VerifyResult> {
  const ctx = RepoContext.open(opts.cwd);
  let commit: string | undefined;
  let target: Fetcher;
  let remoteDesc: Descriptor | undefined;
  try {
    commit = await resolveCommit(ctx.root, ref);
  } catch {
    /* a ModelKit reference, not a revision */
  }
  if (commit) {
    const remote = await openRemote(ctx, remoteConfig(ctx, opts.remote));
    target = remote;
    remoteDesc = await remote.resolve(commit).catch(() => undefined);
  } else {
    const r = await resolveModelKit(ref, opts);
    target = r.target;
    remoteDesc = r.desc;
    const m = parseImageManifest(await readManifest(r.target, r.desc), `the manifest of ${ref}`);
    commit = m.annotations['org.opencontainers.image.revision'];
    if (!commit || !/^[0-9a-f]{40}$/.test(commit)) throw new MkError('EVERIFY', `${ref} names no commit (no org.opencontainers.image.revision annotation)`);
    commit = await resolveCommit(ctx.root, commit).catch(() => {
      throw new MkError('EVERIFY', `${ref} was built from commit ${commit}, which this repository does not have`, { hint: "run 'git fetch' first" });
    });
  }
  const built = await buildModelKit(ctx, commit!);
  const blobs: VerifyResult['blobs'] = [];
  if (remoteDesc) {
    // The manifest itself: the tag may name the right digest while the stored bytes are not.
    try {
      const got = sha256(await readManifest(target, remoteDesc));
      blobs.push(got === remoteDesc.digest ? { digest: remoteDesc.digest, ok: true } : { digest: remoteDesc.digest, ok: false, problem: `manifest content does not match its digest (got ${got})` });
    } catch (e) {
      blobs.push({ digest: remoteDesc.digest, ok: false, problem: (e as Error).message });
    }
    for (const d of [built.config, ...built.layers]) {
      try {
        for await (const _ of verifying(await target.fetch(d), d, `blob ${d.digest}`)) void _;
        blobs.push({ digest: d.digest, ok: true });
      } catch (e) {
        blobs.push({ digest: d.digest, ok: false, problem: (e as Error).message });
      }
    }
  }
  const { routed, withheld } = await verifyRouted(ctx, commit!);
  const ok = !!remoteDesc && remoteDesc.digest === built.manifest.digest && blobs.every((b) => b.ok) && routed.every((r) => r.ok);
  return { reference: ref, commit: commit!, expected: built.manifest.digest, actual: remoteDesc?.digest, blobs, routed, withheld, ok };
}

/** Verifies the ModelKits of a commit's routed artifacts in their own repositories (see VerifyResult.routed). */
async function verifyRouted(ctx: RepoContext, commit: string): Promise<{ routed: RoutedVerify[]; withheld: Withheld[] }> {
  const routed: RoutedVerify[] = [];
  const withheld: Withheld[] = [];
  const { routeOf } = await import('../repo/routes.js');
  const { routedTag } = await import('../modelkit/tags.js');
  const { buildRoutedModelKit, ROUTED_DIGEST_ANNOTATION } = await import('../modelkit/routed.js');
  for (const t of await pointersAtCommit(ctx.commonDir, commit)) {
    const rc = routeOf(ctx.config, t);
    if (!rc) continue;
    const tag = routedTag(t.path, t.pointer.digest);
    const reference = `${repositoryOf(rc, ctx.root)}:${tag}`;
    const target = await openRemote(ctx, rc);
    let desc: Descriptor | undefined;
    try {
      desc = await target.resolve(tag);
    } catch (e) {
      const why = deniedReason(e);
      if (why) {
        withheld.push(withheldOf(rc, ctx.root, t.path, why));
        continue;
      }
      if (!isMkError(e, 'ENOTFOUND')) throw e;
      routed.push({ path: t.path, reference, blobs: 0, ok: false, problem: 'not published' });
      continue;
    }
    const built = await buildRoutedModelKit(ctx, t, commit).catch((e: unknown) => {
      if (isMkError(e, 'ENOTCACHED')) return undefined; // not this clone's data: checked against the pointer below
      throw e;
    });
    const problems: string[] = [];
    let checked = 0;
    try {
      const bytes = await readManifest(target, desc);
      if (sha256(bytes) !== desc.digest) problems.push('the manifest does not match its digest');
      const m = parseImageManifest(bytes, `the manifest of ${reference}`);
      if (built && built.manifest.digest !== desc.digest) problems.push(`rebuilt ${built.manifest.digest}, the remote holds ${desc.digest}`);
      if (m.annotations?.[ROUTED_DIGEST_ANNOTATION] !== t.pointer.digest) problems.push(`it names ${m.annotations?.[ROUTED_DIGEST_ANNOTATION] ?? 'no data'}, the pointer ${t.pointer.digest}`);
      for (const d of [m.config, ...m.layers] as Descriptor[]) {
        for await (const _ of verifying(await target.fetch(d), d, `blob ${d.digest}`)) void _;
        checked++;
      }
    } catch (e) {
      problems.push((e as Error).message);
    }
    routed.push({
      path: t.path,
      reference,
      ...(built ? { expected: built.manifest.digest } : {}),
      actual: desc.digest,
      blobs: checked,
      ok: problems.length === 0,
      ...(problems.length ? { problem: problems.join('; ') } : {}),
    });
  }
  return { routed, withheld };
}

/**
 * Where `mk modelkit copy` writes: `<remote>:<tag>`, `oci:<path>[:tag]` (a layout, created
 * when the folder is new or empty) or `[oci://]host[:port]/repository[:tag]`.
 */
async function openDestination(ref: string, cwd?: string): Promise<{ store: Target; tag?: string }> {
  const ctx = tryRepo(cwd);
  if (ref.startsWith('oci:') && !ref.startsWith('oci://')) {
    const m = /^oci:(.*?)(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?$/.exec(ref)!;
    return { store: openLayout(resolvePath(cwd ?? process.cwd(), m[1]!), ref, false), tag: m[2] };
  }
  const colon = ref.indexOf(':');
  if (ctx && colon > 0 && !ref.includes('/')) {
    const rc = ctx.config.remotes.find((r) => r.name === ref.slice(0, colon));
    if (rc) return { store: await openRemote(ctx, rc, { create: true }), tag: ref.slice(colon + 1) || undefined };
  }
  const { parseRegistryReference } = await import('../stores/registry/index.js');
  const r = parseRegistryReference(ref.replace(/^oci:\/\//, ''));
  if ((r as { digest?: string }).digest) throw new MkError('EREF', `${ref}: a destination is named by a tag, not a digest`, { hint: 'write it as host/repository:tag' });
  return { store: await openRegistryStore({ ...registrySettings(ctx && remoteOnHost(ctx, r.host), r.host, r.repository), envCredentialsHost: r.host }), tag: (r as { tag?: string }).tag };
}

export interface CopyModelKitResult {
  digest: string;
  destination: string;
  tag: string;
  copied: number;
  /** Blobs the destination registry mounted from the source repository (no bytes sent). */
  mounted: number;
  bytes: number;
  /** Referrers (the directory manifests, signatures...) copied along. */
  referrers: number;
  /** For a commit of this repository: the remote whose signatures (and other referrers) of that ModelKit were copied too. */
  referrersFrom?: string;
}

/**
 * The referrers (signatures, provenance...) that the remotes of this repository hold for a
 * commit's ModelKit, copied to `dst`: a copy made from the commit keeps what its publication
 * carries. The default remote first; the first remote that has the ModelKit is used. A remote
 * that cannot be read is passed over (the copy stands without its signatures, and says so).
 */
async function copyPublishedReferrers(ctx: RepoContext, subject: Descriptor, dst: Target, opts: GraphCopyOptions): Promise<{ n: number; from?: string }> {
  const names = ctx.config.remotes.map((r) => r.name);
  const first = names.length ? remoteConfig(ctx).name : undefined;
  for (const name of [...(first ? [first] : []), ...names.filter((n) => n !== first)]) {
    try {
      const remote = await openRemote(ctx, remoteConfig(ctx, name));
      if (!(await remote.exists(subject))) continue;
      return { n: await copyReferrers(remote, dst, subject, opts), from: name };
    } catch {
      /* unreachable or unreadable: the next remote, else none */
    }
  }
  return { n: 0 };
}

/**
 * Copies a ModelKit with its referrers (mk's directory manifests among them, so the copy
 * serves `mk pull` as the original did) from any store to any other: a revision of this
 * repository, a remote, a layout, a registry; children before parents through the one graph
 * copy, the destination's other referrers kept. A mirror, as `oras copy -r` makes one.
 */
export async function modelkitCopy(srcRef: string, dstRef: string, opts: { cwd?: string; concurrency?: number; onProgress?: GraphCopyOptions['onProgress'] } = {}): Promise<CopyModelKitResult> {
  const src = await resolveModelKit(srcRef, opts);
  const dst = await openDestination(dstRef, opts.cwd);
  // Two repositories of one registry: the blobs are mounted (cross-repository mount), not sent again.
  // (Told apart by shape: the registry module is loaded only when a registry is used.)
  const registry = (s: unknown): s is { host: string; repository: string; mountBlobsFrom(r: string): void } => typeof (s as { mountBlobsFrom?: unknown } | undefined)?.mountBlobsFrom === 'function';
  if (registry(src.store) && registry(dst.store) && src.store.host === dst.store.host) dst.store.mountBlobsFrom(src.store.repository);
  const tag = dst.tag ?? src.tag ?? src.commit;
  if (!tag) throw new MkError('EREF', `name a tag for the copy (${dstRef}:<tag>)`);
  const copts: GraphCopyOptions = { concurrency: opts.concurrency, onProgress: opts.onProgress };
  if (src.commit && src.built) {
    const ctx = RepoContext.open(opts.cwd);
    const p = await publishModelKit(ctx.cache, dst.store, src.built, [tag], copts);
    const dirs = await dirManifestBlobs(ctx.cache, await pointersAtCommit(ctx.commonDir, src.commit));
    const attached = await attachDirManifests(ctx.cache, dst.store, src.built.manifest, dirs, src.commit, copts);
    const published = await copyPublishedReferrers(ctx, src.built.manifest, dst.store, copts);
    return {
      digest: src.desc.digest,
      destination: dst.store.location,
      tag,
      copied: p.uploaded,
      mounted: p.mounted,
      bytes: p.bytes,
      referrers: (attached ? 1 : 0) + published.n,
      ...(published.from ? { referrersFrom: published.from } : {}),
    };
  }
  const r = await copyGraph(src.target, dst.store, [src.desc], { ...copts, tags: [{ desc: src.desc, name: tag }] });
  const n = src.store ? await copyReferrers(src.store, dst.store, src.desc, copts) : 0;
  return { digest: src.desc.digest, destination: dst.store.location, tag, copied: r.copied.length, mounted: r.mounted.length, bytes: r.bytes, referrers: n };
}
