import { readFileSync } from 'node:fs';
import { loadDirManifest } from '../artifact/load.js';
import { pointersAtCommit, workspacePointers, type TrackedPointer } from '../git/pointers.js';
import { git, headCommit } from '../git/run.js';
import { RepoContext } from '../repo/context.js';

export interface GcOptions {
  cwd?: string;
  allBranches?: boolean;
  allTags?: boolean;
  allCommits?: boolean;
  dryRun?: boolean;
}

export interface GcResult {
  commits: number;
  kept: number;
  removed: Array<{ digest: string; size: number }>;
  freedBytes: number;
  dryRun: boolean;
}

/**
 * Removes cache blobs that no pointer of the chosen revisions needs. Always kept: what the
 * work tree's pointers and HEAD need, and every manifest tagged in the cache (and what it
 * refers to). `--all-branches`, `--all-tags` and `--all-commits` widen what is kept.
 */
export async function gc(opts: GcOptions = {}): Promise<GcResult> {
  const ctx = RepoContext.open(opts.cwd);
  const lock = await ctx.lock();
  try {
    const commits = new Set<string>();
    const head = await headCommit(ctx.root);
    if (head) commits.add(head);
    const lines = async (args: string[]) => (await git(ctx.root, args)).split('\n').filter(Boolean);
    if (opts.allCommits) for (const c of await lines(['rev-list', '--all'])) commits.add(c);
    else {
      if (opts.allBranches) for (const c of await lines(['for-each-ref', '--format=%(objectname)', 'refs/heads/'])) commits.add(c);
      if (opts.allTags) for (const c of await lines(['for-each-ref', '--format=%(*objectname)%(objectname)', 'refs/tags/'])) commits.add(c.slice(0, 40));
    }
    const keep = new Set<string>();
    const memo = new Map<string, Array<{ path: string; oid: string }>>();
    const seenPointers = new Set<string>();
    const need = async (ts: TrackedPointer[]) => {
      for (const t of ts) {
        if (seenPointers.has(t.pointer.digest)) continue;
        seenPointers.add(t.pointer.digest);
        keep.add(t.pointer.digest);
        if (t.pointer.type === 'dir') {
          const m = await loadDirManifest(ctx.cache, t.pointer).catch(() => undefined);
          for (const l of m?.layers ?? []) {
            keep.add(l.digest);
            if (l.list) keep.add(l.list.digest);
          }
        }
      }
    };
    await need(await workspacePointers(ctx.root));
    for (const c of commits) {
      const kind = (await git(ctx.root, ['cat-file', '-t', c])).trim();
      if (kind !== 'commit') continue;
      await need(await pointersAtCommit(ctx.commonDir, c, undefined, memo));
    }
    // Tagged manifests (ModelKits) and everything they reference stay.
    for (const d of ctx.cache.readIndex().manifests) {
      keep.add(d.digest);
      try {
        const body = JSON.parse(readFileSync(ctx.cache.blobPath(d), 'utf8')) as { config?: { digest: string }; layers?: Array<{ digest: string }>; manifests?: Array<{ digest: string }> };
        if (body.config) keep.add(body.config.digest);
        for (const l of body.layers ?? []) keep.add(l.digest);
        for (const l of body.manifests ?? []) keep.add(l.digest);
      } catch {
        /* not readable: keep the manifest itself */
      }
    }
    const removed: Array<{ digest: string; size: number }> = [];
    for (const b of await ctx.cache.listBlobs()) if (!keep.has(b.digest)) removed.push(b);
    if (!opts.dryRun) {
      for (const b of removed) await ctx.cache.deleteBlob(b.digest);
      await ctx.cache.cleanIngest();
    }
    return { commits: commits.size, kept: keep.size, removed, freedBytes: removed.reduce((s, b) => s + b.size, 0), dryRun: !!opts.dryRun };
  } finally {
    lock.release();
  }
}
