import pLimit from 'p-limit';
import type { Descriptor } from '../content/descriptor.js';
import { hasBlobStat, type Target } from '../content/storage.js';
import { MkError } from '../errors/index.js';
import { pointersAtCommit, underPrefix, workspacePointers, type TrackedPointer } from '../git/pointers.js';
import { git, hasCommit, headCommit, isAncestor, resolveCommit, resolveCommits } from '../git/run.js';
import { openRemote, remoteConfig } from '../remote/remotes.js';
import { RepoContext } from '../repo/context.js';
import { repoRelative } from '../repo/paths.js';
import { artifactBlobs, artifactRoot, dirManifestBlobs, requireRoot } from '../worktree/roots.js';
import { copyGraph, GraphIncompleteError } from '../transfer/graph-copy.js';
import { attachDirManifests } from '../modelkit/referrers.js';
import { ModelKitSource, rebuildDirRoot } from '../modelkit/rebuild-manifest.js';
import { checkPointerSize } from '../worktree/pointer-size.js';
import { pointerSizeError } from '../worktree/pointer-size.js';
import { KnownBlobs } from '../transfer/known.js';
import type { CopyProgress } from '../transfer/copy.js';

export type { CopyProgress };
import { checkout, type CheckoutResult } from './checkout.js';
import { pullPart, type PartialPullResult } from './partial-pull.js';
import { buildModelKit, sourceUrl } from '../modelkit/builder.js';
import { publishModelKit, taggedCommit } from '../modelkit/publish.js';
import { ociTag } from '../modelkit/tags.js';
import { fetchRunCache, pushRunCache, type RunCacheTransfer } from '../pipeline/run-cache-remote.js';
import { pipelineFiles } from '../pipeline/pipeline.js';
import { announce, type Announcement } from '../notify/announce.js';
export { announcementLines, type Announcement } from '../notify/announce.js';
import { mkVersion } from '../util/version.js';
import { groupByRemote, type RemoteGroup } from '../remote/routing.js';
import { deniedReason, recordWithheld, repositoryOf, withheldOf, type Withheld } from '../remote/access.js';
import { routeOf } from '../repo/routes.js';
import type { RemoteConfig } from '../repo/config.js';
import { isMkError } from '../errors/index.js';
export type { Withheld };

export type { RunCacheTransfer };

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
  /**
   * Registry tags that name Git refs, each for one published revision: the remote branch (or
   * Git tag) a `git push` updates. Default: the upstream branch's name on its Git remote, for a
   * published revision that is exactly what that remote-tracking branch points to (never a
   * local branch name). A tag is moved only to a descendant of the commit it names, unless
   * `force` (see `refTagHeld`).
   */
  refTags?: Array<{ rev: string; name: string }>;
  /** Move ref tags even to a commit that does not descend from the one they name. */
  force?: boolean;
  /** Ask the remote for every blob, ignoring what this repository knows it holds (push). */
  checkRemote?: boolean;
  /** Push (or fetch) the pipeline's run cache entries too (default true). */
  runCache?: boolean;
  /** For the `notify:` announcement of a ref push: the Git ref pushed and the commit it named before (compared with). */
  announce?: { ref?: string; base?: string };
}

export interface TransferResult {
  remote: string;
  artifacts: number;
  blobs: number;
  copied: number;
  skipped: number;
  /** Blobs a registry mounted from another repository of its own (no bytes sent; push only). */
  mounted?: number;
  bytes: number;
  /** Data routed to a remote this user may not read (remotes by path): not fetched, everything else was. */
  withheld?: Withheld[];
  /** The pipeline's run cache entries moved with the data (absent when this clone has none to move). */
  runCache?: RunCacheTransfer;
}

/** The artifacts named by the revisions (and the work tree when no revision is given). */
export async function collectArtifacts(ctx: RepoContext, revs: string[] | undefined, paths: string[] | undefined, cwd: string): Promise<TrackedPointer[]> {
  const filters = paths?.length ? paths.map((p) => repoRelative(ctx.root, p, cwd)) : undefined;
  const out = new Map<string, TrackedPointer>();
  const addAll = (ts: TrackedPointer[]) => ts.forEach((t) => out.set(`${t.path}\0${t.pointer.digest}`, t));
  if (revs?.length) {
    for (const c of await resolveCommits(ctx.root, revs)) addAll(await pointersAtCommit(ctx.commonDir, c, filters));
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
 * Uploads what the remote lacks of the artifacts' data, then publishes the ModelKits, all
 * through the one graph copy (packs and file lists before the directory roots that name
 * them; config and layers before a manifest; a manifest before its tags and referrer). Data
 * missing from the local cache (and from the remote) stops the push before anything is sent.
 */
export async function push(
  opts: TransferOptions = {},
): Promise<
  TransferResult & { target: Target; modelkits: PublishedModelKit[]; routed: PublishedRoutedModelKit[]; held: HeldTag[]; announced: Announcement[]; withheld: Withheld[]; warnings: string[] }
> {
  const ctx = RepoContext.open(opts.cwd);
  const rc = remoteConfig(ctx, opts.remote);
  const tracked = await collectArtifacts(ctx, opts.revs, opts.paths, opts.cwd ?? process.cwd());
  const target = await openRemote(ctx, rc, { create: true }); // a push creates a layout remote; reads need it there
  const concurrency = concurrencyOf(ctx, rc.name, opts.concurrency);
  // Remotes by path: each artifact's data goes to its own remote only.
  const groups = groupByRemote(ctx, tracked, rc);
  const targets = new Map<string, Target>([[rc.name, target]]);
  const targetOf = async (r: RemoteConfig) => targets.get(r.name) ?? targets.set(r.name, await openRemote(ctx, r, { create: true })).get(r.name)!;
  const withheld: Withheld[] = [];
  const r = { copied: 0, skipped: 0, mounted: 0, bytes: 0 };
  for (const g of groups) {
    const x = await uploadGroup(ctx, g, await targetOf(g.rc), { ...opts, concurrency }, withheld);
    r.copied += x.copied.length;
    r.skipped += x.skipped.length;
    r.mounted += x.mounted.length;
    r.bytes += x.bytes;
  }
  recordWithheld(ctx.stateDir, withheld);
  const modelkits: PublishedModelKit[] = [];
  const routed: PublishedRoutedModelKit[] = [];
  const warnings: string[] = [];
  const held: HeldTag[] = [];
  // `-r` naming a remote by path publishes only the ModelKits of its artifacts.
  const mainKits = !rc.paths?.length;
  if (opts.modelkits ?? ctx.config.publishModelKits) {
    const revs = opts.modelkitRevs ?? (opts.revs?.length ? opts.revs : (await headCommit(ctx.root)) ? ['HEAD'] : []);
    const commits = [...new Set(await resolveCommits(ctx.root, revs))];
    // Ref tags: checked against what they name now, then set with the commit's ModelKit.
    const names = new Map<string, string[]>();
    for (const { rev, name } of mainKits ? (opts.refTags ?? (await upstreamTags(ctx.root, opts.revs?.length ? opts.revs : ['HEAD']))) : []) {
      const tag = ociTag(name);
      const commit = await resolveCommit(ctx.root, rev);
      if (!tag || tag === commit) continue;
      if (!commits.includes(commit)) commits.push(commit);
      const h = opts.force ? undefined : await refTagHeld(ctx.root, target, tag, commit);
      if (h) held.push({ ...h, remote: rc.name });
      else names.set(commit, [...(names.get(commit) ?? []), tag]);
    }
    const source = ctx.config.source ?? (await sourceUrl(ctx.root)) ?? null;
    const known = new KnownBlobs(ctx.mkDir, target.location);
    const routedDone = new Map<string, Promise<PublishedRoutedModelKit | undefined>>();
    const publishRoutedOf = async (commit: string): Promise<void> => {
      for (const t of await pointersAtCommit(ctx.commonDir, commit)) {
        const route = routeOf(ctx.config, t);
        if (!route || (!mainKits && route.name !== rc.name)) continue;
        const key = `${route.name}\0${t.path}\0${t.pointer.digest}`;
        if (!routedDone.has(key))
          routedDone.set(
            key,
            publishRouted(ctx, t, route, await targetOf(route), commit, { concurrency, signal: opts.signal }).catch((e: unknown) => {
              const why = deniedReason(e);
              if (!why) throw e;
              // The data is there (uploaded above, or by whoever may write there); its ModelKit needs push access.
              warnings.push(`could not publish the ModelKit of ${t.path} in ${repositoryOf(route, ctx.root)} (${why}): someone with push access publishes it with 'mk push'`);
              return undefined;
            }),
          );
        const p = await routedDone.get(key)!;
        if (p && !routed.includes(p)) routed.push(p);
      }
    };
    const publishOne = async (commit: string): Promise<PublishedModelKit | undefined> => {
      await publishRoutedOf(commit);
      if (!mainKits) return undefined;
      const built = await buildModelKit(ctx, commit, { source });
      const tags = [commit, ...(names.get(commit) ?? [])];
      const p = await publishModelKit(ctx.cache, target, built, tags, { concurrency, signal: opts.signal, known });
      // Keep this commit's directory manifests reachable from its ModelKit (a registry's garbage
      // collection, a mirror): those of its own remote only (a routed folder's go with its own ModelKit).
      const own = (await pointersAtCommit(ctx.commonDir, commit)).filter((t) => !routeOf(ctx.config, t));
      await attachDirManifests(ctx.cache, target, built.manifest, await dirManifestBlobs(ctx.cache, own), commit, {
        concurrency,
        signal: opts.signal,
        known,
      });
      // Signed with the configured key (signing.key / MK_SIGNING_KEY), when there is one.
      const signed = await (await import('./sign.js')).signOnPush(ctx, target, built, { concurrency, signal: opts.signal, known });
      return {
        commit,
        digest: built.manifest.digest,
        tags,
        uploaded: p.uploaded,
        mounted: p.mounted,
        bytes: p.bytes,
        ...(signed ? { signatures: signed.referrers.map((r) => r.kind), warnings: signed.warnings } : {}),
      };
    };
    // Many commits (a branch pushed at once): several ModelKits at a time, each a few small
    // requests; the ones that carry a ref tag last, so a ref tag never names a ModelKit
    // published before the others of the push.
    const limit = pLimit(Math.max(1, Math.min(concurrency, 8)));
    let failed = false;
    const run = (list: string[]) =>
      Promise.all(
        list.map((c) =>
          limit(async () => {
            if (failed) return undefined;
            try {
              return await publishOne(c);
            } catch (e) {
              failed = true;
              throw e;
            }
          }),
        ),
      );
    const byCommit = new Map<string, PublishedModelKit>();
    for (const group of [commits.filter((c) => !names.has(c)), commits.filter((c) => names.has(c))]) for (const m of await run(group)) if (m) byCommit.set(m.commit, m);
    for (const c of commits) if (byCommit.has(c)) modelkits.push(byCommit.get(c)!);
  }
  // The run cache travels with the data: what any clone computed, teammates and CI skip.
  const runCache = opts.runCache === false ? undefined : await pushRunCache(ctx.cache, ctx.mkDir, target, { concurrency, signal: opts.signal, known: new KnownBlobs(ctx.mkDir, target.location) });
  return {
    target,
    remote: rc.name,
    artifacts: tracked.length,
    blobs: r.copied + r.skipped,
    copied: r.copied,
    skipped: r.skipped,
    mounted: r.mounted + modelkits.reduce((s, m) => s + m.mounted, 0) + routed.reduce((s, m) => s + m.mounted, 0),
    bytes: r.bytes + modelkits.reduce((s, m) => s + m.bytes, 0) + routed.reduce((s, m) => s + m.bytes, 0),
    modelkits,
    routed,
    held,
    withheld,
    warnings,
    ...(runCache && (runCache.entries || runCache.problem) ? { runCache } : {}),
    // Each publish announced to the `notify:` targets; a target that is down is said, never a failed push.
    announced: await announce(ctx, modelkits, { remote: rc.name, location: target.location, source: ctx.config.source ?? (await sourceUrl(ctx.root)) ?? null, ...opts.announce }, mkVersion()),
  };
}

/**
 * Uploads what one remote lacks of the data of its artifacts, through the one graph copy
 * (packs and file lists before the directory roots that name them). Data missing from the
 * local cache (and from the remote) stops the push before anything is sent. On a remote by
 * path, data this user can neither find locally nor read there is withheld (someone else
 * published it; nothing of it is sent anywhere); data it cannot write there stops the push.
 */
async function uploadGroup(
  ctx: RepoContext,
  g: RemoteGroup,
  target: Target,
  opts: TransferOptions & { concurrency: number },
  withheld: Withheld[],
): Promise<{ copied: Descriptor[]; skipped: Descriptor[]; mounted: Descriptor[]; bytes: number }> {
  const none = { copied: [], skipped: [], mounted: [], bytes: 0 };
  if (!g.tracked.length) return none;
  const concurrency = opts.concurrency;
  // What this repository knows the remote holds (see KnownBlobs): checked first where it is
  // most fragile, the directory roots, which nothing else on a registry references.
  const known = new KnownBlobs(ctx.mkDir, target.location);
  if (opts.checkRemote) known.clear();
  const denied = (e: unknown) => (g.routed ? deniedReason(e) : undefined);
  for (const t of g.tracked) {
    const rootSize = t.pointer.type === 'dir' ? ctx.cache.statBlobSync(t.pointer.digest) : undefined;
    if (rootSize === undefined || !known.has({ digest: t.pointer.digest, size: rootSize })) continue;
    let there: number | undefined;
    try {
      there = await statRemote(target, t.pointer.digest);
    } catch (e) {
      if (denied(e)) break; // cannot tell: the upload below asks again
      throw e;
    }
    if (there === undefined) {
      known.clear();
      break;
    }
  }
  const roots = new Map<string, { root: Descriptor; t: TrackedPointer }>();
  const missing: string[] = [];
  for (const t of g.tracked) {
    await checkPointerSize(ctx.cache, t);
    let root: Descriptor | undefined;
    try {
      root = await artifactRoot(ctx.cache, t, target);
    } catch (e) {
      const why = denied(e);
      if (!why) throw e;
      withheld.push(withheldOf(g.rc, ctx.root, t.path, why));
      continue;
    }
    // A file whose bytes this clone lacks, on a remote it may not read: not its data to publish.
    if (g.routed && t.pointer.type === 'file' && !ctx.cache.existsSync(root!)) {
      try {
        await target.exists(root!);
      } catch (e) {
        const why = denied(e);
        if (!why) throw e;
        withheld.push(withheldOf(g.rc, ctx.root, t.path, why));
        continue;
      }
    }
    if (!root) missing.push(t.path);
    else roots.set(root.digest, { root, t });
  }
  const refuse = (paths: string[]) =>
    new MkError(
      'ENOTCACHED',
      `cannot push: the data of ${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ` and ${paths.length - 3} more` : ''} is neither in the local cache nor on '${g.rc.name}'`,
      {
        hint: "fetch it first ('mk fetch'), or push from the clone that created it",
      },
    );
  if (missing.length) throw refuse([...new Set(missing)]);
  if (!roots.size) return none;
  try {
    const r = await copyGraph(
      ctx.cache,
      target,
      [...roots.values()].map((x) => x.root),
      { concurrency, onProgress: opts.onProgress, signal: opts.signal, known },
    );
    return { copied: r.copied, skipped: r.skipped, mounted: r.mounted, bytes: r.bytes };
  } catch (e) {
    const why = denied(e);
    if (why) {
      const paths = [...roots.values()].map((x) => x.t.path);
      throw new MkError('EAUTH', `cannot push the data of ${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ` and ${paths.length - 3} more` : ''} to ${repositoryOf(g.rc, ctx.root)} (${why})`, {
        hint: `pushing it needs push access to that repository (remote '${g.rc.name}'); ask for it, or let someone who has it push`,
        cause: e,
        data: (e as MkError).data,
      });
    }
    if (!(e instanceof GraphIncompleteError)) throw e;
    for (const m of e.missing) {
      // The remote may hold the digest at its true size: then the pointer is what is wrong.
      const x = roots.get(m.digest);
      const there = x?.t.pointer.type === 'file' && hasBlobStat(target) ? await target.statBlob(m.digest) : undefined;
      if (x && there !== undefined && there !== m.size) throw pointerSizeError(x.t, there);
    }
    throw refuse([...new Set(e.roots.map((d) => roots.get(d.digest)!.t.path))]);
  }
}

/** A routed artifact's own ModelKit, published in its remote's repository (remotes by path). */
export interface PublishedRoutedModelKit {
  path: string;
  remote: string;
  digest: string;
  tag: string;
  uploaded: number;
  mounted: number;
  bytes: number;
  /** It was there already (published by an earlier push, here or in another clone). */
  existed: boolean;
  signatures?: string[];
}

/**
 * Publishes the ModelKit of a routed artifact in its remote's repository (see
 * buildRoutedModelKit), with its directory manifests as a referrer and, with a signing key,
 * its signatures. Only from a clone that has its data; one that is there already is left as it is.
 */
async function publishRouted(
  ctx: RepoContext,
  t: TrackedPointer,
  route: RemoteConfig,
  target: Target,
  commit: string,
  opts: { concurrency: number; signal?: AbortSignal },
): Promise<PublishedRoutedModelKit | undefined> {
  const { buildRoutedModelKit } = await import('../modelkit/routed.js');
  let built;
  try {
    built = await buildRoutedModelKit(ctx, t, commit);
  } catch (e) {
    if (isMkError(e, 'ENOTCACHED')) return undefined; // not this clone's data: whoever has it published it
    throw e;
  }
  const at = await target.resolve(built.tag).catch((e: unknown) => {
    if (isMkError(e, 'ENOTFOUND')) return undefined;
    throw e;
  });
  const base = { path: t.path, remote: route.name, digest: built.manifest.digest, tag: built.tag };
  if (at?.digest === built.manifest.digest) return { ...base, uploaded: 0, mounted: 0, bytes: 0, existed: true };
  const known = new KnownBlobs(ctx.mkDir, target.location);
  const p = await publishModelKit(ctx.cache, target, built, [built.tag], { ...opts, known });
  await attachDirManifests(ctx.cache, target, built.manifest, await dirManifestBlobs(ctx.cache, [t]), commit, { ...opts, known });
  const signed = await (await import('./sign.js')).signOnPush(ctx, target, built, { ...opts, known });
  return { ...base, uploaded: p.uploaded, mounted: p.mounted, bytes: p.bytes, existed: false, ...(signed ? { signatures: signed.referrers.map((r) => r.kind) } : {}) };
}

/** A ref tag left where it was: it names `current`, which `commit` does not descend from (or which this clone lacks). */
export interface HeldTag {
  remote: string;
  tag: string;
  /** The commit that was to be tagged. */
  commit: string;
  /** The commit the tag names now (null: a manifest without mk's revision annotation). */
  current: string | null;
  /** Whether this clone has `current`. */
  known: boolean;
}

/** The one-line refusal for a held tag (the CLI raises it; the pre-push hook prints it as a warning). */
export function heldTagError(h: HeldTag): MkError {
  const what = !h.current
    ? 'a manifest that names no commit (not made by mk)'
    : `commit ${h.current.slice(0, 12)}, ${h.known ? `which ${h.commit.slice(0, 12)} does not descend from` : 'which this clone does not have'}`;
  return new MkError('ETAGBEHIND', `not moving tag '${h.tag}' on '${h.remote}': it names ${what}`, {
    hint: `if '${h.tag}' should name ${h.commit.slice(0, 12)}, move it with 'mk push --force' (or a forced git push); if it names newer work, bring that in ('git pull') and push again`,
    data: { ...h },
  });
}

/**
 * Whether a ref tag must stay where it is rather than name `commit`: it already names a
 * commit that `commit` does not descend from, or one this clone does not have, or something
 * that is not an mk ModelKit. Undefined when the tag is absent or may move.
 */
async function refTagHeld(root: string, target: Target, tag: string, commit: string): Promise<Omit<HeldTag, 'remote'> | undefined> {
  const current = await taggedCommit(target, tag);
  if (current === undefined || current === commit) return undefined;
  if (current === null) return { tag, commit, current, known: false };
  const known = await hasCommit(root, current);
  if (known && (await isAncestor(root, current, commit))) return undefined;
  return { tag, commit, current, known };
}

/**
 * `mk push` names no remote branch: for each revision that is a local branch (or HEAD on
 * one) with an upstream, and exactly the commit that upstream's remote-tracking branch points
 * to, the remote branch's name. A local branch name is never a tag: it is nobody else's name.
 */
async function upstreamTags(root: string, revs: string[]): Promise<Array<{ rev: string; name: string }>> {
  const out: Array<{ rev: string; name: string }> = [];
  for (const rev of revs) {
    if (rev.startsWith('-')) continue; // not a revision (resolveCommit says so)
    const full = (await git(root, ['rev-parse', '--symbolic-full-name', rev], { okCodes: [1, 128] })).trim();
    if (!full.startsWith('refs/heads/')) continue;
    const [tracking, remote, remoteRef] = (await git(root, ['for-each-ref', '--format=%(upstream)%00%(upstream:remotename)%00%(upstream:remoteref)', full])).trim().split('\0');
    // An upstream that is another local branch (remote '.') is a local name too.
    if (!tracking || !remote || remote === '.' || !remoteRef?.startsWith('refs/heads/')) continue;
    const there = (await git(root, ['rev-parse', '--verify', '--quiet', `${tracking}^{commit}`], { okCodes: [1, 128] })).trim();
    if (there && there === (await resolveCommit(root, rev))) out.push({ rev, name: remoteRef.slice('refs/heads/'.length) });
  }
  return out;
}

async function statRemote(t: Target, digest: string): Promise<number | undefined> {
  return hasBlobStat(t) ? t.statBlob(digest) : undefined;
}

export interface PublishedModelKit {
  commit: string;
  digest: string;
  tags: string[];
  uploaded: number;
  /** Blobs of the ModelKit the registry mounted from another repository (no bytes sent). */
  mounted: number;
  bytes: number;
  /** With a signing key: the signatures attached by this push (none when this key had signed it already). */
  signatures?: string[];
  /** With a signing key: what the user should fix about it (a private key others can read). */
  warnings?: string[];
}

/**
 * Downloads into the cache what it lacks of the artifacts' data, each artifact from its own
 * remote (remotes by path). Every byte is verified. Data on a remote by path that this user may
 * not read is withheld (and remembered as such): the rest is fetched.
 */
export async function fetchData(opts: TransferOptions = {}): Promise<TransferResult> {
  const ctx = RepoContext.open(opts.cwd);
  const rc = remoteConfig(ctx, opts.remote);
  const tracked = await collectArtifacts(ctx, opts.revs, opts.paths, opts.cwd ?? process.cwd());
  const target = await openRemote(ctx, rc);
  const lock = await ctx.lock();
  try {
    const concurrency = concurrencyOf(ctx, rc.name, opts.concurrency);
    const withheld: Withheld[] = [];
    const readable: string[] = [];
    const sum = { copied: 0, skipped: 0, bytes: 0 };
    for (const g of groupByRemote(ctx, tracked, rc)) {
      if (!g.tracked.length) continue;
      const from = g.rc === rc ? target : await openRemote(ctx, g.rc);
      if (!g.routed) {
        const x = await fetchGroup(ctx, from, g.tracked, { ...opts, concurrency });
        sum.copied += x.copied;
        sum.skipped += x.skipped;
        sum.bytes += x.bytes;
        continue;
      }
      // A remote by path: artifact by artifact, so that what this user may not read is named alone.
      for (const t of g.tracked) {
        try {
          const x = await fetchGroup(ctx, from, [t], { ...opts, concurrency }, false);
          sum.copied += x.copied;
          sum.skipped += x.skipped;
          sum.bytes += x.bytes;
          readable.push(t.path);
        } catch (e) {
          const why = deniedReason(e);
          if (!why) throw e;
          withheld.push(withheldOf(g.rc, ctx.root, t.path, why));
        }
      }
    }
    recordWithheld(ctx.stateDir, withheld, readable);
    const runCache = opts.runCache === false || !(await pipelineFiles(ctx.root)).length ? undefined : await fetchRunCache(target, ctx.cache, ctx.mkDir, { concurrency });
    return {
      remote: rc.name,
      artifacts: tracked.length,
      blobs: sum.copied + sum.skipped,
      copied: sum.copied,
      skipped: sum.skipped,
      bytes: sum.bytes,
      ...(withheld.length ? { withheld } : {}),
      ...(runCache && (runCache.entries || runCache.problem) ? { runCache } : {}),
    };
  } finally {
    lock.release();
  }
}

/** Downloads what the cache lacks of some artifacts' data from one remote (the caller holds the lock). */
async function fetchGroup(
  ctx: RepoContext,
  target: Target,
  tracked: TrackedPointer[],
  opts: TransferOptions & { concurrency: number },
  rebuild = true,
): Promise<{ copied: number; skipped: number; bytes: number }> {
  const roots: Descriptor[] = [];
  const concurrency = opts.concurrency;
  // A folder whose file lists the remote lacks (a mirror that copied the ModelKits without
  // mk's referrer): rebuilt from the packs of a ModelKit there, and checked against the pointer.
  let kits: ModelKitSource | undefined;
  const rebuilt = { fetched: [] as Descriptor[], made: [] as Descriptor[], bytes: 0 };
  for (const t of tracked) {
    const root = rebuild ? await artifactRoot(ctx.cache, t, target) : await requireRoot(ctx.cache, t, target);
    if (root) roots.push(root);
    else {
      kits ??= new ModelKitSource(target, opts.revs?.length ? await resolveCommits(ctx.root, opts.revs) : [await headCommit(ctx.root)].filter((c): c is string => !!c));
      const x = await rebuildDirRoot(ctx.cache, ctx.commonDir, kits, t, { concurrency, signal: opts.signal, onProgress: opts.onProgress });
      roots.push(x.root);
      rebuilt.fetched.push(...x.fetched);
      rebuilt.made.push(...x.made);
      rebuilt.bytes += x.bytes;
    }
  }
  const r = await copyGraph(target, ctx.cache, roots, { concurrency, onProgress: opts.onProgress, signal: opts.signal });
  const copied = [...rebuilt.fetched, ...r.copied];
  const here = new Set([...rebuilt.fetched, ...rebuilt.made].map((d) => d.digest));
  const skipped = r.skipped.filter((d) => !here.has(d.digest));
  new KnownBlobs(ctx.mkDir, target.location).add(copied); // read from there: it holds them
  // A rebuilt root and its file lists are in neither count: they were made here, from the layers.
  return { copied: copied.length, skipped: skipped.length, bytes: r.bytes + rebuilt.bytes };
}

/**
 * fetch, then checkout. A path inside a tracked folder restores that part of the folder alone
 * (see pullPart): only the packs that hold its files are downloaded.
 */
export async function pull(
  opts: TransferOptions & { rev?: string; force?: boolean } = {},
): Promise<{ fetch: TransferResult; checkout: CheckoutResult; partial: PartialPullResult[]; withheld: Withheld[] }> {
  await (await import('./signature-gate.js')).requireSignedRevision({ cwd: opts.cwd, remote: opts.remote, rev: opts.rev }); // config verify_signatures
  const parts = opts.paths?.length ? await partsOfFolders(opts) : undefined;
  const partial: PartialPullResult[] = [];
  const withheld: Withheld[] = [];
  if (parts?.inside.size) {
    const ctx = RepoContext.open(opts.cwd);
    const lock = await ctx.lock();
    try {
      for (const { t, subs } of parts.inside.values()) {
        try {
          partial.push(await pullPart(ctx, t, subs, opts));
        } catch (e) {
          // A part of a folder routed to a remote this user may not read: withheld, the rest goes on.
          const route = deniedReason(e) ? routeOf(ctx.config, t) : undefined;
          if (!route) throw e;
          withheld.push(withheldOf(route, ctx.root, t.path, deniedReason(e)!));
        }
      }
      recordWithheld(ctx.stateDir, withheld);
    } finally {
      lock.release();
    }
    if (!parts.rest.length) {
      const copied = partial.reduce((n, p) => n + p.copied, 0);
      const bytes = partial.reduce((n, p) => n + p.bytes, 0);
      const remote = remoteConfig(ctx, opts.remote).name;
      return { fetch: { remote, artifacts: partial.length, blobs: copied, copied, skipped: 0, bytes }, checkout: { rev: undefined, artifacts: [] }, partial, withheld };
    }
  }
  const paths = parts ? parts.rest : opts.paths;
  const f = await fetchData({ ...opts, paths, revs: opts.rev ? [opts.rev] : undefined });
  const c = await checkout({ cwd: opts.cwd, rev: opts.rev, paths, force: opts.force });
  for (const p of partial) {
    f.copied += p.copied;
    f.blobs += p.copied;
    f.bytes += p.bytes;
    f.artifacts++;
  }
  const all = new Map([...withheld, ...(f.withheld ?? []), ...(c.withheld ?? [])].map((w) => [w.path, w]));
  return { fetch: f, checkout: c, partial, withheld: [...all.values()] };
}

/**
 * Splits pull's paths into paths inside tracked folders (restored in part), grouped by folder,
 * and the rest (whole artifacts, or paths holding several). With a revision, a part is taken
 * only when the work tree's pointer is that revision's: a part of another version cannot stand
 * beside the pointer of this one.
 */
async function partsOfFolders(opts: TransferOptions & { rev?: string }): Promise<{ inside: Map<string, { t: TrackedPointer; subs: string[] }>; rest: string[] }> {
  const ctx = RepoContext.open(opts.cwd);
  const cwd = opts.cwd ?? process.cwd();
  const folders = (await workspacePointers(ctx.root)).filter((t) => t.pointer.type === 'dir' && !t.filtered);
  const inside = new Map<string, { t: TrackedPointer; subs: string[] }>();
  const rest: string[] = [];
  for (const p of opts.paths ?? []) {
    const rel = repoRelative(ctx.root, p, cwd);
    const t = folders.find((x) => rel !== x.path && underPrefix(rel, x.path));
    if (!t) {
      rest.push(p);
      continue;
    }
    if (opts.rev) {
      const at = (await pointersAtCommit(ctx.commonDir, await resolveCommit(ctx.root, opts.rev), [t.path])).find((x) => x.path === t.path);
      if (at?.pointer.digest !== t.pointer.digest)
        throw new MkError('EPARTIAL', `${rel}: a part of ${t.path} is restored only from the version its pointer in the work tree records, and ${opts.rev} records another`, {
          hint: `restore the whole folder of ${opts.rev} with 'mk pull ${opts.rev} -- ${t.path}', or check out its pointer first`,
        });
    }
    const e = inside.get(t.path) ?? inside.set(t.path, { t, subs: [] }).get(t.path)!;
    e.subs.push(rel.slice(t.path.length + 1));
  }
  // A folder also named whole is restored whole.
  for (const k of [...inside.keys()]) if (rest.some((p) => underPrefix(k, repoRelative(ctx.root, p, cwd)))) inside.delete(k);
  return { inside, rest };
}

export interface RemoteStatus {
  path: string;
  blobs: number;
  missingLocal: number;
  missingRemote: number;
  /** A remote by path: the remote this artifact goes to. */
  remote?: string;
  /** That remote would not let this user read it (e.g. `403 DENIED`): nothing is known of it there. */
  withheld?: string;
}

/** Which artifacts' blobs are missing locally or on their remote (each artifact's own remote, with remotes by path). */
export async function remoteStatus(opts: TransferOptions = {}): Promise<{ remote: string; artifacts: RemoteStatus[] }> {
  const ctx = RepoContext.open(opts.cwd);
  const rc = remoteConfig(ctx, opts.remote);
  const tracked = await collectArtifacts(ctx, opts.revs, opts.paths, opts.cwd ?? process.cwd());
  const out: RemoteStatus[] = [];
  for (const g of groupByRemote(ctx, tracked, rc)) {
    if (!g.tracked.length) continue;
    const target = await openRemote(ctx, g.rc);
    for (const t of g.tracked) {
      const where = g.routed ? { remote: g.rc.name } : {};
      try {
        out.push({ ...(await blobStatus(ctx, target, t)), ...where });
      } catch (e) {
        const why = g.routed ? deniedReason(e) : undefined;
        if (!why) throw e;
        out.push({ path: t.path, blobs: 0, missingLocal: 0, missingRemote: 0, ...where, withheld: why });
      }
    }
  }
  return { remote: rc.name, artifacts: out };
}

async function blobStatus(ctx: RepoContext, target: Target, t: TrackedPointer): Promise<RemoteStatus> {
  let blobs: Descriptor[];
  try {
    blobs = await artifactBlobs(ctx.cache, t);
  } catch {
    const size = await (target as unknown as { statBlob?: (d: string) => Promise<number | undefined> }).statBlob?.(t.pointer.digest);
    return { path: t.path, blobs: 0, missingLocal: 1, missingRemote: size === undefined ? 1 : 0 };
  }
  let missingLocal = 0;
  let missingRemote = 0;
  for (const b of blobs) {
    if (!ctx.cache.existsSync(b)) missingLocal++;
    if (!(await target.exists(b))) missingRemote++;
  }
  return { path: t.path, blobs: blobs.length, missingLocal, missingRemote };
}
export { signedNote } from '../signing/describe.js';
