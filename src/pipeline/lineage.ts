import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readBlob, readCommit, readTree, type TreeEntry } from '../git/objects.js';
import { pointersAtCommit } from '../git/pointers.js';
import { MediaType } from '../content/media-types.js';
import { joinRel } from './interpolate.js';
import { parseLock, type LockItem } from './lock.js';
import { buildDag } from './dag.js';
import { LOCK_FILE, parsePipeline, PIPELINE_FILE, type Stage } from './stages.js';
import { MAX_PIPELINE_FILE, toPlain } from './values.js';

/** One input or output of a stage, by every digest mk knows for it at the commit. */
export interface LineageItem {
  /** Repository-relative path. */
  path: string;
  /** sha256 (hex) of the file, or of mk's directory manifest for a folder mk tracks. */
  sha256?: string;
  /** DVC's md5 from dvc.lock (a folder's ends in `.dir`). */
  md5?: string;
  /** Git's object id, for a file or folder Git keeps. */
  gitBlob?: string;
  gitTree?: string;
  /** What the sha256 is of: mk's directory manifest for a folder, else the file's bytes. */
  mediaType?: string;
}

/** A stage as it ran for a commit: what dvc.lock recorded, with the commit's own digests of each path. */
export interface StageLineage {
  stage: string;
  cmd: string | string[];
  /** The folder it ran in. */
  wdir: string;
  deps: LineageItem[];
  /** params file → key → value (JSON; a float that is a whole number is {"$float": n}). */
  params: Record<string, unknown>;
  outs: LineageItem[];
}

/** Files that are read whole for their sha256 (larger Git blobs are named by Git id and md5 only). */
const MAX_HASHED_BLOB = 64 << 20;

/**
 * The stages that made a commit's data, read from the commit alone (its dvc.yaml and
 * dvc.lock at the root): each stage's command and the digests of every dep, param and output
 * as the lock recorded them, with mk's sha256 of each path at that commit (the pointer's
 * digest for what mk tracks, the blob's sha256 for what Git keeps). Empty without a pipeline.
 * A malformed pipeline at the commit gives no lineage rather than no signature.
 */
export async function pipelineLineage(gitDir: string, commit: string): Promise<StageLineage[]> {
  const tree = (await readCommit(gitDir, commit)).tree;
  const trees = new Map<string, Promise<TreeEntry[]>>();
  const treeOf = (oid: string) => {
    let t = trees.get(oid);
    if (!t) trees.set(oid, (t = readTree(gitDir, oid)));
    return t;
  };
  const entryAt = async (path: string): Promise<TreeEntry | undefined> => {
    let oid = tree;
    const parts = path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const e = (await treeOf(oid)).find((x) => x.path === parts[i]);
      if (!e) return undefined;
      if (i === parts.length - 1) return e;
      if (e.type !== 'tree') return undefined;
      oid = e.oid;
    }
    return undefined;
  };
  const pipeEntry = await entryAt(PIPELINE_FILE);
  const lockEntry = await entryAt(LOCK_FILE);
  if (pipeEntry?.type !== 'blob' || lockEntry?.type !== 'blob') return [];
  const read = (rel: string): Uint8Array | undefined => {
    if (rel === '..' || rel.startsWith('../')) return undefined;
    try {
      const b = execFileSync('git', ['--git-dir', gitDir, 'cat-file', 'blob', `${commit}:${rel}`], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: MAX_PIPELINE_FILE });
      return b.length > MAX_PIPELINE_FILE ? undefined : b;
    } catch {
      return undefined;
    }
  };
  let stages: Stage[];
  let lock;
  try {
    stages = buildDag(parsePipeline({ file: PIPELINE_FILE, text: Buffer.from(await readBlob(gitDir, pipeEntry.oid)).toString('utf8'), read })).order;
    lock = parseLock(Buffer.from(await readBlob(gitDir, lockEntry.oid)).toString('utf8'), LOCK_FILE);
  } catch {
    return [];
  }
  const pointers = new Map((await pointersAtCommit(gitDir, commit).catch(() => [])).map((t) => [t.path, t.pointer]));
  const itemOf = async (wdir: string, it: LockItem): Promise<LineageItem> => {
    const path = joinRel(wdir, it.path);
    const out: LineageItem = { path };
    if (it.md5) out.md5 = it.md5;
    const p = pointers.get(path);
    if (p) {
      out.sha256 = p.digest.slice('sha256:'.length);
      if (p.type === 'dir') out.mediaType = MediaType.mkDirectory;
      return out;
    }
    const e = await entryAt(path).catch(() => undefined);
    if (e?.type === 'tree') out.gitTree = e.oid;
    else if (e?.type === 'blob') {
      out.gitBlob = e.oid;
      const b = await readBlob(gitDir, e.oid);
      if (b.length <= MAX_HASHED_BLOB) out.sha256 = createHash('sha256').update(b).digest('hex');
    }
    return out;
  };
  const out: StageLineage[] = [];
  for (const s of stages) {
    const rec = lock.stages.get(s.name);
    if (!rec) continue;
    const params: Record<string, unknown> = {};
    for (const f of Object.keys(rec.params)) params[f] = toPlain(rec.params[f]!);
    out.push({
      stage: s.address,
      cmd: rec.cmd,
      wdir: s.wdir,
      deps: await Promise.all(rec.deps.map((d) => itemOf(s.wdir, d))),
      params,
      outs: await Promise.all(rec.outs.map((o) => itemOf(s.wdir, o))),
    });
  }
  return out;
}
