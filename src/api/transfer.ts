import pLimit from 'p-limit';
import type { Descriptor } from '../content/descriptor.js';
import { hasBlobStat, type Target } from '../content/storage.js';
import { MkError } from '../errors/index.js';
import { pointersAtCommit, underPrefix, workspacePointers, type TrackedPointer } from '../git/pointers.js';
import { git, hasCommit, headCommit, isAncestor, resolveCommit, resolveCommits } from '../git/run.js';
import { openRemote, remoteConfig } from '../remote/remotes.js';
import { RepoContext } from '../repo/context.js';
import { repoRelative } from '../repo/paths.js';
import { artifactBlobs, artifactRoot, dirManifestBlobs } from '../worktree/roots.js';
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
import { announce, type Announcement } from '../notify/announce.js';
export { announcementLines, type Announcement } from '../notify/announce.js';
import { mkVersion } from '../util/version.js';

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
export async function push(opts: TransferOptions = {}): Promise<TransferResult & { target: Target; modelkits: PublishedModelKit[]; held: HeldTag[]; announced: Announcement[] }> {
  const ctx = RepoContext.open(opts.cwd);
  const rc = remoteConfig(ctx, opts.remote);
  const tracked = await collectArtifacts(ctx, opts.revs, opts.paths, opts.cwd ?? process.cwd());
  const target = await openRemote(ctx, rc, { create: true }); // a push creates a layout remote; reads need it there
  const concurrency = concurrencyOf(ctx, rc.name, opts.concurrency);
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
  const roots = new Map<string, { root: Descriptor; t: TrackedPointer }>();
  const missing: string[] = [];
  for (const t of tracked) {
    await checkPointerSize(ctx.cache, t);
    const root = await artifactRoot(ctx.cache, t, target);
    if (!root) missing.push(t.path);
    else roots.set(root.digest, { root, t });
  }
  const refuse = (paths: string[]) =>
    new MkError('ENOTCACHED', `cannot push: the data of ${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ` and ${paths.length - 3} more` : ''} is neither in the local cache nor on '${rc.name}'`, {
      hint: "fetch it first ('mk fetch'), or push from the clone that created it",
    });
  if (missing.length) throw refuse([...new Set(missing)]);
  let r;
  try {
    r = await copyGraph(
      ctx.cache,
      target,
      [...roots.values()].map((x) => x.root),
      { concurrency, onProgress: opts.onProgress, signal: opts.signal, known },
    );
  } catch (e) {
    if (!(e instanceof GraphIncompleteError)) throw e;
    for (const m of e.missing) {
      // The remote may hold the digest at its true size: then the pointer is what is wrong.
      const x = roots.get(m.digest);
      const there = x?.t.pointer.type === 'file' && hasBlobStat(target) ? await target.statBlob(m.digest) : undefined;
      if (x && there !== undefined && there !== m.size) throw pointerSizeError(x.t, there);
    }
    throw refuse([...new Set(e.roots.map((d) => roots.get(d.digest)!.t.path))]);
  }
  const modelkits: PublishedModelKit[] = [];
  const held: HeldTag[] = [];
  if (opts.modelkits ?? ctx.config.publishModelKits) {
    const revs = opts.modelkitRevs ?? (opts.revs?.length ? opts.revs : (await headCommit(ctx.root)) ? ['HEAD'] : []);
    const commits = [...new Set(await resolveCommits(ctx.root, revs))];
    // Ref tags: checked against what they name now, then set with the commit's ModelKit.
    const names = new Map<string, string[]>();
    for (const { rev, name } of opts.refTags ?? (await upstreamTags(ctx.root, opts.revs?.length ? opts.revs : ['HEAD']))) {
      const tag = ociTag(name);
      const commit = await resolveCommit(ctx.root, rev);
      if (!tag || tag === commit) continue;
      if (!commits.includes(commit)) commits.push(commit);
      const h = opts.force ? undefined : await refTagHeld(ctx.root, target, tag, commit);
      if (h) held.push({ ...h, remote: rc.name });
      else names.set(commit, [...(names.get(commit) ?? []), tag]);
    }
    const source = ctx.config.source ?? (await sourceUrl(ctx.root)) ?? null;
    const publishOne = async (commit: string): Promise<PublishedModelKit> => {
      const built = await buildModelKit(ctx, commit, { source });
      const tags = [commit, ...(names.get(commit) ?? [])];
      const p = await publishModelKit(ctx.cache, target, built, tags, { concurrency, signal: opts.signal, known });
      // Keep this commit's directory manifests reachable from its ModelKit (a registry's garbage collection, a mirror).
      await attachDirManifests(ctx.cache, target, built.manifest, await dirManifestBlobs(ctx.cache, await pointersAtCommit(ctx.commonDir, commit)), commit, {
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
    for (const c of commits) modelkits.push(byCommit.get(c)!);
  }
  return {
    target,
    remote: rc.name,
    artifacts: tracked.length,
    blobs: r.copied.length + r.skipped.length,
    copied: r.copied.length,
    skipped: r.skipped.length,
    mounted: r.mounted.length + modelkits.reduce((s, m) => s + m.mounted, 0),
    bytes: r.bytes + modelkits.reduce((s, m) => s + m.bytes, 0),
    modelkits,
    held,
    // Each publish announced to the `notify:` targets; a target that is down is said, never a failed push.
    announced: await announce(ctx, modelkits, { remote: rc.name, location: target.location, source: ctx.config.source ?? (await sourceUrl(ctx.root)) ?? null, ...opts.announce }, mkVersion()),
  };
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

/** Downloads into the cache what it lacks of the artifacts' data. Every byte is verified. */
export async function fetchData(opts: TransferOptions = {}): Promise<TransferResult> {
  const ctx = RepoContext.open(opts.cwd);
  const rc = remoteConfig(ctx, opts.remote);
  const tracked = await collectArtifacts(ctx, opts.revs, opts.paths, opts.cwd ?? process.cwd());
  const target = await openRemote(ctx, rc);
  const lock = await ctx.lock();
  try {
    const roots: Descriptor[] = [];
    const concurrency = concurrencyOf(ctx, rc.name, opts.concurrency);
    // A folder whose file lists the remote lacks (a mirror that copied the ModelKits without
    // mk's referrer): rebuilt from the packs of a ModelKit there, and checked against the pointer.
    let kits: ModelKitSource | undefined;
    const rebuilt = { fetched: [] as Descriptor[], made: [] as Descriptor[], bytes: 0 };
    for (const t of tracked) {
      const root = await artifactRoot(ctx.cache, t, target);
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
    return { remote: rc.name, artifacts: tracked.length, blobs: copied.length + skipped.length, copied: copied.length, skipped: skipped.length, bytes: r.bytes + rebuilt.bytes };
  } finally {
    lock.release();
  }
}

/**
 * fetch, then checkout. A path inside a tracked folder restores that part of the folder alone
 * (see pullPart): only the packs that hold its files are downloaded.
 */
export async function pull(opts: TransferOptions & { rev?: string; force?: boolean } = {}): Promise<{ fetch: TransferResult; checkout: CheckoutResult; partial: PartialPullResult[] }> {
  await (await import('./signature-gate.js')).requireSignedRevision({ cwd: opts.cwd, remote: opts.remote, rev: opts.rev }); // config verify_signatures
  const parts = opts.paths?.length ? await partsOfFolders(opts) : undefined;
  const partial: PartialPullResult[] = [];
  if (parts?.inside.size) {
    const ctx = RepoContext.open(opts.cwd);
    const lock = await ctx.lock();
    try {
      for (const { t, subs } of parts.inside.values()) partial.push(await pullPart(ctx, t, subs, opts));
    } finally {
      lock.release();
    }
    if (!parts.rest.length) {
      const copied = partial.reduce((n, p) => n + p.copied, 0);
      const bytes = partial.reduce((n, p) => n + p.bytes, 0);
      const remote = remoteConfig(ctx, opts.remote).name;
      return { fetch: { remote, artifacts: partial.length, blobs: copied, copied, skipped: 0, bytes }, checkout: { rev: undefined, artifacts: [] }, partial };
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
  return { fetch: f, checkout: c, partial };
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
export { signedNote } from '../signing/describe.js';
