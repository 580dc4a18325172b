import { diffFiles, pointerFiles, type FileChange } from '../artifact/compare.js';
import { loadDirManifest } from '../artifact/load.js';
import { workState } from '../artifact/workspace.js';
import { MkError } from '../errors/index.js';
import { StatCache } from '../hashing/stat-cache.js';
import { pointersAtCommit, workspacePointers, type TrackedPointer } from '../git/pointers.js';
import { headCommit, resolveCommit } from '../git/run.js';
import { RepoContext } from '../repo/context.js';

export interface ArtifactDiff {
  path: string;
  change: 'added' | 'removed' | 'modified';
  /** Files changed inside the artifact (paths relative to the repository). */
  files: FileChange[];
}

export interface DiffResult {
  from: string;
  to: string;
  artifacts: ArtifactDiff[];
}

type Side = { label: string; commit?: string };

/**
 * Files added, removed and modified inside tracked artifacts between two revisions, or
 * between a revision (default HEAD) and the work tree.
 */
export async function diff(opts: { cwd?: string; from?: string; to?: string } = {}): Promise<DiffResult> {
  const ctx = RepoContext.open(opts.cwd);
  const fromCommit = opts.from ? await resolveCommit(ctx.root, opts.from) : await headCommit(ctx.root);
  const a: Side = { label: opts.from ?? 'HEAD', commit: fromCommit };
  const b: Side = opts.to ? { label: opts.to, commit: await resolveCommit(ctx.root, opts.to) } : { label: 'workspace' };
  const stat = new StatCache(ctx.stateDir);
  const list = async (s: Side): Promise<TrackedPointer[]> => (s.commit ? pointersAtCommit(ctx.commonDir, s.commit) : s.label === 'workspace' ? workspacePointers(ctx.root) : []);
  const [la, lb] = await Promise.all([list(a), list(b)]);
  const ma = new Map(la.map((t) => [t.path, t]));
  const mb = new Map(lb.map((t) => [t.path, t]));
  const paths = [...new Set([...ma.keys(), ...mb.keys()])].sort();
  const files = async (t: TrackedPointer | undefined, workspace: boolean) => {
    if (!t) return [];
    if (workspace) {
      const s = await workState(ctx.root, stat, t.path);
      if (s.kind === 'file') return [{ path: t.path, digest: s.file.digest, size: s.file.size, mode: s.file.mode }];
      if (s.kind === 'dir') return s.files.map((f) => ({ ...f, path: `${t.path}/${f.path}` }));
      return [];
    }
    if (t.pointer.type === 'file') return pointerFiles(t.pointer, t.path);
    const m = await loadDirManifest(ctx.cache, t.pointer).catch(() => {
      throw new MkError('ENOTCACHED', `the file list of ${t.path} (${t.pointer.digest.slice(7, 19)}) is not in the local cache`, { hint: "run 'mk fetch' for that revision first" });
    });
    return m.files.map((f) => ({ ...f, path: `${t.path}/${f.path}` }));
  };
  const artifacts: ArtifactDiff[] = [];
  for (const p of paths) {
    const ta = ma.get(p);
    const tb = mb.get(p);
    if (ta && tb && !b.label.startsWith('workspace') && ta.pointer.digest === tb.pointer.digest) continue;
    const changes = diffFiles(await files(ta, false), await files(tb, b.label === 'workspace'));
    if (changes.length === 0) continue;
    artifacts.push({ path: p, change: !ta ? 'added' : !tb ? 'removed' : 'modified', files: changes });
  }
  try {
    stat.save();
  } catch {
    /* read-only */
  }
  return { from: a.label, to: b.label, artifacts };
}
