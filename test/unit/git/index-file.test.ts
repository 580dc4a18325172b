/**
 * Git's index file, read and patched in place by mk (src/git/index-file.ts): every index
 * version real git writes (2, 3 with extended flags, 4 with prefix-compressed paths), SHA-1
 * and SHA-256 repositories, the stat patch git then trusts, racy entries smudged as git does,
 * and the cases mk leaves to git (split index, a held lock, a changed entry).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { entryStat, indexLocation, parseIndex, patchIndexStat, readIndexFile, sameStatData, statData } from '../../../src/git/index-file.js';
import { tempDir } from '../../support/repo.js';

const tmp = tempDir('mk-index-');
afterAll(() => tmp.cleanup());
let n = 0;

const ENV = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8' });
}

function repo(format: 'sha1' | 'sha256' = 'sha1'): string {
  const dir = join(tmp.dir, `r${n++}`);
  execFileSync('git', ['init', '-q', `--object-format=${format}`, dir], { env: ENV });
  for (const p of ['a.txt', 'dir/b.txt', 'dir/c.txt', 'dir/sub/deep-name-for-prefix.txt', 'z.txt']) {
    execFileSync('mkdir', ['-p', join(dir, p, '..')]);
    writeFileSync(join(dir, p), `content of ${p}\n`);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'init');
  return dir;
}

/** Dates a file a minute back: older than any index written from now on, so git does not take its entry as racy. */
function datedBack(path: string): void {
  const t = Date.now() / 1000 - 60;
  utimesSync(path, t, t);
}

/** Stages `text` for `path` without stat data (as mk does before patching it), returns the oid. */
function stageWithoutStat(dir: string, path: string, text: string): string {
  const oid = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: dir, env: ENV, input: text, encoding: 'utf8' }).trim();
  git(dir, 'update-index', '--add', '--cacheinfo', `100644,${oid},${path}`);
  return oid;
}

describe('the index file', () => {
  for (const [label, setup] of [
    ['version 2', (d: string) => git(d, 'update-index', '--index-version', '2')],
    [
      'version 3 (an intent-to-add entry has extended flags)',
      (d: string) => {
        writeFileSync(join(d, 'new.txt'), 'x\n');
        git(d, 'add', '-N', 'new.txt');
        git(d, 'update-index', '--index-version', '3');
      },
    ],
    ['version 4 (paths prefix-compressed)', (d: string) => git(d, 'update-index', '--index-version', '4')],
  ] as const) {
    it(`parses ${label} as git lists it, and a stat patch is what git then trusts`, async () => {
      const d = repo();
      setup(d);
      const where = await indexLocation(d);
      const idx = readIndexFile(where.path, where.hashLen)!;
      expect(idx).toBeDefined();
      const listed = git(d, 'ls-files', '-s')
        .trim()
        .split('\n')
        .map((l) => {
          const [meta, path] = l.split('\t');
          return { path, oid: meta!.split(' ')[1] };
        });
      expect(idx.entries.map((e) => ({ path: e.path, oid: e.oid }))).toEqual(listed);

      // The work-tree file now differs from what is staged only in a way mk knows about: the
      // staged blob is not the file's bytes, yet after the patch git takes the file as clean.
      writeFileSync(join(d, 'dir/c.txt'), 'content of dir/c.txt\n'); // same bytes, new stat data
      const oid = stageWithoutStat(d, 'dir/c.txt', 'a different text\n');
      datedBack(join(d, 'dir/c.txt')); // not racy: written well before the index
      const st = lstatSync(join(d, 'dir/c.txt'), { bigint: true });
      expect(patchIndexStat(where.path, where.hashLen, [{ path: 'dir/c.txt', oid, stat: statData(st) }])).toEqual(['dir/c.txt']);
      // git accepts the file (checksum right) and, trusting the stat data, does not read it
      // (entries racy when the patch was written are smudged: git re-reads those, see below).
      expect(git(d, 'diff-files', '--name-only').split('\n')).not.toContain('dir/c.txt');
      expect(git(d, 'diff', '--name-only', '--', 'dir').trim()).toBe('');
      expect(git(d, 'ls-files', '-s', 'dir/c.txt')).toContain(oid);
      const after = readIndexFile(where.path, where.hashLen)!;
      expect(after.version).toBe(idx.version);
      expect(
        sameStatData(
          entryStat(
            after,
            after.entries.find((e) => e.path === 'dir/c.txt')!,
          ),
          statData(st),
        ),
      ).toBe(true);
      git(d, 'fsck', '--no-progress'); // and the index passes git's own checks
      expect(() => git(d, 'status', '--porcelain')).not.toThrow();
    });
  }

  it('works in a SHA-256 repository', async () => {
    const d = repo('sha256');
    const where = await indexLocation(d);
    expect(where.hashLen).toBe(32);
    const oid = stageWithoutStat(d, 'a.txt', 'other\n');
    expect(oid).toHaveLength(64);
    datedBack(join(d, 'a.txt'));
    const st = lstatSync(join(d, 'a.txt'), { bigint: true });
    expect(patchIndexStat(where.path, where.hashLen, [{ path: 'a.txt', oid, stat: statData(st) }])).toEqual(['a.txt']);
    expect(git(d, 'diff-files', '--name-only').split('\n')).not.toContain('a.txt');
    expect(git(d, 'diff', '--name-only').trim()).toBe('');
  });

  it('smudges the entries that were racily clean, so git compares their content', async () => {
    const d = repo();
    const where = await indexLocation(d);
    // Rewrite a file and the index in the same second: git cannot trust that entry's stat data.
    writeFileSync(join(d, 'a.txt'), 'content of a.txt\n');
    git(d, 'update-index', '--refresh');
    const oid = stageWithoutStat(d, 'z.txt', 'z\n');
    const idx = readIndexFile(where.path, where.hashLen)!;
    const a = idx.entries.find((e) => e.path === 'a.txt')!;
    if (a.mtimeSec < idx.mtimeSec) return; // the second turned between the two writes: nothing racy to check
    // Same-size change within the second: only a content check can see it.
    writeFileSync(join(d, 'a.txt'), 'CONTENT OF A.TXT\n');
    patchIndexStat(where.path, where.hashLen, [{ path: 'z.txt', oid, stat: statData(lstatSync(join(d, 'z.txt'), { bigint: true })) }]);
    const after = readIndexFile(where.path, where.hashLen)!;
    expect(after.entries.find((e) => e.path === 'a.txt')!.size).toBe(0);
    expect(git(d, 'diff-files', '--name-only')).toContain('a.txt');
  });

  it('leaves the index to git when git holds its lock, the entry changed meanwhile, or the index is split', async () => {
    const d = repo();
    const where = await indexLocation(d);
    const oid = stageWithoutStat(d, 'a.txt', 'x\n');
    const stat = statData(lstatSync(join(d, 'a.txt'), { bigint: true }));
    const before = readFileSync(where.path);
    writeFileSync(where.path + '.lock', '');
    expect(patchIndexStat(where.path, where.hashLen, [{ path: 'a.txt', oid, stat }])).toEqual([]);
    expect(readFileSync(where.path)).toEqual(before);
    execFileSync('rm', [where.path + '.lock']);
    expect(patchIndexStat(where.path, where.hashLen, [{ path: 'a.txt', oid: '0'.repeat(40), stat }])).toEqual([]);
    expect(existsSync(where.path + '.lock')).toBe(false);
    git(d, 'update-index', '--split-index');
    expect(readIndexFile(where.path, where.hashLen)).toBeUndefined();
    expect(patchIndexStat(where.path, where.hashLen, [{ path: 'a.txt', oid, stat }])).toEqual([]);
  });

  it('refuses malformed bytes without throwing', () => {
    const mtime = { sec: 0, nsec: 0 };
    expect(parseIndex(Buffer.from('not an index at all, not at all'), 20, mtime)).toBeUndefined();
    const d = repo();
    const bytes = readFileSync(join(d, '.git', 'index'));
    expect(parseIndex(bytes.subarray(0, 60), 20, mtime)).toBeUndefined();
    const bad = Buffer.from(bytes);
    bad.writeUInt32BE(1000, 8); // more entries than there are
    expect(parseIndex(bad, 20, mtime)).toBeUndefined();
  });
});
