/**
 * Moving in from Git LFS (issue 24). A repository is built with real git-lfs: several commits by
 * two authors change a model and a dataset file (one kept by a nested .gitattributes, one
 * executable), a side branch is merged, an annotated tag names an old commit, and a file that
 * only looks like an LFS pointer is committed outside `filter=lfs`. `mk migrate --from-lfs
 * --history --everything` rewrites it: every commit keeps its message, authors and dates,
 * every version of the data checks out byte for byte through mk's filter once Git LFS and its
 * objects are gone, and a clone restores every commit from an mk remote. The work-tree mode,
 * the refusals (a dirty work tree, a missing object) and the way back are tested too.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRepo, expectMkError, tempDir } from '../../support/repo.js';
import { env, g, gitRun, identify, mk, mkRun } from '../git/support.js';

const tmp = tempDir('mk-from-lfs-');
afterAll(() => tmp.cleanup());
const root = tmp.dir;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function seeded(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
}

/** Commits by a given author at a given time. */
function commitAs(dir: string, who: 'alice' | 'bob', when: number, message: string, ...args: string[]): void {
  const name = who === 'alice' ? 'Alice Ä' : 'Bob';
  const date = `${when} +0200`;
  const r = gitRun(dir, ['commit', '-q', ...args, '-m', message], { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: `${who}@example.com`, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: `${when + 60} +0200` });
  if (r.status !== 0) throw new Error(`commit failed: ${r.stderr}${r.stdout}`);
}

const LOG = '%an|%ae|%ad|%cn|%ce|%cd|%B';
/** Each commit of `rev`'s history (oldest first): who, when and what it says. */
function history(dir: string, rev: string): string[] {
  return g(dir, 'log', '--reverse', '--date=raw', `--format=${LOG}%x00`, rev)
    .split('\0\n')
    .map((s) => s.replace(/\0$/, ''))
    .filter(Boolean);
}

/** The files of the work tree that are data here (path -> sha256). */
function data(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of ['model.bin', 'tools/run.bin', 'sub/part.dat', 'fixture.txt']) if (existsSync(join(dir, p))) out[p] = sha(readFileSync(join(dir, p)));
  return out;
}

function lfsPointerText(b: Buffer): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha(b)}\nsize ${b.length}\n`;
}

describe('mk migrate --from-lfs --history on a repository built with Git LFS', () => {
  let R: string;
  let commits: string[];
  /** commit (old id) -> its data files as Git LFS checks them out. */
  const expected = new Map<string, Record<string, string>>();
  let oldLog: string[];
  let oldFeatureLog: string[];
  const oldRefs: Record<string, string> = {};

  beforeAll(() => {
    R = join(root, 'proj');
    mkdirSync(R);
    g(R, 'init', '-q', '-b', 'main');
    identify(R);
    g(R, 'lfs', 'install', '--local');
    g(R, 'lfs', 'track', '*.bin');
    mkdirSync(join(R, 'sub'));
    writeFileSync(join(R, 'sub', '.gitattributes'), '*.dat filter=lfs diff=lfs merge=lfs -text\n');
    writeFileSync(join(R, 'model.bin'), seeded(300_000, 1));
    // Looks like a pointer, but no filter=lfs line covers it: it stays what it is.
    writeFileSync(join(R, 'fixture.txt'), lfsPointerText(Buffer.from('not data')));
    writeFileSync(join(R, 'train.py'), 'print("v1")\n');
    g(R, 'add', '-A');
    commitAs(R, 'alice', 1_600_000_000, 'first model\n\nwith a body line');
    writeFileSync(join(R, 'model.bin'), seeded(200_000, 2));
    writeFileSync(join(R, 'sub', 'part.dat'), seeded(40_000, 3));
    mkdirSync(join(R, 'tools'));
    writeFileSync(join(R, 'tools', 'run.bin'), seeded(5_000, 4));
    chmodSync(join(R, 'tools', 'run.bin'), 0o755);
    g(R, 'add', '-A');
    commitAs(R, 'bob', 1_600_100_000, 'second model, a dataset and a tool');
    g(R, 'tag', '-a', 'v2', '-m', 'release 2');
    g(R, 'switch', '-q', '-c', 'feature');
    writeFileSync(join(R, 'sub', 'part.dat'), seeded(45_000, 5));
    g(R, 'add', '-A');
    commitAs(R, 'bob', 1_600_200_000, 'feature: more data');
    g(R, 'switch', '-q', 'main');
    writeFileSync(join(R, 'train.py'), 'print("v3")\n');
    commitAs(R, 'alice', 1_600_300_000, 'code only', '-a');
    writeFileSync(join(R, 'model.bin'), seeded(250_000, 6));
    commitAs(R, 'alice', 1_600_400_000, 'third model: ümlaut in the message', '-a');
    const m = gitRun(R, ['merge', '-q', '--no-ff', '-m', 'merge feature', 'feature'], { GIT_AUTHOR_DATE: '1600500000 +0000', GIT_COMMITTER_DATE: '1600500000 +0000' });
    expect(m.status, m.stderr).toBe(0);
    commits = g(R, 'rev-list', '--reverse', '--topo-order', 'main').split('\n').filter(Boolean);
    expect(commits.length, g(R, 'log', '--oneline', '--graph', 'main')).toBe(6);
    for (const c of commits) {
      g(R, 'checkout', '-q', c);
      expected.set(c, data(R));
    }
    g(R, 'checkout', '-q', 'main');
    // every version differs: the test would see a wrong one
    expect(new Set([...expected.values()].map((d) => d['model.bin'])).size).toBe(3);
    // (git lfs ls-files lists the look-alike too: it reads every small blob, whatever the attributes say)
    const lfsFiles = g(R, 'lfs', 'ls-files', '--all', '--long')
      .split('\n')
      .filter((l) => /\.(bin|dat)$/.test(l));
    expect(new Set(lfsFiles.map((l) => l.split(' ')[0])).size).toBe(6);
    oldLog = history(R, 'main');
    oldFeatureLog = history(R, 'feature');
    for (const r of ['refs/heads/main', 'refs/heads/feature', 'refs/tags/v2']) oldRefs[r] = g(R, 'rev-parse', r).trim();
    // mk in this clone (its hooks chain Git LFS's), and a commit that sets it up
    expect(mkRun(R, ['init']).status).toBe(0);
    expect(mkRun(R, ['install']).status).toBe(0);
    g(R, 'add', '-A');
    commitAs(R, 'alice', 1_600_600_000, 'mk init');
    expected.set(g(R, 'rev-parse', 'HEAD').trim(), data(R));
    commits = g(R, 'rev-list', '--reverse', '--topo-order', 'main').split('\n').filter(Boolean);
    oldLog = history(R, 'main');
    oldRefs['refs/heads/main'] = g(R, 'rev-parse', 'main').trim();
  });

  it('refuses a dirty work tree, and changes nothing', () => {
    writeFileSync(join(R, 'train.py'), 'print("edit")\n');
    const r = mkRun(R, ['migrate', '--from-lfs', '--history']);
    expectMkError(r, 'the work tree has changes that are not committed (train.py)');
    expect(r.stderr).toMatch(/^hint: commit or stash them/m);
    g(R, 'checkout', '--', 'train.py');
    expect(g(R, 'rev-parse', 'main').trim()).toBe(oldRefs['refs/heads/main']);
  });

  it('refuses when an LFS object is missing, naming it, before any ref moves', () => {
    const copy = copyRepo(R);
    try {
      const oid = expected.get(commits[0]!)!['model.bin']!;
      rmSync(join(copy.dir, '.git', 'lfs', 'objects', oid.slice(0, 2), oid.slice(2, 4), oid));
      const r = mkRun(copy.dir, ['migrate', '--from-lfs', '--history', '--everything']);
      expectMkError(r, `1 Git LFS object(s) are not in ${join(copy.dir, '.git', 'lfs')} (first: sha256:${oid}, 300000 bytes)`);
      expect(r.stderr).toMatch(/git lfs fetch --all/);
      expect(g(copy.dir, 'rev-parse', 'main').trim()).toBe(oldRefs['refs/heads/main']);
      expect(g(copy.dir, 'for-each-ref', 'refs/mk-migrate-backup')).toBe('');
    } finally {
      copy.cleanup();
    }
  });

  it('--dry-run says what it would rewrite and writes nothing', () => {
    const r = mkRun(R, ['migrate', '--from-lfs', '--history', '--everything', '--dry-run']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^would rewrite 7 of 7 commits/m);
    expect(g(R, 'for-each-ref', 'refs/mk-migrate-backup')).toBe('');
    expect(g(R, 'rev-parse', 'main').trim()).toBe(oldRefs['refs/heads/main']);
  });

  it('rewrites every branch and tag: the same commits, messages, authors and dates, mk pointers instead of LFS pointers', () => {
    const r = mkRun(R, ['migrate', '--from-lfs', '--history', '--everything', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.commits).toBe(7);
    expect(j.rewritten).toBe(7);
    expect(j.objects).toBe(6);
    expect(j.copied).toBe(6);
    expect(j.refs.map((x: { ref: string }) => x.ref).sort()).toEqual(['refs/heads/feature', 'refs/heads/main', 'refs/tags/v2']);
    expect(j.warnings).toEqual([]);
    expect(history(R, 'main')).toEqual(oldLog);
    expect(history(R, 'feature')).toEqual(oldFeatureLog);
    expect(g(R, 'cat-file', '-p', 'v2').split('\n').slice(2).join('\n')).toBe(g(R, 'cat-file', '-p', oldRefs['refs/tags/v2']!).split('\n').slice(2).join('\n'));
    // the old refs are kept, as printed
    for (const [ref, old] of Object.entries(oldRefs)) expect(g(R, 'rev-parse', `${j.backup}/${ref.slice(5)}`).trim()).toBe(old);
    // the merge keeps two parents; every tree differs only in LFS files and .gitattributes
    const newCommits = g(R, 'rev-list', '--reverse', '--topo-order', 'main').split('\n').filter(Boolean);
    expect(g(R, 'rev-list', '--parents', '-n1', 'main~1').trim().split(' ').length).toBe(3);
    newCommits.forEach((c, i) => {
      const changed = g(R, 'diff-tree', '-r', '--name-only', '--no-commit-id', commits[i]!, c).split('\n').filter(Boolean);
      for (const p of changed) expect(['model.bin', 'sub/part.dat', 'tools/run.bin', '.gitattributes', 'sub/.gitattributes']).toContain(p);
    });
    // no LFS pointer is left where LFS kept files; the look-alike is untouched
    for (const c of newCommits) {
      for (const p of g(R, 'ls-tree', '-r', '--name-only', c)
        .split('\n')
        .filter((x) => /\.(bin|dat)$/.test(x)))
        expect(g(R, 'show', `${c}:${p}`)).toMatch(/^mk: 1$/m);
      expect(g(R, 'show', `${c}:fixture.txt`)).toBe(lfsPointerText(Buffer.from('not data')));
    }
    expect(g(R, 'show', 'main:tools/run.bin')).toMatch(/^exec: true$/m);
    expect(g(R, 'ls-tree', 'main', 'tools/run.bin')).toMatch(/^100755 /);
    expect(g(R, 'show', 'main:.gitattributes')).toMatch(/^\*\.bin filter=mk diff=mk merge=mk -text$/m);
    expect(g(R, 'show', 'main:sub/.gitattributes')).toBe('# Git LFS lines moved to the root .gitattributes by mk migrate --from-lfs\n*.dat -text\n');
    expect(g(R, 'show', 'main:.gitattributes')).toMatch(/^\/sub\/\*\*\/\*\.dat filter=mk diff=mk merge=mk -text$/m);
    expect(g(R, 'check-attr', 'filter', '--', 'sub/part.dat')).toBe('sub/part.dat: filter: mk\n');
    // the work tree and index follow without a change to commit
    expect(g(R, 'status', '--porcelain')).toBe('');
    expect(readFileSync(join(R, '.gitattributes'), 'utf8')).toMatch(/^\*\.bin filter=mk/m);
  });

  it('every version of the data checks out byte for byte through mk, with Git LFS and its objects gone', () => {
    // As the migration says: Git LFS out of this clone (its hooks ran before mk's), mk's hooks back.
    mk(R, 'uninstall');
    g(R, 'lfs', 'uninstall', '--local');
    mk(R, 'install');
    expect(readdirSync(join(R, '.git', 'hooks')).filter((h) => h.endsWith('.pre-mk'))).toEqual([]);
    rmSync(join(R, '.git', 'lfs'), { recursive: true, force: true });
    const newCommits = g(R, 'rev-list', '--reverse', '--topo-order', 'main').split('\n').filter(Boolean);
    newCommits.forEach((c, i) => {
      g(R, 'checkout', '-q', c);
      expect(data(R), `commit ${i}`).toEqual(expected.get(commits[i]!));
    });
    g(R, 'checkout', '-q', 'feature');
    expect(data(R)['sub/part.dat']).toBe(sha(seeded(45_000, 5)));
    g(R, 'checkout', '-q', 'main');
    expect(g(R, 'status', '--porcelain')).toBe('');
  });

  it('a clone restores every commit from an mk remote after a push', () => {
    mk(R, 'remote', 'add', 'origin', join(root, 'mk-store'));
    g(R, 'add', '-A');
    commitAs(R, 'alice', 1_600_700_000, 'mk remote');
    const bare = join(root, 'proj.git');
    g(root, 'init', '-q', '--bare', '-b', 'main', bare);
    g(R, 'remote', 'add', 'origin', bare);
    const p = spawnSync('git', ['push', 'origin', '--all'], { cwd: R, encoding: 'utf8', env: env() });
    expect(p.status, p.stderr + p.stdout).toBe(0);
    const r = mkRun(root, ['clone', bare, 'clone']);
    expect(r.status, r.stderr).toBe(0);
    const C = join(root, 'clone');
    identify(C);
    const cloned = g(C, 'rev-list', '--reverse', '--topo-order', 'main~1').split('\n').filter(Boolean);
    // Commits from before mk was set up name no remote of their own: their data comes with 'mk fetch <rev>...' run on main.
    expect(mkRun(C, ['fetch', ...cloned]).status).toBe(0);
    cloned.forEach((c, i) => {
      g(C, 'checkout', '-q', c);
      expect(data(C), `commit ${i}`).toEqual(expected.get(commits[i]!));
    });
    expect(readdirSync(join(C, '.git')).includes('lfs')).toBe(false);
  });

  it('the way back: the backup refs put the LFS history back as it was', () => {
    const backup = g(R, 'for-each-ref', '--format=%(refname)', 'refs/mk-migrate-backup').split('\n').filter(Boolean);
    const main = backup.find((b) => b.endsWith('/heads/main'))!;
    g(
      R,
      'update-ref',
      'refs/heads/feature',
      backup.find((b) => b.endsWith('/heads/feature'))!,
    );
    expect(g(R, 'rev-parse', 'feature').trim()).toBe(oldRefs['refs/heads/feature']);
    expect(g(R, 'rev-parse', main).trim()).toBe(oldRefs['refs/heads/main']);
    expect(g(R, 'show', `${main}:model.bin`)).toMatch(/^version https:\/\/git-lfs/);
  });
});

describe('mk migrate --from-lfs in the work tree', () => {
  it('rewrites .gitattributes and stages mk pointers; a file Git LFS never smudged gets its bytes', () => {
    const src = join(root, 'wt-src');
    mkdirSync(src);
    g(src, 'init', '-q', '-b', 'main');
    identify(src);
    g(src, 'lfs', 'install', '--local');
    g(src, 'lfs', 'track', '*.bin');
    writeFileSync(join(src, 'a.bin'), seeded(100_000, 11));
    writeFileSync(join(src, 'b.bin'), seeded(1000, 12));
    g(src, 'add', '-A');
    g(src, 'commit', '-q', '-m', 'lfs');
    // A clone without Git LFS's filter: the files hold the pointer text; the objects are fetched into .git/lfs
    const W = join(root, 'wt');
    g(root, 'clone', '-q', src, W);
    identify(W);
    expect(readFileSync(join(W, 'a.bin'), 'utf8')).toMatch(/^version https:\/\/git-lfs/);
    mkdirSync(join(W, '.git', 'lfs', 'objects'), { recursive: true });
    for (const o of ['a.bin', 'b.bin']) {
      const b = readFileSync(join(src, o));
      const d = join(W, '.git', 'lfs', 'objects', sha(b).slice(0, 2), sha(b).slice(2, 4));
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, sha(b)), b);
    }
    expect(mkRun(W, ['init']).status).toBe(0);
    expect(mkRun(W, ['install']).status).toBe(0);
    const r = mkRun(W, ['migrate', '--from-lfs']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^converted {2}a\.bin$/m);
    expect(r.stdout).toMatch(/^rewrote {2}\.gitattributes \(Git LFS's lines now name mk\)$/m);
    expect(sha(readFileSync(join(W, 'a.bin')))).toBe(sha(seeded(100_000, 11)));
    expect(g(W, 'status', '--porcelain').split('\n').filter(Boolean).sort()).toEqual(['A  .mk/config.yaml', 'A  Kitfile', 'M  .gitattributes', 'M  a.bin', 'M  b.bin']);
    g(W, 'commit', '-q', '-m', 'to mk');
    expect(g(W, 'status', '--porcelain')).toBe('');
    expect(g(W, 'show', 'HEAD:b.bin')).toContain(`digest: sha256:${sha(seeded(1000, 12))}`);
    rmSync(join(W, 'b.bin'));
    g(W, 'checkout', '--', 'b.bin');
    expect(sha(readFileSync(join(W, 'b.bin')))).toBe(sha(seeded(1000, 12)));
  });
});
