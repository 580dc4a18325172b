import * as fs from 'node:fs';
import { dataPathFor, isPointerPath, MAX_POINTER_BYTES, parsePointer } from '../formats/pointer.js';
import { readBlob } from './objects.js';
import type { TrackedPointer } from './pointers.js';
import { git } from './run.js';

/**
 * Every commit a repository can still reach on its own: from any ref (branches, tags,
 * remote-tracking refs, the stash) and from any reflog entry (what `git reset` or a rebase
 * left behind, which git itself keeps until its reflogs expire). `gitDir` is the common git
 * directory, so every worktree's HEAD and reflog count too.
 */
export async function reachableCommits(gitDir: string): Promise<string[]> {
  const out = await git(gitDir, ['--git-dir', gitDir, 'rev-list', '--all', '--reflog', '--ignore-missing'], { okCodes: [128] });
  return out.split('\n').filter((l) => /^[0-9a-f]{40,64}$/.test(l));
}

/** Commits of the chosen kinds of ref (branch tips, tag targets), or every reachable commit. */
export async function refCommits(gitDir: string, which: 'branches' | 'tags' | 'all'): Promise<string[]> {
  if (which === 'all') return (await git(gitDir, ['--git-dir', gitDir, 'rev-list', '--all'], { okCodes: [128] })).split('\n').filter(Boolean);
  const out = await git(gitDir, [
    '--git-dir',
    gitDir,
    'for-each-ref',
    which === 'branches' ? '--format=%(objectname)' : '--format=%(*objectname) %(objectname)',
    which === 'branches' ? 'refs/heads/' : 'refs/tags/',
  ]);
  return out
    .split('\n')
    .map((l) => l.trim().split(' ')[0]!)
    .filter((c) => /^[0-9a-f]{40,64}$/.test(c));
}

export interface Worktree {
  root: string;
  head?: string;
}

/** The work trees of a repository (the main one and every linked one), with their HEAD commits. */
export async function worktrees(gitDir: string): Promise<Worktree[]> {
  const out = await git(gitDir, ['--git-dir', gitDir, 'worktree', 'list', '--porcelain']);
  const list: Worktree[] = [];
  let cur: (Worktree & { bare?: boolean; prunable?: boolean }) | undefined;
  for (const line of [...out.split('\n'), '']) {
    if (line.startsWith('worktree ')) cur = { root: line.slice('worktree '.length) };
    else if (cur && line.startsWith('HEAD ')) cur.head = line.slice(5).trim();
    else if (cur && line === 'bare') cur.bare = true;
    else if (cur && line.startsWith('prunable')) cur.prunable = true;
    else if (line === '' && cur) {
      if (!cur.bare && !cur.prunable && fs.existsSync(cur.root)) list.push({ root: cur.root, head: cur.head && /^0+$/.test(cur.head) ? undefined : cur.head });
      cur = undefined;
    }
  }
  return list;
}

/** The pointers staged in a work tree's index (what `mk add` staged but nobody committed yet). */
export async function indexPointers(root: string, gitDir: string): Promise<TrackedPointer[]> {
  const out = await git(root, ['ls-files', '-s', '-z', '--', '*.mk.yaml']);
  const found: TrackedPointer[] = [];
  for (const entry of out.split('\0').filter(Boolean)) {
    const tab = entry.indexOf('\t');
    const path = entry.slice(tab + 1);
    const oid = entry.slice(0, tab).split(' ')[1]!;
    if (!isPointerPath(path)) continue;
    try {
      const blob = await readBlob(gitDir, oid);
      if (blob.length > MAX_POINTER_BYTES) continue;
      const text = Buffer.from(blob).toString('utf8');
      found.push({ path: dataPathFor(path), pointerPath: path, text, pointer: parsePointer(text, `${path} (staged)`) });
    } catch {
      /* a conflicted or broken staged pointer names nothing we can keep */
    }
  }
  return found;
}
