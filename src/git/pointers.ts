import { readFileSync } from 'node:fs';
import * as fs from 'node:fs';
import { MkError, PointerError } from '../errors/index.js';
import { isPointerPath, dataPathFor, parsePointer, MAX_POINTER_BYTES, type Pointer } from '../pointer/pointer.js';
import { abs, checkStoredPath } from '../repo/paths.js';
import { git as runGit } from './run.js';
import { readBlob, readCommit, readTree } from './objects.js';

export interface TrackedPointer {
  /** Repository-relative path of the data. */
  path: string;
  /** Repository-relative path of the pointer file. */
  pointerPath: string;
  pointer: Pointer;
  /** The pointer file's exact text. */
  text: string;
}

/** True if `path` is `prefix` or lies under it (prefix '.' matches everything). */
export function underPrefix(path: string, prefix: string): boolean {
  return prefix === '.' || path === prefix || path.startsWith(prefix + '/');
}

function wanted(dataPath: string, filters?: string[]): boolean {
  return !filters || filters.length === 0 || filters.some((f) => underPrefix(dataPath, f) || underPrefix(f, dataPath));
}

/**
 * Every pointer in the tree of `commit`, read in process with isomorphic-git (no checkout,
 * no work-tree access). Subtrees are memoised by id in `memo`, so walking many commits that
 * share trees (gc over all history) reads each tree once.
 */
export async function pointersAtCommit(
  gitdir: string,
  commit: string,
  filters?: string[],
  memo: Map<string, Array<{ path: string; oid: string }>> = new Map(),
  /** Called for a pointer that cannot be read (which is then left out) instead of throwing. */
  onBad?: (path: string, oid: string, e: MkError) => void | Promise<void>,
): Promise<TrackedPointer[]> {
  const c = await readCommit(gitdir, commit);
  const found = await pointerBlobs(gitdir, c.tree, '', memo);
  const out: TrackedPointer[] = [];
  for (const { path, oid } of found) {
    const dataPath = dataPathFor(path);
    if (!wanted(dataPath, filters)) continue;
    try {
      out.push(await readCommittedPointer(gitdir, commit, path, oid));
    } catch (e) {
      if (!onBad || !(e instanceof MkError)) throw e;
      await onBad(path, oid, e);
    }
  }
  return out;
}

async function readCommittedPointer(gitdir: string, commit: string, path: string, oid: string): Promise<TrackedPointer> {
  const dataPath = dataPathFor(path);
  checkStoredPath(path);
  const blob = await readBlob(gitdir, oid);
  if (blob.length > MAX_POINTER_BYTES) throw new MkError('EPOINTER', `${path} at ${commit.slice(0, 12)}: larger than ${MAX_POINTER_BYTES} bytes, not an mk pointer`);
  const text = Buffer.from(blob).toString('utf8');
  let pointer: Pointer;
  try {
    pointer = parsePointer(text, `${path} at ${commit.slice(0, 12)}`);
  } catch (e) {
    // PointerError's hint ('git checkout -- <file>') names a work-tree file: not what to do about a commit.
    if (e instanceof PointerError) throw new MkError('EPOINTER', e.message, { hint: `name another revision, or re-create it with 'mk add ${dataPath}' and commit`, data: e.data });
    throw e;
  }
  return { path: dataPath, pointerPath: path, text, pointer };
}

async function pointerBlobs(gitdir: string, treeOid: string, prefix: string, memo: Map<string, Array<{ path: string; oid: string }>>): Promise<Array<{ path: string; oid: string }>> {
  const key = treeOid;
  let rel = memo.get(key);
  if (!rel) {
    rel = [];
    const tree = await readTree(gitdir, treeOid);
    for (const e of tree) {
      if (e.type === 'tree') {
        for (const sub of await pointerBlobs(gitdir, e.oid, '', memo)) rel.push({ path: `${e.path}/${sub.path}`, oid: sub.oid });
      } else if (e.type === 'blob' && isPointerPath(e.path)) rel.push({ path: e.path, oid: e.oid });
    }
    memo.set(key, rel);
  }
  return prefix ? rel.map((r) => ({ path: `${prefix}/${r.path}`, oid: r.oid })) : rel;
}

/** Pointer files of the work tree: tracked by git or not yet added (but not ignored). */
export async function workspacePointerPaths(root: string): Promise<string[]> {
  const out = await runGit(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--deduplicate', '--', '*.mk.yaml']);
  return out.split('\0').filter((p) => p && isPointerPath(p));
}

/** Reads the pointers of the work tree (optionally only those under `filters`). */
export async function workspacePointers(root: string, filters?: string[]): Promise<TrackedPointer[]> {
  const out: TrackedPointer[] = [];
  for (const pointerPath of await workspacePointerPaths(root)) {
    const dataPath = dataPathFor(pointerPath);
    if (!wanted(dataPath, filters)) continue;
    let text: string;
    try {
      const fd = fs.openSync(abs(root, pointerPath), 'r');
      try {
        const buf = Buffer.alloc(MAX_POINTER_BYTES + 1);
        const n = fs.readSync(fd, buf, 0, buf.length, 0);
        text = buf.subarray(0, n).toString('utf8');
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted in the work tree
      throw e;
    }
    out.push({ path: dataPath, pointerPath, text, pointer: parsePointer(text, pointerPath) });
  }
  return out;
}

export function readWorkspacePointer(root: string, pointerPath: string): Pointer | undefined {
  let text: string;
  try {
    text = readFileSync(abs(root, pointerPath), 'utf8');
  } catch {
    return undefined;
  }
  return parsePointer(text, pointerPath);
}
