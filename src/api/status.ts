import { compareWorkspace, type FileChange, type WorkspaceStatus } from '../artifact/compare.js';
import { StatCache } from '../hashing/stat-cache.js';
import { pointersAtCommit, workspacePointers } from '../git/pointers.js';
import { headCommit } from '../git/run.js';
import type { Kind } from '../pointer/pointer.js';
import { RepoContext } from '../repo/context.js';
import { repoRelative } from '../repo/paths.js';

export interface ArtifactStatus {
  path: string;
  kind: Kind;
  type: 'file' | 'dir';
  /** Work tree against the pointer: clean, modified, deleted (data absent), unknown (not cached, cannot tell). */
  workspace: WorkspaceStatus;
  /** Pointer against HEAD: new (not in HEAD), changed (differs from HEAD), committed. */
  commit: 'new' | 'changed' | 'committed';
  /** All blobs needed to restore it are in the local cache. */
  cached: boolean;
  size: number;
  files?: number;
  changes: FileChange[];
}

/** Status of every tracked artifact (or those under `paths`). */
export async function status(opts: { cwd?: string; paths?: string[] } = {}): Promise<ArtifactStatus[]> {
  const ctx = RepoContext.open(opts.cwd);
  const filters = opts.paths?.map((p) => repoRelative(ctx.root, p, opts.cwd ?? process.cwd()));
  const stat = new StatCache(ctx.stateDir);
  const [tracked, head] = await Promise.all([workspacePointers(ctx.root, filters), headCommit(ctx.root)]);
  const atHead = new Map((head ? await pointersAtCommit(ctx.commonDir, head, filters) : []).map((t) => [t.path, t.pointer]));
  const out: ArtifactStatus[] = [];
  for (const t of tracked) {
    const cmp = await compareWorkspace(ctx, stat, t.path, t.pointer);
    const h = atHead.get(t.path);
    const s: ArtifactStatus = {
      path: t.path,
      kind: t.pointer.kind,
      type: t.pointer.type,
      workspace: cmp.workspace,
      commit: !h ? 'new' : h.digest !== t.pointer.digest || h.kind !== t.pointer.kind || !!h.exec !== !!t.pointer.exec ? 'changed' : 'committed',
      cached: cmp.cached,
      size: t.pointer.size,
      changes: cmp.changes,
    };
    if (t.pointer.files !== undefined) s.files = t.pointer.files;
    out.push(s);
  }
  try {
    stat.save();
  } catch {
    /* read-only repository: status still answers */
  }
  return out;
}
