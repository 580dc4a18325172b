import { lstatSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { readBlob, readCommit, readTree, type TreeEntry } from '../git/objects.js';
import { experimentKeys, type MkConfig } from '../repo/config.js';
import { readYamlBounded } from '../util/yaml-bounded.js';
import { ExperimentFileError, MAX_VALUES_FILE } from './values.js';

/** Where experiment files are read from: a commit (through git's objects) or the work tree. */
export type Source = { kind: 'commit'; gitDir: string; commit: string } | { kind: 'worktree'; root: string };

export type ExperimentKeys = Pick<MkConfig, 'params' | 'metrics' | 'plots'>;

const trees = new Map<string, Promise<TreeEntry[]>>();

function treeOf(gitDir: string, oid: string): Promise<TreeEntry[]> {
  const key = `${gitDir}\0${oid}`;
  let t = trees.get(key);
  if (!t) {
    t = readTree(gitDir, oid);
    trees.set(key, t);
    if (trees.size > 4096) trees.delete(trees.keys().next().value!);
  }
  return t;
}

/**
 * A file's bytes at the source, or undefined when it does not exist there. Only regular
 * files are read (a symlink or folder counts as missing), at most `limit` bytes.
 */
export async function readSourceFile(src: Source, path: string, limit = MAX_VALUES_FILE): Promise<Uint8Array | undefined> {
  const parts = path.split('/');
  if (src.kind === 'worktree') {
    const full = join(src.root, ...parts);
    let st;
    try {
      st = lstatSync(full);
    } catch {
      return undefined;
    }
    if (!st.isFile()) return undefined;
    if (st.size > limit) throw new ExperimentFileError(path, `too large (${st.size} bytes; at most ${limit})`);
    const buf = Buffer.alloc(st.size);
    const fd = openSync(full, 'r');
    try {
      let n = 0;
      while (n < st.size) {
        const r = readSync(fd, buf, n, st.size - n, n);
        if (r === 0) break;
        n += r;
      }
      return buf.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  }
  let oid = (await readCommit(src.gitDir, src.commit)).tree;
  for (let i = 0; i < parts.length; i++) {
    const e = (await treeOf(src.gitDir, oid)).find((x) => x.path === parts[i]);
    if (!e) return undefined;
    const last = i === parts.length - 1;
    if (last ? e.type !== 'blob' || e.mode === '120000' : e.type !== 'tree') return undefined;
    oid = e.oid;
  }
  const bytes = await readBlob(src.gitDir, oid);
  if (bytes.length > limit) throw new ExperimentFileError(path, `too large (${bytes.length} bytes; at most ${limit})`);
  return bytes;
}

/**
 * The experiment files a commit declares in its own `.mk/config.yaml` (none when it has no
 * config, or a config mk cannot read: a ModelKit is still built, without params).
 */
export async function declaredAt(src: Source & { kind: 'commit' }): Promise<ExperimentKeys> {
  const none: ExperimentKeys = { params: [], metrics: [], plots: [] };
  const bytes = await readSourceFile(src, '.mk/config.yaml', 1024 * 1024).catch(() => undefined);
  if (!bytes) return none;
  try {
    const r = readYamlBounded(Buffer.from(bytes).toString('utf8'));
    if (!r.ok) return none;
    const raw = r.value;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return none;
    return { ...none, ...experimentKeys(raw as Record<string, unknown>, '.mk/config.yaml') };
  } catch {
    return none;
  }
}
