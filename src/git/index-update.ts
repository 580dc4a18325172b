import { lstatSync } from 'node:fs';
import { abs } from '../repo/paths.js';
import { git } from './run.js';

/**
 * Changes the index in one step (one `git update-index`, under one index.lock): the entries
 * at or under `remove` leave it and the work-tree files `add` enter it. A process killed
 * before that step leaves the index as it was, never with data unstaged and its pointer not
 * yet staged. Follows GIT_INDEX_FILE (a hook's temporary index) like any git command.
 */
export async function updateIndex(root: string, remove: string[], add: string[]): Promise<void> {
  if (remove.length === 0 && add.length === 0) return;
  const lines: string[] = [];
  const adding = new Set(add);
  if (remove.length) {
    const inIndex = (await git(root, ['--literal-pathspecs', 'ls-files', '-z', '--cached', '--', ...remove])).split('\0').filter(Boolean);
    for (const p of new Set(inIndex)) if (!adding.has(p)) lines.push(`0 ${'0'.repeat(40)}\t${p}`);
  }
  if (add.length) {
    const oids = (await git(root, ['hash-object', '-w', '--no-filters', '--stdin-paths'], { input: add.join('\n') + '\n' })).split('\n').filter(Boolean);
    add.forEach((p, i) => {
      const exec = (lstatSync(abs(root, p)).mode & 0o111) !== 0;
      lines.push(`${exec ? '100755' : '100644'} ${oids[i]}\t${p}`);
    });
  }
  if (lines.length) await git(root, ['update-index', '-z', '--index-info'], { input: lines.join('\0') + '\0' });
}
