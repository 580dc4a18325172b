import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import type { Target } from '../content/storage.js';
import { MkError, WrongSizeError } from '../errors/index.js';
import { pointersAtCommit, workspacePointers, type TrackedPointer } from '../git/pointers.js';
import { headCommit, resolveCommit } from '../git/run.js';
import { openRemote, remoteConfig } from '../remote/remotes.js';
import { RepoContext } from '../repo/context.js';
import { repoRelative } from '../repo/paths.js';
import { artifactBlobs, ensureDirManifest, listBlobs } from '../transfer/graph.js';
import { loadDirManifest } from '../artifact/load.js';
import { pointerSizeError } from '../artifact/pointer-size.js';
import { KnownBlobs } from '../transfer/known.js';
import { copyBlobs, type CopyProgress } from '../transfer/copy.js';

export type { CopyProgress };
import { checkout, type CheckoutResult } from './checkout.js';
import { buildModelKit } from '../modelkit/builder.js';
import { publishModelKit } from '../modelkit/publish.js';
import { tagsFor } from './modelkit.js';

export interface TransferOptions {
  cwd?: string;
  remote?: string;
  /** Revisions whose data to move (default: HEAD and the work tree's pointers). */
  revs?: string[];
  paths?: string[];
  concurrency?: number;
  onProgress?: (p: CopyProgress) => void;
  signal?: AbortSignal;
  /** Publish the ModelKit of each pushed revision (default: config modelkits.publish, true). */
  modelkits?: boolean;
  /** Revisions whose ModelKits to publish (default: `revs`, or HEAD). */
  modelkitRevs?: string[];
  /** More tag names for the published ModelKits (e.g. the pushed branch). */
  extraTags?: string[];
  /** Ask the remote for every blob, ignoring what this repository knows it holds (push). */
  checkRemote?: boolean;
}

export interface TransferResult {
  remote: string;
  artifacts: number;
  blobs: number;
  copied: number;
  skipped: number;
  bytes: number;
}

/** The artifacts named by the revisions (and the work tree when no revision is given). */
export async function collectArtifacts(ctx: RepoContext, revs: string[] | undefined, paths: string[] | undefined, cwd: string): Promise<TrackedPointer[]> {
  const filters = paths?.length ? paths.map((p) => repoRelative(ctx.root, p, cwd)) : undefined;
  const out = new Map<string, TrackedPointer>();
  const addAll = (ts: TrackedPointer[]) => ts.forEach((t) => out.set(`${t.path}\0${t.pointer.digest}`, t));
  if (revs?.length) {
    for (const r of revs) addAll(await pointersAtCommit(ctx.commonDir, await resolveCommit(ctx.root, r), filters));
  } else {
    const head = await headCommit(ctx.root);
    if (head) addAll(await pointersAtCommit(ctx.commonDir, head, filters));
    addAll(await workspacePointers(ctx.root, filters));
  }
  return [...out.values()];
}

function concurrencyOf(ctx: RepoContext, name: string | undefined, given?: number): number {
  if (given) return given;
  const env = Number(process.env.MK_CONCURRENCY);
  if (Number.isInteger(env) && env > 0) return env;
  return ctx.config.remotes.find((r) => r.name === name)?.concurrency ?? 6;
}

/**
 * Uploads what the remote lacks of the artifacts' data: every data blob first, then the
 * directory manifests that list them. Data missing from the local cache stops the push
 * before anything is uploaded.
 */
export async function push(opts: TransferOptions = {}): Promise<TransferResult & { target: Target; modelkits: PublishedModelKit[] }> {
  const ctx = RepoContext.open(opts.cwd);
  const rc = remoteConfig(ctx, opts.remote);
  const tracked = await collectArtifacts(ctx, opts.revs, opts.paths, opts.cwd ?? process.cwd());
  const target = await openRemote(ctx, rc);
  const concurrency = concurrencyOf(ctx, rc.name, opts.concurrency);
  // Which blobs the remote lacks; each of those must be in the local cache, or nothing is sent.
  const data: Descriptor[] = [];
  const manifests: Descriptor[] = [];
  const missing: string[] = [];
  // What this repository knows the remote holds (see KnownBlobs): checked first where it is
  // most fragile, the directory roots, which nothing else on a registry references.
  const known = new KnownBlobs(ctx.mkDir, target.location);
  if (opts.checkRemote) known.clear();
  for (const t of tracked) {
    const rootSize = t.pointer.type === 'dir' ? ctx.cache.statBlobSync(t.pointer.digest) : undefined;
    if (rootSize !== undefined && known.has({ digest: t.pointer.digest, size: rootSize }) && (await statRemote(target, t.pointer.digest)) === undefined) {
      known.clear();
      break;
    }
  }
  for (const t of tracked) {
    let blobs: Descriptor[];
    try {
      blobs = await artifactBlobs(ctx.cache, t);
    } catch (e) {
      if (e instanceof WrongSizeError) throw e;
      // The file list itself is not cached: fine if the remote already has it all.
      if (hasRemoteManifest(target) && (await statRemote(target, t.pointer.digest)) !== undefined) continue;
      missing.push(t.path);
      continue;
    }
    for (const d of blobs) {
      if (!ctx.cache.existsSync(d) && !known.has(d) && !(await target.exists(d))) {
        // The remote may hold the digest at its true size: then the pointer is what is wrong.
        const there = t.pointer.type === 'file' && hasRemoteManifest(target) ? await statRemote(target, d.digest) : undefined;
        if (there !== undefined && there !== d.size) throw pointerSizeError(t, there);
        missing.push(t.path);
        break;
      }
      (d.mediaType === MediaType.mkDirectory ? manifests : data).push(d);
    }
  }
  if (missing.length) {
    const uniq = [...new Set(missing)];
    throw new MkError('ENOTCACHED', `cannot push: the data of ${uniq.slice(0, 3).join(', ')}${uniq.length > 3 ? ` and ${uniq.length - 3} more` : ''} is neither in the local cache nor on '${rc.name}'`, {
      hint: "fetch it first ('mk fetch'), or push from the clone that created it",
    });
  }
  const a = await copyBlobs(ctx.cache, target, data, { concurrency, onProgress: opts.onProgress, signal: opts.signal, known });
  const b = await copyBlobs(ctx.cache, target, manifests, { concurrency, signal: opts.signal, known });
  const modelkits: PublishedModelKit[] = [];
  if (opts.modelkits ?? ctx.config.publishModelKits) {
    const revs = opts.modelkitRevs ?? (opts.revs?.length ? opts.revs : (await headCommit(ctx.root)) ? ['HEAD'] : []);
    for (const rev of revs) {
      const commit = await resolveCommit(ctx.root, rev);
      const built = await buildModelKit(ctx, commit);
      const named = rev !== 'HEAD' && !/^[0-9a-f]{7,40}$/.test(rev) ? [rev] : [];
      const tags = await tagsFor(ctx.root, commit, [...named, ...(opts.extraTags ?? [])]);
      const p = await publishModelKit(ctx.cache, target, built, tags, { concurrency, signal: opts.signal, known });
      if (typeof (target as { pushManifest?: unknown }).pushManifest === 'function') {
        // A registry: keep this commit's directory manifests reachable from its ModelKit (GC).
        const { attachDirManifests } = await import('../modelkit/referrers.js');
        await attachDirManifests(target as import('../stores/registry/registry-store.js').RegistryStore, built.manifest, await dirManifestBlobs(ctx, commit), commit, opts.signal);
      }
      modelkits.push({ commit, digest: built.manifest.digest, tags, uploaded: p.uploaded, bytes: p.bytes });
    }
  }
  return {
    target,
    remote: rc.name,
    artifacts: tracked.length,
    blobs: a.copied.length + a.skipped.length + b.copied.length + b.skipped.length,
    copied: a.copied.length + b.copied.length,
    skipped: a.skipped.length + b.skipped.length,
    bytes: a.bytes + b.bytes + modelkits.reduce((s, m) => s + m.bytes, 0),
    modelkits,
  };
}

/** The directory manifests (roots and file lists) of a commit's tracked folders. */
async function dirManifestBlobs(ctx: RepoContext, commit: string): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  for (const t of await pointersAtCommit(ctx.commonDir, commit)) {
    if (t.pointer.type !== 'dir') continue;
    const m = await loadDirManifest(ctx.cache, t.pointer);
    out.push(...listBlobs(m), { mediaType: MediaType.mkDirectory, digest: t.pointer.digest, size: (await ctx.cache.statBlob(t.pointer.digest))! });
  }
  return out;
}

function hasRemoteManifest(t: Target): boolean {
  return typeof (t as { statBlob?: unknown }).statBlob === 'function';
}

async function statRemote(t: Target, digest: string): Promise<number | undefined> {
  return (t as unknown as { statBlob: (d: string) => Promise<number | undefined> }).statBlob(digest);
}

export interface PublishedModelKit {
  commit: string;
  digest: string;
  tags: string[];
  uploaded: number;
  bytes: number;
}

/** Downloads into the cache what it lacks of the artifacts' data. Every byte is verified. */
export async function fetchData(opts: TransferOptions = {}): Promise<TransferResult> {
  const ctx = RepoContext.open(opts.cwd);
  const rc = remoteConfig(ctx, opts.remote);
  const tracked = await collectArtifacts(ctx, opts.revs, opts.paths, opts.cwd ?? process.cwd());
  const target = await openRemote(ctx, rc);
  const lock = await ctx.lock();
  try {
    const want: Descriptor[] = [];
    for (const t of tracked) {
      if (t.pointer.type === 'file') {
        want.push({ mediaType: MediaType.octet, digest: t.pointer.digest, size: t.pointer.size });
        continue;
      }
      const m = await ensureDirManifest(ctx.cache, target, t, { concurrency: concurrencyOf(ctx, rc.name, opts.concurrency), signal: opts.signal });
      for (const l of m.layers) want.push({ mediaType: MediaType.octet, digest: l.digest, size: l.size });
    }
    const r = await copyBlobs(target, ctx.cache, want, { concurrency: concurrencyOf(ctx, rc.name, opts.concurrency), onProgress: opts.onProgress, signal: opts.signal });
    new KnownBlobs(ctx.mkDir, target.location).add(r.copied); // read from there: it holds them
    return { remote: rc.name, artifacts: tracked.length, blobs: want.length, copied: r.copied.length, skipped: r.skipped.length, bytes: r.bytes };
  } finally {
    lock.release();
  }
}

/** fetch, then checkout. */
export async function pull(opts: TransferOptions & { rev?: string; force?: boolean } = {}): Promise<{ fetch: TransferResult; checkout: CheckoutResult }> {
  const f = await fetchData({ ...opts, revs: opts.rev ? [opts.rev] : undefined });
  const c = await checkout({ cwd: opts.cwd, rev: opts.rev, paths: opts.paths, force: opts.force });
  return { fetch: f, checkout: c };
}

export interface RemoteStatus {
  path: string;
  blobs: number;
  missingLocal: number;
  missingRemote: number;
}

/** Which artifacts' blobs are missing locally or on the remote. */
export async function remoteStatus(opts: TransferOptions = {}): Promise<{ remote: string; artifacts: RemoteStatus[] }> {
  const ctx = RepoContext.open(opts.cwd);
  const rc = remoteConfig(ctx, opts.remote);
  const target = await openRemote(ctx, rc);
  const tracked = await collectArtifacts(ctx, opts.revs, opts.paths, opts.cwd ?? process.cwd());
  const out: RemoteStatus[] = [];
  for (const t of tracked) {
    let blobs: Descriptor[];
    try {
      blobs = await artifactBlobs(ctx.cache, t);
    } catch {
      const size = await (target as unknown as { statBlob?: (d: string) => Promise<number | undefined> }).statBlob?.(t.pointer.digest);
      out.push({ path: t.path, blobs: 0, missingLocal: 1, missingRemote: size === undefined ? 1 : 0 });
      continue;
    }
    let missingLocal = 0;
    let missingRemote = 0;
    for (const b of blobs) {
      if (!ctx.cache.existsSync(b)) missingLocal++;
      if (!(await target.exists(b))) missingRemote++;
    }
    out.push({ path: t.path, blobs: blobs.length, missingLocal, missingRemote });
  }
  return { remote: rc.name, artifacts: out };
}
