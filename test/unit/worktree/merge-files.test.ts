/**
 * The three-way merge of a folder's file lists (src/worktree/merge.ts mergeFiles): a change
 * on one side is taken, the same change on both is taken once, different changes to one
 * path conflict (modify/modify, modify/delete, add/add), and so does a path that would be a
 * file on one side and a folder on the other. The git stories are in test/e2e/git/folder-merge.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mergeFiles } from '../../../src/worktree/merge.js';

const sha = (s: string) => 'sha256:' + createHash('sha256').update(s).digest('hex');
const f = (path: string, v: string, mode = 0o644) => ({ path, mode, size: v.length, digest: sha(v) });

describe('mergeFiles', () => {
  const base = [f('a', 'a0'), f('b', 'b0'), f('c', 'c0'), f('d', 'd0'), f('e', 'e0')];

  it('takes each side’s own changes and identical changes once', () => {
    const ours = [f('a', 'a1'), f('b', 'b0'), f('d', 'd0'), f('e', 'e2'), f('o', 'new')]; // a modified, c deleted, e modified, o added
    const theirs = [f('a', 'a0'), f('b', 'b9'), f('c', 'c0'), f('e', 'e2'), f('t', 'new2')]; // b modified, d deleted, e same as ours, t added
    const r = mergeFiles(base, ours, theirs);
    expect(r.conflicts).toEqual([]);
    expect(r.files.map((x) => [x.path, x.digest, x.from])).toEqual([
      ['a', sha('a1'), 'ours'],
      ['b', sha('b9'), 'theirs'],
      ['e', sha('e2'), 'ours'],
      ['o', sha('new'), 'ours'],
      ['t', sha('new2'), 'theirs'],
    ]);
    expect(r.fromTheirs).toEqual(['b', 'd', 't']);
  });

  it('reports different changes to one path, keeping our version in the partial result', () => {
    const ours = [f('a', 'a1'), f('b', 'b1'), f('c', 'c0'), f('d', 'd0'), f('e', 'e0', 0o755), f('n', 'x')];
    const theirs = [f('a', 'a2'), f('c', 'c0'), f('d', 'd0'), f('e', 'e1'), f('n', 'y')];
    const r = mergeFiles(base, ours, theirs);
    expect(r.conflicts).toEqual([
      { path: 'a', ours: 'modified', theirs: 'modified' },
      { path: 'b', ours: 'modified', theirs: 'deleted' },
      { path: 'e', ours: 'modified', theirs: 'modified' }, // the executable bit is a change too
      { path: 'n', ours: 'added', theirs: 'added' },
    ]);
    expect(r.files.find((x) => x.path === 'a')!.digest).toBe(sha('a1'));
    expect(r.files.find((x) => x.path === 'b')!.digest).toBe(sha('b1'));
  });

  it('a file on one side where the other made a folder of that name conflicts', () => {
    const r = mergeFiles([], [f('x', 'x0'), f('y', 'y')], [f('x/inner', 'i')]);
    expect(r.conflicts).toEqual([{ path: 'x', ours: 'added', theirs: 'unchanged', fileAndFolder: true }]);
  });

  it('with no common base (both branches added the folder), identical files merge and others conflict', () => {
    const r = mergeFiles([], [f('a', '1'), f('b', '2')], [f('a', '1'), f('b', '3'), f('c', '4')]);
    expect(r.conflicts).toEqual([{ path: 'b', ours: 'added', theirs: 'added' }]);
    expect(r.files.map((x) => x.path)).toEqual(['a', 'b', 'c']);
  });
});
