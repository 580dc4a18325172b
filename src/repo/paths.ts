import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { UnsafePathError } from '../errors/index.js';
import { checkStoredPath, isGitSegment } from '../formats/stored-path.js';

export { checkStoredPath, isGitSegment };

/**
 * Turns a path given by a user or read from a pointer into a normalised repository-relative
 * path with forward slashes, refusing anything that leaves the work tree: absolute paths,
 * `..` escapes, paths into `.git`, and paths whose existing parent folders are symlinks.
 */
export function repoRelative(root: string, input: string, cwd = root): string {
  if (input.includes('\0')) throw new UnsafePathError(input, 'it contains a NUL byte');
  const abs = isAbsolute(input) ? normalize(input) : join(cwd, input);
  const rel = relative(root, abs);
  if (rel === '') return '.';
  if (rel === '..' || rel.startsWith('..' + sep) || isAbsolute(rel)) throw new UnsafePathError(input, 'it is outside the repository');
  const posix = rel.split(sep).join('/');
  if (posix.split('/').some(isGitSegment)) throw new UnsafePathError(input, "it is inside '.git'");
  return posix;
}

/**
 * Refuses a repository-relative path when one of its existing ancestors (inside the work
 * tree) is a symlink: writing through it could land outside the repository.
 */
export function assertNoSymlinkedParents(root: string, rel: string): void {
  const parts = rel.split('/');
  let cur = root;
  for (let i = 0; i < parts.length - 1; i++) {
    cur = join(cur, parts[i]!);
    let st;
    try {
      st = lstatSync(cur);
    } catch {
      return; // does not exist yet: nothing to follow
    }
    if (st.isSymbolicLink()) {
      let target = '';
      try {
        target = realpathSync(cur);
      } catch {
        /* dangling */
      }
      throw new UnsafePathError(rel, `its parent folder '${parts.slice(0, i + 1).join('/')}' is a symlink${target ? ` to ${target}` : ''}`);
    }
    if (!st.isDirectory()) return;
  }
}

/**
 * Refuses a target folder for outside data (an unpacked ModelKit) that is, or lies inside,
 * a Git directory: a `.git` folder in any form, or a folder holding Git's own files (a bare
 * repository, a worktree's git dir). Symlinks on the way are resolved first.
 */
export function assertNotGitDir(dir: string): void {
  let probe = resolve(dir);
  const rest: string[] = [];
  for (;;) {
    try {
      probe = realpathSync(probe);
      break;
    } catch {
      const up = dirname(probe);
      if (up === probe) break;
      rest.unshift(basename(probe));
      probe = up;
    }
  }
  const full = join(probe, ...rest);
  if (full.split(sep).some(isGitSegment)) throw new UnsafePathError(dir, "it is inside a '.git' folder");
  for (let d = probe; ; d = dirname(d)) {
    if (looksLikeGitDir(d)) throw new UnsafePathError(dir, `it is inside the Git directory ${d}`);
    if (dirname(d) === d) break;
  }
}

function looksLikeGitDir(d: string): boolean {
  try {
    if (!lstatSync(join(d, 'HEAD')).isFile()) return false;
  } catch {
    return false;
  }
  return existsSync(join(d, 'objects')) || existsSync(join(d, 'commondir')) || existsSync(join(d, 'gitdir'));
}

export function abs(root: string, rel: string): string {
  return rel === '.' ? root : join(root, ...rel.split('/'));
}
