import { lstatSync, readFileSync } from 'node:fs';
import { UnsafePathError } from '../errors/index.js';
import { writeFileAtomic } from '../util/fs.js';
import { abs } from './paths.js';

/** Escapes a file name for a .gitignore line that matches exactly that name. */
export function ignoreLine(name: string): string {
  // A line break would end the pattern and start another, chosen by whoever named the file.
  if (/[\n\r]/.test(name)) throw new UnsafePathError(name, 'its name has a line break, which a .gitignore line cannot hold; rename it');
  let s = name.replace(/[\\*?[\]!#]/g, (c) => '\\' + c);
  s = s.replace(/ +$/, (m) =>
    m
      .split('')
      .map(() => '\\ ')
      .join(''),
  );
  return '/' + s;
}

/**
 * Makes sure `<dir>/.gitignore` ignores the artifact at `rel` (an anchored entry in the
 * .gitignore of its own folder, as DVC does). Returns the .gitignore path if it changed.
 */
export async function ensureIgnored(root: string, rel: string): Promise<string | undefined> {
  const { file, name } = ignoreFileOf(rel);
  const text = readIgnoreFile(root, file) ?? '';
  const line = ignoreLine(name);
  if (text.split(/\r?\n/).includes(line)) return undefined;
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  await writeFileAtomic(abs(root, file), `${text}${sep}${line}\n`);
  return file;
}

/**
 * Takes the artifact at `rel` out of its folder's .gitignore (the line ensureIgnored wrote).
 * Returns the .gitignore path if it changed.
 */
export async function removeIgnored(root: string, rel: string): Promise<string | undefined> {
  const { file, name } = ignoreFileOf(rel);
  const text = readIgnoreFile(root, file);
  if (text === undefined) return undefined;
  const line = ignoreLine(name);
  const next = text
    .split('\n')
    .filter((l) => l !== line)
    .join('\n');
  if (next === text) return undefined;
  await writeFileAtomic(abs(root, file), next);
  return file;
}

/**
 * The text of a .gitignore mk is about to edit (undefined when there is none). Only a regular
 * file: a committed symlink would make mk copy whatever it points at into the repository.
 */
export function readIgnoreFile(root: string, file: string): string | undefined {
  let st;
  try {
    st = lstatSync(abs(root, file));
  } catch {
    return undefined;
  }
  if (!st.isFile()) throw new UnsafePathError(file, `it is ${st.isSymbolicLink() ? 'a symlink' : 'not a regular file'}; mk edits only regular .gitignore files (replace it with one)`);
  return readFileSync(abs(root, file), 'utf8');
}

/** The .gitignore that holds the line for artifact `rel`, and the name the line matches. */
export function ignoreFileOf(rel: string): { file: string; name: string } {
  const slash = rel.lastIndexOf('/');
  return { file: slash < 0 ? '.gitignore' : `${rel.slice(0, slash)}/.gitignore`, name: rel.slice(slash + 1) };
}

/** Throws, before anything is written, when mk could not keep `rel` out of Git with a .gitignore line. */
export function checkIgnorable(root: string, rel: string): void {
  const { file, name } = ignoreFileOf(rel);
  ignoreLine(name);
  readIgnoreFile(root, file);
}

/** Whether a .gitignore text already holds the line that ignores `name`. */
export function ignores(text: string | undefined, name: string): boolean {
  return text !== undefined && text.split(/\r?\n/).includes(ignoreLine(name));
}

/**
 * The first line of a folder's marker: the `.gitignore` mk writes inside a tracked folder. It
 * keeps every other entry of the folder out of Git, and being a file Git tracks, it makes the
 * folder Git's to move: `git mv data/imgs data/pics`, or `mv` then `git add -A`, moves the
 * marker and leaves the data ignored, and the pre-commit hook records the move of the
 * dataset (see docs/spec/folder-marker.md). A `.gitignore` that does not start with it is data.
 */
export const MARKER_HEADER = "# mk: this folder's data is tracked by mk, by the pointer file beside it (<folder>.mk.yaml); Git ignores everything else in it";

/** The marker's whole text: everything in the folder ignored, except the marker itself. */
export const MARKER_TEXT = `${MARKER_HEADER}\n/*\n!/.gitignore\n`;

/** Where the marker of folder `rel` is. */
export function folderMarkerOf(rel: string): string {
  return `${rel}/.gitignore`;
}

/** Whether `absFile` is an mk folder marker (a regular file that starts with MARKER_HEADER). */
export function isFolderMarker(absFile: string): boolean {
  let st;
  try {
    st = lstatSync(absFile);
  } catch {
    return false;
  }
  if (!st.isFile() || st.size < MARKER_HEADER.length || st.size > 4096) return false;
  try {
    return readFileSync(absFile, 'utf8').startsWith(MARKER_HEADER + '\n');
  } catch {
    return false;
  }
}

/** Whether folder `rel` (a real folder, never through a link) holds mk's marker. */
export function hasFolderMarker(root: string, rel: string): boolean {
  return !!lstatSync(abs(root, rel), { throwIfNoEntry: false })?.isDirectory() && isFolderMarker(abs(root, folderMarkerOf(rel)));
}

/**
 * Keeps artifact `rel` out of Git: a folder gets its marker (unless the folder holds a
 * `.gitignore` of its own, which is data, or the repository still uses DVC, which hashes every
 * file of an output folder: then a line in the parent's .gitignore, as for a file). Returns the
 * file written (to be staged), if any.
 */
export async function keepOutOfGit(root: string, rel: string, folder: boolean): Promise<string | undefined> {
  // A link where the folder is (its data on another disk) is never written through.
  if (!folder || lstatSync(abs(root, rel), { throwIfNoEntry: false })?.isSymbolicLink()) return ensureIgnored(root, rel);
  if (lstatSync(abs(root, '.dvc'), { throwIfNoEntry: false })?.isDirectory() && !isFolderMarker(abs(root, folderMarkerOf(rel)))) return ensureIgnored(root, rel);
  const marker = folderMarkerOf(rel);
  const p = abs(root, marker);
  if (isFolderMarker(p)) return undefined;
  let st;
  try {
    st = lstatSync(p);
  } catch {
    /* none yet */
  }
  if (st) return ensureIgnored(root, rel); // the folder's own .gitignore, part of its data
  await writeFileAtomic(p, MARKER_TEXT);
  return marker;
}
