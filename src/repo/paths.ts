import { lstatSync, realpathSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { UnsafePathError } from '../errors/index.js';

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
  if (posix.split('/').some((s) => s === '.git')) throw new UnsafePathError(input, "it is inside '.git'");
  return posix;
}

/** Validates a repository-relative path found inside repository data (pointers, trees, manifests). */
export function checkStoredPath(rel: string): string {
  if (rel === '' || rel.includes('\0') || rel.includes('\\')) throw new UnsafePathError(rel, 'it is empty or has a NUL or backslash');
  if (rel.startsWith('/') || /^[A-Za-z]:/.test(rel)) throw new UnsafePathError(rel, 'it is absolute');
  const parts = rel.split('/');
  if (parts.some((p) => p === '..' || p === '.' || p === '')) throw new UnsafePathError(rel, "it has '..', '.' or empty segments");
  if (parts.some((p) => p === '.git')) throw new UnsafePathError(rel, "it is inside '.git'");
  return rel;
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

export function abs(root: string, rel: string): string {
  return rel === '.' ? root : join(root, ...rel.split('/'));
}
