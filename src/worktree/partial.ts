import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MkError } from '../errors/index.js';
import { writeFileAtomicSync } from '../util/fs.js';

/**
 * Folders restored in part (`mk pull -- <path inside a folder>`), in `.git/mk/partial.json`:
 * data path → the version (directory manifest digest) restored from, and the paths inside
 * the folder whose files were placed. The rest of such a folder was never there: a file
 * outside those paths that is absent is "not restored", not deleted by the user.
 *
 * A folder is marked only when mk placed files into a folder that was absent (or already
 * marked for the same version): a folder the user emptied in part is never marked, so no
 * deletion of theirs is hidden. The mark goes when the folder is restored whole (checkout,
 * pull). While it stands, nothing records the folder (mk add, the pre-commit hook): that
 * would record every file not restored as deleted.
 */
export interface PartialMark {
  digest: string;
  /** Paths inside the folder (relative to it) whose files were restored, sorted. */
  restored: string[];
}

const FILE = 'partial.json';

function isMark(v: unknown): v is PartialMark {
  const m = v as PartialMark;
  return !!m && typeof m.digest === 'string' && Array.isArray(m.restored) && m.restored.every((p) => typeof p === 'string');
}

export function readPartialMarks(stateDir: string): Record<string, PartialMark> {
  let text: string;
  try {
    text = readFileSync(join(stateDir, FILE), 'utf8');
  } catch {
    return {};
  }
  try {
    const v = JSON.parse(text) as unknown;
    const out: Record<string, PartialMark> = {};
    if (v && typeof v === 'object') for (const [k, m] of Object.entries(v)) if (isMark(m)) out[k] = m;
    return out;
  } catch {
    return {};
  }
}

export function writePartialMarks(stateDir: string, marks: Record<string, PartialMark>): void {
  if (Object.keys(marks).length === 0) rmSync(join(stateDir, FILE), { force: true });
  else writeFileAtomicSync(join(stateDir, FILE), JSON.stringify(marks, null, 1) + '\n');
}

/** The mark of `path` for version `digest` (undefined: not restored in part, or another version). */
export function partialMark(stateDir: string, path: string, digest: string): PartialMark | undefined {
  const m = readPartialMarks(stateDir)[path];
  return m && m.digest === digest ? m : undefined;
}

/** Forgets the marks of these folders (restored whole); no write when none had one. */
export function forgetPartial(stateDir: string, paths: string[]): void {
  const marks = readPartialMarks(stateDir);
  let changed = false;
  for (const p of paths)
    if (marks[p]) {
      delete marks[p];
      changed = true;
    }
  if (changed) writePartialMarks(stateDir, marks);
}

/** Whether `rel` (relative to the folder) lies under one of the restored paths. */
export function restoredUnder(m: PartialMark, rel: string): boolean {
  return m.restored.some((p) => p === '' || rel === p || rel.startsWith(p + '/'));
}

/** Refuses to record a folder restored in part: the files not restored would be recorded as deleted. */
export function assertNotPartial(stateDir: string, paths: string[]): void {
  const marks = readPartialMarks(stateDir);
  const partial = paths.filter((p) => marks[p]);
  if (!partial.length) return;
  throw new MkError(
    'EPARTIAL',
    `${partial.join(', ')} ${partial.length === 1 ? 'was' : 'were'} restored only in part ('mk pull -- <path inside>'): recording it now would record every file not restored as deleted`,
    {
      hint: `restore the rest first ('mk pull -- ${partial[0]}'), then record your changes`,
      data: { paths: partial },
    },
  );
}

/** A folder moved (mk mv): its mark moves with it. */
export function movePartial(stateDir: string, from: string, to: string): void {
  const marks = readPartialMarks(stateDir);
  if (!marks[from]) return;
  marks[to] = marks[from]!;
  delete marks[from];
  writePartialMarks(stateDir, marks);
}
