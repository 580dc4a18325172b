/**
 * The work-tree rules, on temporary folders, through the verbs called in process (a library
 * user gets the same rules as the CLI): nothing is written outside the repository or through a
 * symlink; the user's changes (an edit, a new file, a symlink put in a folder's place) are
 * never overwritten without `force`, and are reported by status; `force` puts the committed
 * state back exactly. (The CLI's one-line messages for the same cases: test/e2e/core.)
 */
import { readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { add, checkout, init, isMkError, status } from '../../../src/index.js';
import { asRecord, put, snapshotTree } from '../../support/files.js';
import { git, tempDir } from '../../support/repo.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isMkError(e) ? e.code : `not an MkError: ${String(e)}`;
  }
}

describe('the work-tree rules', () => {
  let box: { dir: string; cleanup: () => void };
  let repo: string;
  let outside: string;
  const p = (rel: string) => join(repo, rel);
  let outsideBefore: Record<string, unknown>;
  const expectOutsideUntouched = () => expect(asRecord(snapshotTree(outside))).toEqual(outsideBefore);

  beforeEach(async () => {
    box = tempDir('mk-rules-');
    repo = join(box.dir, 'repo');
    outside = join(box.dir, 'outside');
    put(join(outside, 'secret.bin'), 'not yours');
    outsideBefore = asRecord(snapshotTree(outside));
    git(box.dir, 'init', '-q', '-b', 'main', repo);
    await init({ cwd: repo, filter: false });
    put(p('ds/a.txt'), 'a');
    put(p('ds/sub/b.txt'), 'b');
    put(p('ds/sub/deeper/c.txt'), 'c');
    put(p('w.bin'), 'weights');
    await add(['ds', 'w.bin'], { cwd: repo });
    git(repo, 'commit', '-qm', 'data');
  });
  afterEach(() => box.cleanup());

  it('add refuses paths outside the repository, inside .git, and through a symlinked folder', async () => {
    symlinkSync(outside, p('link'));
    for (const path of ['../outside/secret.bin', join(outside, 'secret.bin'), '..', 'link/secret.bin']) expect(await codeOf(add([path], { cwd: repo })), path).toBe('EUNSAFEPATH');
    expect(await codeOf(add(['.git/config'], { cwd: repo }))).toBe('EUNSAFEPATH');
    expectOutsideUntouched();
    expect(
      readdirSync(repo)
        .filter((f) => f.endsWith('.mk.yaml'))
        .sort(),
    ).toEqual(['ds.mk.yaml', 'w.bin.mk.yaml']);
  });

  it("a user's new file, edit and deletion in a tracked folder: status names each; checkout keeps them; force puts the commit back", async () => {
    const committed = asRecord(snapshotTree(p('ds')));
    put(p('ds/new.txt'), 'mine');
    writeFileSync(p('ds/a.txt'), 'edited');
    rmSync(p('ds/sub/b.txt'));
    const [ds] = await status({ cwd: repo, paths: ['ds'] });
    expect(ds!.workspace).toBe('modified');
    expect(ds!.changes.map((c) => [c.path, c.change]).sort()).toEqual([
      ['a.txt', 'modified'],
      ['new.txt', 'added'],
      ['sub/b.txt', 'removed'],
    ]);
    const mine = asRecord(snapshotTree(p('ds')));
    expect(await codeOf(checkout({ cwd: repo }))).toBe('EUNSAVED');
    expect(asRecord(snapshotTree(p('ds')))).toEqual(mine);
    await checkout({ cwd: repo, force: true });
    expect(asRecord(snapshotTree(p('ds')))).toEqual(committed);
    expect((await status({ cwd: repo })).map((s) => s.workspace)).toEqual(['clean', 'clean']);
  });

  it('a symlink put in place of a folder inside a tracked folder is in the way: never followed, replaced only with force', async () => {
    const committed = asRecord(snapshotTree(p('ds')));
    rmSync(p('ds/sub'), { recursive: true });
    symlinkSync(outside, p('ds/sub'));
    expect(await codeOf(checkout({ cwd: repo }))).toBe('EUNSAVED');
    expectOutsideUntouched();
    await checkout({ cwd: repo, force: true });
    expectOutsideUntouched();
    expect(asRecord(snapshotTree(p('ds')))).toEqual(committed);
  });

  it('data whose parent folder became a symlink in a later commit is refused, and nothing is written through it', async () => {
    put(p('evil/w.bin'), 'weights v1');
    put(p('evil/ds/a.txt'), 'a');
    await add(['evil/w.bin', 'evil/ds'], { cwd: repo });
    git(repo, 'commit', '-qm', 'data under evil/');
    git(repo, 'rm', '-rq', '--cached', 'evil');
    rmSync(p('evil'), { recursive: true });
    symlinkSync(outside, p('evil'));
    git(repo, 'add', 'evil');
    git(repo, 'commit', '-qm', 'evil is a symlink now');
    for (const opts of [{ rev: 'HEAD~1' }, { rev: 'HEAD~1', force: true }, { rev: 'HEAD~1', paths: ['evil/w.bin'] }]) {
      expect(await codeOf(checkout({ cwd: repo, ...opts })), JSON.stringify(opts)).toBe('EUNSAFEPATH');
      expectOutsideUntouched();
    }
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });
});
