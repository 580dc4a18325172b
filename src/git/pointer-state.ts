import { lstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { blobId } from './blob-id.js';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../util/fs.js';
import { git } from './run.js';
import { stagedPointerListing } from './pointers.js';

/**
 * `.git/mk/pointers` (per worktree): the pointers (blob id and path, as `git ls-files --format`
 * prints them) whose data is in place. Git's reference-transaction hook runs on every ref
 * update; its shim compares the index, and the commit HEAD moved to, with this list and starts
 * mk only when both differ. Every mk command that changes pointers or data records it again;
 * when the work-tree pointers are not the index's it is removed (mk then runs: slower, never wrong).
 */
export const POINTER_STATE = 'pointers';

const FORMAT = '--format=%(objectname) %(path)';

export async function recordPointerState(root: string, stateDir: string, opts: { forget?: boolean } = {}): Promise<void> {
  const file = join(stateDir, POINTER_STATE);
  try {
    const list = opts.forget ? undefined : pointerStateList(await stagedPointerListing(root));
    if (list !== undefined && workTreeMatches(root, list)) {
      mkdirSync(stateDir, { recursive: true });
      writeFileAtomicSync(file, list);
      return;
    }
  } catch {
    /* forgotten below */
  }
  rmSync(file, { force: true });
}

/**
 * `git ls-files --format='%(objectname) %(path)' -- '*.mk.yaml'` (what the shim compares)
 * made from `git ls-files -s`'s lines ('<mode> <oid> <stage>\t<path>', the path quoted the
 * same way): byte for byte the same text, without a git call of its own.
 */
export function pointerStateList(staged: string): string {
  let out = '';
  for (const line of staged.split('\n')) {
    if (!line) continue;
    const tab = line.indexOf('\t');
    out += `${line.slice(0, tab).split(' ')[1]} ${line.slice(tab + 1)}\n`;
  }
  return out;
}

/**
 * The work tree's pointer files must be the index's (what `git diff` would say, one git call less):
 * each file's blob id is compared with the index's; anything else (missing, a link, other bytes) forgets.
 */
function workTreeMatches(root: string, list: string): boolean {
  for (const line of list.split('\n')) {
    if (!line) continue;
    const sp = line.indexOf(' ');
    const oid = line.slice(0, sp);
    const p = join(root, line.slice(sp + 1));
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st?.isFile() || blobId(readFileSync(p), oid.length) !== oid) return false;
  }
  return true;
}

/**
 * True when the recorded pointers are those of the index, or of commit `to` (inside `git
 * commit`, whose pre-commit hook recorded the data of the new commit's pointers): the data
 * follows them already. The shim (hooks/reference-transaction) makes the same check in shell.
 */
export async function pointersInPlace(root: string, stateDir: string, to: string): Promise<boolean> {
  let recorded: string;
  try {
    recorded = readFileSync(join(stateDir, POINTER_STATE), 'utf8');
  } catch {
    return false;
  }
  try {
    if ((await git(root, ['ls-files', FORMAT, '--', '*.mk.yaml'])) === recorded) return true;
    const lines = (await git(root, ['ls-tree', '-r', FORMAT, to])).split('\n').filter((l) => l.endsWith('.mk.yaml'));
    return (lines.length ? lines.join('\n') + '\n' : '') === recorded;
  } catch {
    return false; // a git older than 2.38 (no --format): mk looks itself
  }
}
