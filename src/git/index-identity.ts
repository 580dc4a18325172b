import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The index file git reads for the work tree at `root`, found without starting git:
 * GIT_INDEX_FILE when set (git sets it for hooks during `git commit -a` and `git commit
 * <paths>`: a temporary index), else `index` in the git directory (GIT_DIR, or `.git`, which
 * in a linked worktree or a submodule is a file naming the real one). Relative paths are
 * taken from `root`, where mk runs git. Undefined when it cannot be told (then nothing is memoized).
 */
export function indexFilePath(root: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.GIT_INDEX_FILE) return resolve(root, env.GIT_INDEX_FILE);
  const dir = gitDirOf(root, env);
  return dir === undefined ? undefined : join(dir, 'index');
}

/** The git directory of the work tree at `root` (GIT_DIR, `.git`, or where a `.git` file points), or undefined. */
function gitDirOf(root: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.GIT_DIR) return resolve(root, env.GIT_DIR);
  const dotGit = join(root, '.git');
  try {
    if (statSync(dotGit).isDirectory()) return dotGit;
    const m = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'));
    return m ? resolve(root, m[1]!.trim()) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when the repository surely uses SHA-1 object ids, told without starting git: its
 * config (in the common git directory: a linked worktree's `commondir`, or GIT_COMMON_DIR)
 * does not mention `objectformat` at all, and SHA-256 is set there and only there
 * (extensions.objectFormat). Anything else (no config found, the word present) is for git to say.
 */
export function surelySha1(root: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const dir = gitDirOf(root, env);
  if (dir === undefined) return false;
  try {
    let common = env.GIT_COMMON_DIR ? resolve(root, env.GIT_COMMON_DIR) : dir;
    if (!env.GIT_COMMON_DIR) {
      try {
        common = resolve(dir, readFileSync(join(dir, 'commondir'), 'utf8').trim());
      } catch {
        /* no commondir: the git directory is the common one */
      }
    }
    return !/objectformat/i.test(readFileSync(join(common, 'config'), 'utf8'));
  } catch {
    return false;
  }
}

/**
 * What identifies one state of the index: its path, device and inode, size, modification and
 * change times (nanoseconds), and its last 32 bytes (the checksum git writes over the whole
 * file, unless index.skipHash). Git replaces the index by renaming a new file over it (a new
 * inode) and every change changes the checksum, so an index that `git add` or `git
 * update-index` touched since never has the same identity. Undefined when there is no index
 * (or it cannot be read): nothing is memoized then.
 */
export function indexIdentity(root: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = indexFilePath(root, env);
  if (!path) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const st = fstatSync(fd, { bigint: true });
    const tail = Buffer.alloc(32);
    const n = readSync(fd, tail, 0, 32, Math.max(0, Number(st.size) - 32));
    return [path, st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs, tail.subarray(0, n).toString('hex')].join(':');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const memo = new Map<string, { identity: string; value: Promise<unknown> }>();

/**
 * `compute()`'s answer, computed once per state of the index (see indexIdentity) and `key`
 * (what else the answer depends on). The identity is taken before `compute` runs: an index
 * that changes meanwhile is read again next time. A failed computation is not kept.
 */
export function memoByIndex<T>(root: string, key: string, compute: () => Promise<T>): Promise<T> {
  const identity = indexIdentity(root);
  if (identity === undefined) return compute();
  const slot = `${root}\0${key}`;
  const hit = memo.get(slot);
  if (hit && hit.identity === identity) return hit.value as Promise<T>;
  const value = compute();
  memo.set(slot, { identity, value });
  value.catch(() => {
    if (memo.get(slot)?.value === value) memo.delete(slot);
  });
  return value;
}

/** Forgets every memoized answer (tests; a long-running process that knows better). */
export function forgetIndexMemo(): void {
  memo.clear();
}
