import { readFileSync } from 'node:fs';
import * as fs from 'node:fs';
import { MkError, PointerError } from '../errors/index.js';
import { isPointerPath, dataPathFor, parsePointer, looksLikePointer, MAX_POINTER_BYTES, type Pointer } from '../formats/pointer.js';
import { abs, checkStoredPath } from '../repo/paths.js';
import { ATTRIBUTES_FILE, filterMatcher, readAttributes } from '../repo/gitattributes.js';
import { git as runGit } from './run.js';
import { readBlob, readCommit, readTree } from './objects.js';
import { indexIdentity, memoByIndex } from './index-identity.js';

export interface TrackedPointer {
  /** Repository-relative path of the data. */
  path: string;
  /** Repository-relative path of the pointer file. */
  pointerPath: string;
  pointer: Pointer;
  /** The pointer file's exact text. */
  text: string;
  /**
   * The file goes through mk's Git filter (`filter=mk` in the root .gitattributes): Git
   * stores the pointer at the file's own path (`pointerPath === path`), the work tree holds
   * the bytes. No `.mk.yaml` and no `.gitignore` line belong to it.
   */
  filtered?: boolean;
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
  for (const { path, oid } of await filteredBlobs(gitdir, c.tree, memo)) {
    if (!wanted(path, filters) || out.some((t) => t.path === path)) continue;
    try {
      const t = await readFilteredPointer(gitdir, commit, path, oid);
      if (t) out.push(t);
    } catch (e) {
      if (!onBad || !(e instanceof MkError)) throw e;
      await onBad(path, oid, e);
    }
  }
  return out;
}

/**
 * Blobs of a tree that its root .gitattributes sends through mk's filter (`filter=mk`).
 * Only the root .gitattributes is read (mk writes its lines there).
 */
async function filteredBlobs(gitdir: string, treeOid: string, memo: Map<string, Array<{ path: string; oid: string }>>): Promise<Array<{ path: string; oid: string }>> {
  const key = `filtered\0${treeOid}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const root = await readTree(gitdir, treeOid);
  const attrs = root.find((e) => e.path === ATTRIBUTES_FILE && e.type === 'blob');
  if (!attrs) {
    memo.set(key, []);
    return [];
  }
  const text = Buffer.from(await readBlob(gitdir, attrs.oid)).toString('utf8');
  const out: Array<{ path: string; oid: string }> = [];
  if (text.includes('filter=mk')) {
    const match = filterMatcher(text);
    const walk = async (oid: string, prefix: string, entries?: Awaited<ReturnType<typeof readTree>>) => {
      for (const e of entries ?? (await readTree(gitdir, oid))) {
        const p = prefix ? `${prefix}/${e.path}` : e.path;
        if (e.type === 'tree') await walk(e.oid, p);
        else if (e.type === 'blob' && e.mode !== '120000' && match(p)) out.push({ path: p, oid: e.oid });
      }
    };
    await walk(treeOid, '', root);
  }
  memo.set(key, out);
  return out;
}

/** A filtered file's blob at a commit: its pointer, or undefined when Git holds the bytes themselves (added without mk's filter). */
async function readFilteredPointer(gitdir: string, commit: string, path: string, oid: string): Promise<TrackedPointer | undefined> {
  checkStoredPath(path);
  const blob = await readBlob(gitdir, oid);
  if (blob.length > MAX_POINTER_BYTES) return undefined;
  const text = Buffer.from(blob).toString('utf8');
  if (!looksLikePointer(text)) return undefined;
  let pointer: Pointer;
  try {
    pointer = parsePointer(text, `${path} at ${commit.slice(0, 12)}`);
  } catch (e) {
    if (e instanceof PointerError) throw new MkError('EPOINTER', e.message, { hint: `name another revision, or re-add the file with 'git add ${path}' and commit`, data: e.data });
    throw e;
  }
  if (pointer.type !== 'file')
    throw new MkError('EPOINTER', `${path} at ${commit.slice(0, 12)}: a folder pointer stored in place of a file`, { hint: `re-add the file with 'git add ${path}' and commit` });
  return { path, pointerPath: path, text, pointer, filtered: true };
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

/**
 * A path as git prints it outside `-z` output: as is, or C-quoted ("a\"b", "\303\251") when
 * it holds a double quote, a backslash, a control character or (core.quotePath) a byte above 0x7f.
 */
export function unquoteGitPath(s: string): string {
  if (!s.startsWith('"') || !s.endsWith('"') || s.length < 2) return s;
  const bytes: number[] = [];
  const body = Buffer.from(s.slice(1, -1), 'utf8');
  const ESC: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== 92) {
      bytes.push(c);
      continue;
    }
    const next = String.fromCharCode(body[i + 1] ?? 0);
    if (/[0-3]/.test(next) && i + 3 < body.length) {
      bytes.push(parseInt(body.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else if (next in ESC) {
      bytes.push(ESC[next]!);
      i += 1;
    } else bytes.push(c);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** One `ls-files -s` line's path (after the tab), as a repository-relative path. */
function stagedLinePath(line: string): string {
  return unquoteGitPath(line.slice(line.indexOf('\t') + 1));
}

/**
 * Runs `git ls-files -s --cached --others --exclude-standard -- '*.mk.yaml'` (one call for
 * what three took): the pointer files of the work tree, and the exact text of `git ls-files -s
 * -- '*.mk.yaml'` (the index's lines: git prints the untracked files first, as bare paths
 * without a tab, quoted when they hold one), which is kept for stagedPointerListing while the
 * index stays as it is.
 */
async function listPointerFiles(root: string): Promise<{ paths: string[]; staged: string }> {
  const identity = indexIdentity(root);
  const out = await runGit(root, ['ls-files', '-s', '--cached', '--others', '--exclude-standard', '--', '*.mk.yaml']);
  const staged: string[] = [];
  const paths = new Set<string>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    if (line.includes('\t')) {
      staged.push(line);
      paths.add(stagedLinePath(line));
    } else paths.add(unquoteGitPath(line));
  }
  const text = staged.length ? staged.join('\n') + '\n' : '';
  if (identity !== undefined) stagedListings.set(root, { identity, text });
  return { paths: [...paths].filter((p) => p && isPointerPath(p)), staged: text };
}

const stagedListings = new Map<string, { identity: string; text: string }>();

/** Pointer files of the work tree: tracked by git or not yet added (but not ignored). */
export async function workspacePointerPaths(root: string): Promise<string[]> {
  return (await listPointerFiles(root)).paths;
}

/**
 * The exact output of `git ls-files -s -- '*.mk.yaml'` (the pre-commit fast path sums it, the
 * pointer state is made from it): from the last workspacePointerPaths while the index is the
 * same (see indexIdentity: anything staged since makes it read again), else one git call.
 */
export async function stagedPointerListing(root: string): Promise<string> {
  const hit = stagedListings.get(root);
  if (hit && hit.identity === indexIdentity(root)) return hit.text;
  return memoByIndex(root, 'staged-pointer-listing', async () => runGit(root, ['ls-files', '-s', '--', '*.mk.yaml']));
}

type IndexPointer = { path: string; error?: Error; pointer?: TrackedPointer };

/**
 * The pointers the index holds for files that go through mk's Git filter (the root
 * .gitattributes of the work tree says `filter=mk`); the work tree holds their bytes.
 * Blobs that are not mk pointers (the file was added without mk's filter) are left out.
 * Read once per state of the index and .gitattributes (memoByIndex): a hook that asks three
 * times starts git once; anything staged since (by the hook itself too) is read again.
 */
export async function filteredIndexPointers(root: string, filters?: string[]): Promise<TrackedPointer[]> {
  const text = readAttributes(root);
  if (!text || !text.includes('filter=mk')) return [];
  const all = await memoByIndex(root, `filtered-index-pointers\0${text}`, () => readFilteredIndexPointers(root, text));
  const out: TrackedPointer[] = [];
  for (const e of all) {
    if (!wanted(e.path, filters)) continue;
    if (e.error !== undefined) throw e.error; // as it was thrown when read: a bad pointer among those asked for
    out.push({ ...e.pointer!, pointer: { ...e.pointer!.pointer } });
  }
  return out;
}

async function readFilteredIndexPointers(root: string, attributes: string): Promise<IndexPointer[]> {
  const match = filterMatcher(attributes);
  const entries: Array<{ path: string; oid: string }> = [];
  for (const l of (await runGit(root, ['ls-files', '-s', '-z'])).split('\0')) {
    const tab = l.indexOf('\t');
    if (tab < 0) continue;
    const [mode, oid, stage] = l.slice(0, tab).split(' ');
    const path = l.slice(tab + 1);
    if (stage !== '0' || mode === '120000' || mode === '160000' || !match(path)) continue;
    entries.push({ path, oid: oid! });
  }
  if (!entries.length) return [];
  const sizes = (await runGit(root, ['cat-file', '--batch-check=%(objectsize)'], { input: entries.map((e) => e.oid).join('\n') + '\n' })).split('\n');
  const small = entries.filter((_, i) => Number(sizes[i]) <= MAX_POINTER_BYTES);
  if (!small.length) return [];
  const batch = Buffer.from(await runGit(root, ['cat-file', '--batch'], { input: small.map((e) => e.oid).join('\n') + '\n' }), 'utf8');
  const out: IndexPointer[] = [];
  let at = 0;
  for (const e of small) {
    const nl = batch.indexOf(10, at);
    const size = Number(batch.subarray(at, nl).toString('utf8').split(' ')[2]);
    const body = batch.subarray(nl + 1, nl + 1 + size).toString('utf8');
    at = nl + 1 + size + 1;
    if (!looksLikePointer(body)) continue;
    try {
      checkStoredPath(e.path);
      const pointer = parsePointer(body, e.path);
      if (pointer.type !== 'file') throw new PointerError(e.path, 'a folder pointer stored in place of a file');
      out.push({ path: e.path, pointer: { path: e.path, pointerPath: e.path, text: body, pointer, filtered: true } });
    } catch (error) {
      out.push({ path: e.path, error: error as Error });
    }
  }
  return out;
}

/** Reads the pointers of the work tree (optionally only those under `filters`), filtered files included. */
export async function workspacePointers(root: string, filters?: string[]): Promise<TrackedPointer[]> {
  const out: TrackedPointer[] = await filteredIndexPointers(root, filters);
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

/**
 * The pointer a filtered file's work-tree copy holds as text (its data could not be had when
 * Git checked it out: smudge left the pointer), or undefined when it holds anything else.
 */
export function pointerTextInWorkTree(root: string, path: string): Pointer | undefined {
  let fd: number | undefined;
  try {
    const st = fs.lstatSync(abs(root, path));
    if (!st.isFile() || st.size > MAX_POINTER_BYTES) return undefined;
    fd = fs.openSync(abs(root, path), 'r');
    const buf = Buffer.alloc(MAX_POINTER_BYTES + 1);
    const text = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    if (!looksLikePointer(text)) return undefined;
    return parsePointer(text, path);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
