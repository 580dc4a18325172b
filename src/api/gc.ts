import { join } from 'node:path';
import pLimit from 'p-limit';
import { loadDirManifest } from '../worktree/load.js';
import { MediaType } from '../content/media-types.js';
import { indexPointers, reachableCommits, refCommits, worktrees } from '../git/history.js';
import { pointersAtCommit, workspacePointers, type TrackedPointer } from '../git/pointers.js';
import { readBlob } from '../git/objects.js';
import { MkError } from '../errors/index.js';
import type { Pointer } from '../formats/pointer.js';
import { openRemote } from '../remote/remotes.js';
import { RepoContext } from '../repo/context.js';
import { sharingClones } from '../repo/shared-cache.js';
import { knownRecords, readKnown } from '../transfer/known.js';

export interface GcOptions {
  cwd?: string;
  /** Keep what every branch tip needs, even where a remote holds it. */
  allBranches?: boolean;
  /** Keep what every tagged commit needs, even where a remote holds it. */
  allTags?: boolean;
  /** Keep what every commit of every ref needs, even where a remote holds it. */
  allCommits?: boolean;
  dryRun?: boolean;
  /** Ask the remotes whether they really hold every blob that goes because a remote is believed to hold it. */
  verifyRemote?: boolean;
  /** Remove at most these blobs (digests): what the user was shown and confirmed. */
  only?: ReadonlySet<string>;
}

export interface GcResult {
  /** Commits whose data is kept in any case (every worktree's HEAD, and those the options add). */
  commits: number;
  /** Blobs kept. */
  kept: number;
  removed: Array<{ digest: string; size: number }>;
  freedBytes: number;
  dryRun: boolean;
  /**
   * Kept because a commit this repository (or a clone sharing the cache) can still reach needs
   * them and no remote is known to hold them: unpushed work, the reflog, other worktrees.
   */
  unpushed: { blobs: number; bytes: number };
  /** Other clones that share this cache and whose needs were counted. */
  clones: number;
  worktrees: number;
}

interface Repo {
  gitDir: string;
  root: string;
}

/**
 * Removes cache blobs that nothing needs, and never data that exists nowhere else (as
 * `git lfs prune` does):
 * - always kept: what every worktree of this repository (and of every clone registered in a
 *   shared cache) holds now: its HEAD, its work-tree pointers, its staged pointers; ModelKits
 *   tagged in the cache; and what --all-branches / --all-tags / --all-commits name;
 * - kept unless a remote holds it: what any commit still reachable from a ref or a reflog of
 *   those repositories needs (known from the record of what was pushed to or fetched from
 *   each remote; --verify-remote asks the remotes);
 * - removed: the rest (versions that were added and replaced before any commit, and history
 *   whose data a remote keeps).
 */
export async function gc(opts: GcOptions = {}): Promise<GcResult> {
  const ctx = RepoContext.open(opts.cwd);
  const lock = await ctx.lock();
  // Begun before anything is scanned: every blob written or claimed from here on (by any clone
  // sharing the cache), or by a process already running, is kept by this run.
  const sweep = opts.dryRun ? undefined : await ctx.cache.beginSweep();
  try {
    const cache = ctx.cache;
    const repos: Repo[] = [{ gitDir: ctx.commonDir, root: ctx.root }, ...(ctx.sharedCache ? sharingClones(ctx.cacheDir, ctx.commonDir) : [])];
    const keep = new Set<string>();
    const history = new Set<string>();
    const held = new Map<string, number>(); // hex digest -> size, held by some remote
    const keptCommits = new Set<string>();
    let worktreeCount = 0;
    const seenPointer = new Map<string, Set<string>>(); // set -> pointer digests already expanded
    const need = async (into: Set<string>, ts: TrackedPointer[]) => {
      let seen = seenPointer.get(into === keep ? 'keep' : 'history');
      if (!seen) seenPointer.set(into === keep ? 'keep' : 'history', (seen = new Set()));
      for (const t of ts) {
        if (seen.has(t.pointer.digest)) continue;
        seen.add(t.pointer.digest);
        into.add(t.pointer.digest);
        if (t.pointer.type !== 'dir') continue;
        // A root that is not in the cache: its layers never came here through it (roots are
        // fetched first and never removed while their layers stay), so nothing to protect.
        const m = await loadDirManifest(cache, t.pointer).catch(() => undefined);
        for (const l of m?.layers ?? []) {
          into.add(l.digest);
          if (l.list) into.add(l.list.digest);
        }
      }
    };
    for (const repo of repos) {
      const memo = new Map<string, Array<{ path: string; oid: string }>>();
      // Versions that must stay are read strictly: a damaged pointer there stops gc (fix it first).
      const atKept = (c: string) => pointersAtCommit(repo.gitDir, c, undefined, memo);
      // History is read leniently: a damaged pointer there (which nobody can fix) still keeps
      // every blob whose digest it mentions.
      const mentioned = async (_path: string, oid: string) => {
        const blob = await readBlob(repo.gitDir, oid);
        for (const m of Buffer.from(blob.subarray(0, 1 << 16))
          .toString('latin1')
          .matchAll(/sha256:[0-9a-f]{64}/g)) {
          await need(history, [{ path: '', pointerPath: '', text: '', pointer: { digest: m[0], type: 'dir' } as Pointer }]);
        }
      };
      const atCommit = (c: string) => pointersAtCommit(repo.gitDir, c, undefined, memo, mentioned);
      for (const wt of await worktrees(repo.gitDir)) {
        worktreeCount++;
        const where = (e: unknown) => {
          if (e instanceof MkError && wt.root !== ctx.root) throw new MkError(e.code, `in the work tree ${wt.root}: ${e.message}`, { hint: e.hint });
          throw e;
        };
        await need(keep, await workspacePointers(wt.root).catch(where));
        await need(keep, await indexPointers(wt.root, repo.gitDir));
        if (wt.head) keptCommits.add(`${repo.gitDir}\0${wt.head}`);
      }
      const extra: string[] = [];
      if (opts.allCommits) extra.push(...(await refCommits(repo.gitDir, 'all')));
      else {
        if (opts.allBranches) extra.push(...(await refCommits(repo.gitDir, 'branches')));
        if (opts.allTags) extra.push(...(await refCommits(repo.gitDir, 'tags')));
      }
      for (const c of extra) keptCommits.add(`${repo.gitDir}\0${c}`);
      for (const key of keptCommits) {
        const [gd, c] = key.split('\0') as [string, string];
        if (gd === repo.gitDir) await need(keep, await atKept(c));
      }
      for (const c of await reachableCommits(repo.gitDir)) if (!keptCommits.has(`${repo.gitDir}\0${c}`)) await need(history, await atCommit(c));
      for (const rec of knownRecords(join(repo.gitDir, 'mk'))) for (const [hex, size] of readKnown(rec)) held.set(hex, size);
    }
    // Tagged manifests (ModelKits) and everything they reference stay.
    for (const d of cache.taggedManifests()) {
      keep.add(d.digest);
      try {
        const body = JSON.parse(cache.readSmall(d.digest, `manifest ${d.digest.slice(7, 19)}`, 4 << 20).toString('utf8')) as {
          config?: { digest: string };
          layers?: Array<{ digest: string }>;
          manifests?: Array<{ digest: string }>;
        };
        if (body.config) keep.add(body.config.digest);
        for (const l of body.layers ?? []) keep.add(l.digest);
        for (const l of body.manifests ?? []) keep.add(l.digest);
      } catch {
        /* not readable: keep the manifest itself */
      }
    }

    const removed: Array<{ digest: string; size: number }> = [];
    const unpushed = { blobs: 0, bytes: 0 };
    const elsewhere: Array<{ digest: string; size: number }> = [];
    for (const b of await cache.listBlobs()) {
      if (keep.has(b.digest)) continue;
      if (history.has(b.digest)) {
        if (held.get(b.digest.slice(7)) === b.size) elsewhere.push(b);
        else {
          unpushed.blobs++;
          unpushed.bytes += b.size;
        }
        continue;
      }
      removed.push(b);
    }
    if (opts.verifyRemote && elsewhere.length) {
      const confirmed = await heldByARemote(ctx, elsewhere);
      for (const b of elsewhere) {
        if (confirmed.has(b.digest)) removed.push(b);
        else {
          unpushed.blobs++;
          unpushed.bytes += b.size;
        }
      }
    } else removed.push(...elsewhere);
    let going = opts.only ? removed.filter((b) => opts.only!.has(b.digest)) : removed;
    if (sweep) {
      // Blobs claimed meanwhile (a commit in progress in another clone) stay.
      const freed = new Set(await sweep.free(going.map((b) => b.digest)));
      going = going.filter((b) => freed.has(b.digest));
      await cache.cleanIngest();
    }
    const keptCount = keep.size + unpushed.blobs;
    return {
      commits: new Set([...keptCommits].map((k) => k.split('\0')[1])).size,
      kept: keptCount,
      removed: going,
      freedBytes: going.reduce((s, b) => s + b.size, 0),
      dryRun: !!opts.dryRun,
      unpushed,
      clones: repos.length - 1,
      worktrees: worktreeCount,
    };
  } finally {
    sweep?.end();
    lock.release();
  }
}

/** The blobs (of `blobs`) that one of the configured remotes answers it holds. */
async function heldByARemote(ctx: RepoContext, blobs: Array<{ digest: string; size: number }>): Promise<Set<string>> {
  const out = new Set<string>();
  const limit = pLimit(8);
  for (const rc of ctx.config.remotes) {
    const target = await openRemote(ctx, rc, { readOnly: true });
    const todo = blobs.filter((b) => !out.has(b.digest));
    await Promise.all(todo.map((b) => limit(async () => (await target.exists({ mediaType: MediaType.octet, ...b }).catch(() => false)) && out.add(b.digest))));
  }
  return out;
}
