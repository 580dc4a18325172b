/**
 * Arguments are read as git reads them: after `--` everything is a path, and before it a
 * revision may be spelled like a path. A branch and a folder that share a name are the
 * everyday case (`mk checkout ds -- ds`). Without `--`, an argument that is not a revision but
 * a path is a path (`mk checkout data/imgs`, `mk pull models`); one that is both is refused.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LINK_TYPES } from '../../../src/formats/kinds.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRecord, put, snapshotTree } from '../../support/files.js';
import { expectMkError, git, makeRepo, mk, mkRun, tempDir } from '../../support/repo.js';

describe('revision and paths around --', () => {
  let repo: { dir: string; cleanup: () => void };
  let v1: Record<string, unknown>;
  beforeAll(() => {
    repo = makeRepo();
    for (let i = 0; i < 5; i++) put(join(repo.dir, 'ds', `f${i}.txt`), `v1 ${i}`);
    mk(repo.dir, 'add', 'ds');
    git(repo.dir, 'commit', '-qm', 'v1');
    git(repo.dir, 'branch', 'ds'); // a branch named like the folder
    v1 = asRecord(snapshotTree(join(repo.dir, 'ds')));
    for (let i = 0; i < 5; i++) put(join(repo.dir, 'ds', `f${i}.txt`), `v2 ${i}`);
    mk(repo.dir, 'add', 'ds');
    git(repo.dir, 'commit', '-qm', 'v2');
  });
  afterAll(() => repo.cleanup());

  it('mk checkout ds -- ds takes the data of branch ds for path ds', () => {
    mk(repo.dir, 'checkout', 'ds', '--', 'ds');
    expect(asRecord(snapshotTree(join(repo.dir, 'ds')))).toEqual(v1);
    expect(git(repo.dir, 'diff', '--cached', '--name-only').trim()).toBe('ds.mk.yaml');
    mk(repo.dir, 'checkout', 'HEAD', '--', 'ds');
    expect(asRecord(snapshotTree(join(repo.dir, 'ds')))).not.toEqual(v1);
  });

  it('two revisions before -- are refused in one line', () => {
    expectMkError(mkRun(repo.dir, ['checkout', 'ds', 'main', '--', 'ds']), "expected at most one revision before '--', got ds main");
  });
});

describe('-C <path>, as git -C', () => {
  it('runs the command as if started there; several -C chain; a missing folder is one line, exit 2', () => {
    const repo = makeRepo();
    try {
      put(join(repo.dir, 'sub', 'ds', 'a.txt'), 'a');
      const elsewhere = join(repo.dir, '..');
      const r = mkRun(elsewhere, ['-C', repo.dir, '-C', 'sub', 'add', 'ds']);
      expect(r.status, r.stderr).toBe(0);
      expect(git(repo.dir, 'diff', '--cached', '--name-only')).toContain('sub/ds.mk.yaml');
      expect(mkRun(elsewhere, ['-C', repo.dir, 'status']).stdout).toMatch(/sub\/ds/);
      const bad = mkRun(elsewhere, ['-C', join(repo.dir, 'nosuch'), 'status']);
      expect(bad.status).toBe(2);
      expect(bad.stderr.trim().split('\n')).toEqual([`mk: cannot change to '${join(repo.dir, 'nosuch')}': no such directory`]);
    } finally {
      repo.cleanup();
    }
  });
});

describe('a path without --, as git reads one when it is not a revision', () => {
  let repo: { dir: string; cleanup: () => void };
  let store: { dir: string; cleanup: () => void };
  const p = (rel: string) => join(repo.dir, rel);
  let imgs: Record<string, unknown>;
  beforeAll(() => {
    repo = makeRepo();
    store = tempDir('mk-store-');
    for (let i = 0; i < 4; i++) put(p(`data/imgs/i${i}.bin`), `img ${i}`);
    put(p('models/m.bin'), 'weights v1');
    mk(repo.dir, 'add', 'data/imgs', 'models/m.bin');
    mk(repo.dir, 'remote', 'add', 'origin', join(store.dir, 'layout'));
    git(repo.dir, 'commit', '-qm', 'v1');
    git(repo.dir, 'branch', 'data'); // a branch named like the folder data/
    mk(repo.dir, 'push');
    imgs = asRecord(snapshotTree(p('data/imgs')));
  });
  afterAll(() => {
    repo.cleanup();
    store.cleanup();
  });

  it('mk checkout <path>, from the root or a subfolder, and <rev> <path>', () => {
    rmSync(p('data/imgs'), { recursive: true });
    expect(mk(repo.dir, 'checkout', 'data/imgs')).toMatch(/^restored {2}data\/imgs \(4 written\)$/m);
    expect(asRecord(snapshotTree(p('data/imgs')))).toEqual(imgs);
    rmSync(p('data/imgs'), { recursive: true });
    rmSync(p('models/m.bin'));
    mk(p('data'), 'checkout', 'imgs'); // relative to where mk runs, as every path
    expect(asRecord(snapshotTree(p('data/imgs')))).toEqual(imgs);
    expect(existsSync(p('models/m.bin'))).toBe(false); // only the path given
    mk(repo.dir, 'checkout', 'HEAD', 'models/m.bin');
    expect(readFileSync(p('models/m.bin'), 'utf8')).toBe('weights v1');
  });

  it('a name that is both a revision and a path is refused, saying how to use --; either meaning works with --', () => {
    const r = mkRun(repo.dir, ['checkout', 'data']);
    expect(expectMkError(r)).toBe("mk: ambiguous argument 'data': both a revision and a path");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("hint: use '--' to separate them: 'mk checkout data --' for the revision, 'mk checkout -- data' for the path");
    expect(mkRun(repo.dir, ['checkout', 'data', '--']).status).toBe(0);
    expect(mkRun(repo.dir, ['checkout', '--', 'data']).status).toBe(0);
    expectMkError(mkRun(repo.dir, ['diff', 'data']), "ambiguous argument 'data'");
  });

  it('neither a revision nor a path: one line naming it, with the -- form', () => {
    const r = mkRun(repo.dir, ['checkout', 'data/nosuch']);
    expect(expectMkError(r)).toBe("mk: unknown revision or path not in the work tree: 'data/nosuch'");
    expect(r.stderr).toContain("hint: use '--' to separate paths from revisions: 'mk checkout [<rev>] -- <path>...'");
    // A revision after a path is not one (as git log file rev).
    expectMkError(mkRun(repo.dir, ['fetch', 'data/imgs', 'HEAD']), "unknown revision or path not in the work tree: 'HEAD'");
    expectMkError(mkRun(repo.dir, ['pull', 'HEAD', 'HEAD~0']), 'expected at most one revision, got HEAD HEAD~0');
  });

  it('mk pull <path> and mk fetch [<rev>] <path> download only that path', () => {
    rmSync(p('.git/mk/cache'), { recursive: true });
    rmSync(p('data/imgs'), { recursive: true });
    rmSync(p('models/m.bin'));
    const pulled = JSON.parse(mk(repo.dir, 'pull', 'models', '--json'));
    expect(pulled.fetch).toMatchObject({ artifacts: 1, copied: 1 });
    expect(readFileSync(p('models/m.bin'), 'utf8')).toBe('weights v1');
    expect(existsSync(p('data/imgs'))).toBe(false);
    expect(JSON.parse(mk(repo.dir, 'fetch', 'HEAD', 'data/imgs', '--json'))).toMatchObject({ artifacts: 1 });
    expect(JSON.parse(mk(repo.dir, 'fetch', 'data/imgs', '--json'))).toMatchObject({ artifacts: 1, copied: 0 });
  });

  it('mk diff <path> limits the diff to it', () => {
    put(p('data/imgs/i0.bin'), 'edited');
    put(p('models/m.bin'), 'weights v2');
    expect(JSON.parse(mk(repo.dir, 'diff', 'data/imgs', '--json')).artifacts.map((a: { path: string }) => a.path)).toEqual(['data/imgs']);
    expect(JSON.parse(mk(repo.dir, 'diff', 'HEAD', 'models', '--json')).artifacts.map((a: { path: string }) => a.path)).toEqual(['models/m.bin']);
  });
});

describe('--link: mk-checkout(1), --help and the code name the same choices', () => {
  it('copy, reflink, hardlink, symlink everywhere; anything else is refused in one line', () => {
    const page = readFileSync(fileURLToPath(new URL('../../../docs/commands/mk-checkout.md', import.meta.url)), 'utf8');
    const inReadme = /`mk checkout [^`]*\[--link ([a-z\\|]+)\]`/.exec(page)![1]!.split(/\\?\|/);
    expect(inReadme).toEqual([...LINK_TYPES]);
    const repo = makeRepo();
    try {
      const help = mk(repo.dir, 'checkout', '--help');
      expect(help).toContain(`how to place files: ${LINK_TYPES.join(', ')}`);
      expectMkError(mkRun(repo.dir, ['checkout', '--link', 'bogus']), "unknown link type 'bogus'");
      expect(mkRun(repo.dir, ['checkout', '--link', 'bogus']).stderr).toContain(`hint: use one of: ${LINK_TYPES.join(', ')}`);
    } finally {
      repo.cleanup();
    }
  });
});
