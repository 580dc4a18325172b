/**
 * What the hooks read from git's index once per run (src/git/index-identity.ts, memoByIndex):
 * the filtered files' pointers, the staged changes and the `*.mk.yaml` listing are read again
 * as soon as anything was staged since (`git add`, `git update-index`, on the real index or on
 * the temporary one GIT_INDEX_FILE names), and the listing made from one `git ls-files` call is
 * byte for byte what the separate git calls print (quoted names included).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { forgetIndexMemo, indexFilePath, indexIdentity, surelySha1 } from '../../../src/git/index-identity.js';
import { indexLocation } from '../../../src/git/index-file.js';
import { filteredIndexPointers, stagedPointerListing, unquoteGitPath, workspacePointerPaths } from '../../../src/git/pointers.js';
import { pointerStateList } from '../../../src/git/pointer-state.js';
import { stagedChanges, stagedPaths } from '../../../src/git/staged.js';
import { serializePointer } from '../../../src/formats/pointer.js';
import { tempDir } from '../../support/repo.js';

const tmp = tempDir('mk-index-memo-');
afterAll(() => tmp.cleanup());
afterEach(() => {
  delete process.env.GIT_INDEX_FILE;
  forgetIndexMemo();
});
let n = 0;

const ENV = { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
function git(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...ENV }, encoding: 'utf8', input });
}

function repo(): string {
  const dir = join(tmp.dir, `r${n++}`);
  execFileSync('git', ['init', '-q', dir], { env: { ...process.env, ...ENV } });
  writeFileSync(join(dir, '.gitattributes'), '*.bin filter=mk\n');
  writeFileSync(join(dir, 'code.py'), 'print(1)\n');
  git(dir, ['add', '.gitattributes', 'code.py']);
  git(dir, ['commit', '-q', '-m', 'one']);
  return dir;
}

/** A pointer for `path` staged the way git's clean filter would leave it (no filter driver needed). */
function stagePointer(dir: string, path: string, digestByte: string, size = 1000): void {
  const text = serializePointer({ version: 1, kind: 'model', type: 'file', digest: `sha256:${digestByte.repeat(64)}`, size });
  const oid = git(dir, ['hash-object', '-w', '--stdin'], text).trim();
  git(dir, ['update-index', '--add', '--cacheinfo', `100644,${oid},${path}`]);
}

const digests = async (dir: string) => (await filteredIndexPointers(dir)).map((t) => `${t.path} ${t.pointer.digest.slice(7, 9)}`).sort();

describe('the index memo', () => {
  it('reads the filtered pointers once while the index stays the same', async () => {
    const dir = repo();
    stagePointer(dir, 'a.bin', 'a');
    const first = indexIdentity(dir);
    expect(await digests(dir)).toEqual(['a.bin aa']);
    expect(indexIdentity(dir)).toBe(first);
    expect(await digests(dir)).toEqual(['a.bin aa']);
  });

  it('sees a pointer staged after the first read (git update-index, as the hook stages one)', async () => {
    const dir = repo();
    stagePointer(dir, 'a.bin', 'a');
    expect(await digests(dir)).toEqual(['a.bin aa']);
    stagePointer(dir, 'b.bin', 'b');
    expect(await digests(dir)).toEqual(['a.bin aa', 'b.bin bb']);
    // The same path, a pointer of the same length: only the index's content tells them apart.
    stagePointer(dir, 'a.bin', 'c');
    expect(await digests(dir)).toEqual(['a.bin cc', 'b.bin bb']);
    git(dir, ['rm', '-q', '--cached', 'b.bin']);
    expect(await digests(dir)).toEqual(['a.bin cc']);
  });

  it('follows GIT_INDEX_FILE (git commit -a, git commit <paths>): a temporary index is its own', async () => {
    const dir = repo();
    stagePointer(dir, 'a.bin', 'a');
    expect(await digests(dir)).toEqual(['a.bin aa']);
    const temp = join(dir, '.git', 'next-index-1.lock');
    copyFileSync(join(dir, '.git', 'index'), temp);
    process.env.GIT_INDEX_FILE = temp;
    expect(indexFilePath(dir)).toBe(temp);
    stagePointer(dir, 'b.bin', 'b'); // git (and the test's git) writes the temporary index
    expect(await digests(dir)).toEqual(['a.bin aa', 'b.bin bb']);
    delete process.env.GIT_INDEX_FILE;
    expect(await digests(dir)).toEqual(['a.bin aa']);
  });

  it('reads the filtered pointers again when .gitattributes changes', async () => {
    const dir = repo();
    stagePointer(dir, 'a.bin', 'a');
    stagePointer(dir, 'm.dat', 'd');
    expect(await digests(dir)).toEqual(['a.bin aa']);
    writeFileSync(join(dir, '.gitattributes'), '*.bin filter=mk\n*.dat filter=mk\n');
    expect(await digests(dir)).toEqual(['a.bin aa', 'm.dat dd']);
  });

  it('reads the staged changes once, and again after git add', async () => {
    const dir = repo();
    writeFileSync(join(dir, 'code.py'), 'print(2)\n');
    writeFileSync(join(dir, 'new.py'), 'print(3)\n');
    git(dir, ['add', 'code.py', 'new.py']);
    expect(await stagedChanges(dir)).toEqual([
      { status: 'M', path: 'code.py' },
      { status: 'A', path: 'new.py' },
    ]);
    expect(await stagedPaths(dir, 'A')).toEqual(['new.py']);
    git(dir, ['rm', '-q', '--cached', '.gitattributes']);
    writeFileSync(join(dir, 'later.py'), 'print(4)\n');
    git(dir, ['add', 'later.py']);
    expect(await stagedPaths(dir, 'D')).toEqual(['.gitattributes']);
    expect(await stagedPaths(dir, 'AM')).toEqual(['code.py', 'later.py', 'new.py']);
  });

  it("makes git's own texts from one ls-files call: the -s listing, the pointer state, the pointer paths (quoted names too)", async () => {
    const dir = repo();
    const names = ['plain.mk.yaml', 'a b/x.mk.yaml', 'q"t.mk.yaml', 'é.mk.yaml', 'back\\slash.mk.yaml', 'tab\tname.mk.yaml'];
    mkdirSync(join(dir, 'a b'));
    for (const p of names) writeFileSync(join(dir, p), `mk: 1\n# ${p}\n`);
    git(dir, ['add', '--', ...names.slice(0, 4)]);
    writeFileSync(join(dir, 'untracked.mk.yaml'), 'mk: 1\n');
    expect((await workspacePointerPaths(dir)).sort()).toEqual([...names, 'untracked.mk.yaml'].sort());
    expect(await stagedPointerListing(dir)).toBe(git(dir, ['ls-files', '-s', '--', '*.mk.yaml']));
    expect(pointerStateList(await stagedPointerListing(dir))).toBe(git(dir, ['ls-files', '--format=%(objectname) %(path)', '--', '*.mk.yaml']));
    // Staged since the listing: read again.
    git(dir, ['add', '--', ...names.slice(4)]);
    expect(await stagedPointerListing(dir)).toBe(git(dir, ['ls-files', '-s', '--', '*.mk.yaml']));
    expect(pointerStateList(await stagedPointerListing(dir))).toBe(git(dir, ['ls-files', '--format=%(objectname) %(path)', '--', '*.mk.yaml']));
  });

  it('unquotes the paths git quotes', () => {
    expect(unquoteGitPath('plain name')).toBe('plain name');
    expect(unquoteGitPath('"q\\"t"')).toBe('q"t');
    expect(unquoteGitPath('"\\303\\251"')).toBe('é');
    expect(unquoteGitPath('"a\\tb\\nc\\\\d"')).toBe('a\tb\nc\\d');
  });

  it('finds the index without git where git would: a repository, a linked worktree, GIT_INDEX_FILE; SHA-256 is left to git', async () => {
    const dir = repo();
    const byGit = (cwd: string) => {
      const [path, format] = git(cwd, ['rev-parse', '--git-path', 'index', '--show-object-format']).split('\n');
      return { path: resolve(cwd, path!), hashLen: format === 'sha256' ? 32 : 20 };
    };
    expect(surelySha1(dir)).toBe(true);
    expect(await indexLocation(dir)).toEqual(byGit(dir));
    const wt = join(tmp.dir, `wt${n++}`);
    git(dir, ['worktree', 'add', '-q', wt]);
    expect(surelySha1(wt)).toBe(true);
    expect(await indexLocation(wt)).toEqual(byGit(wt));
    expect(indexFilePath(wt)).not.toBe(indexFilePath(dir));
    for (const index of [join(dir, '.git', 'next-index-7.lock'), '.git/next-index-8.lock']) {
      process.env.GIT_INDEX_FILE = index;
      expect(await indexLocation(dir)).toEqual(byGit(dir));
    }
    delete process.env.GIT_INDEX_FILE;
    const sha256 = join(tmp.dir, `s${n++}`);
    execFileSync('git', ['init', '-q', '--object-format=sha256', sha256], { env: { ...process.env, ...ENV } });
    expect(surelySha1(sha256)).toBe(false);
    expect(await indexLocation(sha256)).toEqual({ path: join(sha256, '.git', 'index'), hashLen: 32 });
  });
});
