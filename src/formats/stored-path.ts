import { UnsafePathError } from '../errors/index.js';

/**
 * True for a path segment that Git (or a case-insensitive, NTFS or HFS+ filesystem) would
 * take for `.git`: any case, trailing dots and spaces (NTFS), the 8.3 name `git~1`, and the
 * zero-width characters HFS+ ignores. Nothing from outside may create or write through one.
 */
export function isGitSegment(seg: string): boolean {
  const s = seg
    .replace(/[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g, '')
    .replace(/[. ]+$/, '')
    .toLowerCase();
  return s === '.git' || s === 'git~1';
}

/** Validates a repository-relative path found inside repository data (pointers, trees, manifests). */
export function checkStoredPath(rel: string): string {
  if (rel === '' || rel.includes('\0') || rel.includes('\\')) throw new UnsafePathError(rel, 'it is empty or has a NUL or backslash');
  if (rel.startsWith('/') || /^[A-Za-z]:/.test(rel)) throw new UnsafePathError(rel, 'it is absolute');
  const parts = rel.split('/');
  if (parts.some((p) => p === '..' || p === '.' || p === '')) throw new UnsafePathError(rel, "it has '..', '.' or empty segments");
  if (parts.some(isGitSegment)) throw new UnsafePathError(rel, "it is inside '.git'");
  return rel;
}

/**
 * The path rule for entries of a tar from outside (a ModelKit layer, a pack): `.` and `..`
 * segments are resolved as a shell would, and the result must stay inside, be relative, have
 * no NUL or backslash and no `.git` segment in any form. Returns the clean path ('.' for the
 * root itself).
 */
export function cleanEntryName(name: string): string {
  if (name.includes('\0') || name.includes('\\')) throw new UnsafePathError(name, 'it has a NUL or backslash');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw new UnsafePathError(name, 'absolute path in the ModelKit or pack');
  const parts: string[] = [];
  for (const s of name.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (parts.length === 0) throw new UnsafePathError(name, 'it escapes the target directory');
      parts.pop();
    } else parts.push(s);
  }
  if (parts.some(isGitSegment)) throw new UnsafePathError(name, "it writes into a '.git' folder");
  return parts.join('/') || '.';
}
