/**
 * `mk install` / `mk uninstall` with real git: core.hooksPath is honoured, a hook the user
 * already had is kept and still runs first, installing twice changes nothing, uninstalling
 * puts the user's hook back; and a branch switch never destroys unsaved data changes.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOKS } from '../../../src/git/hook-shims.js';
import { tempDir } from '../../support/repo.js';
import { fileSha, g, gitRun, mk, mkLines, mkRun, newRepo, pointerDigest, snapshot, treeFiles, writeRandom } from './support.js';

let root: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir: root, cleanup } = tempDir('mk-git-hooks-'));
});
afterAll(() => cleanup?.());

const USER_HOOK = '#!/bin/sh\n# the team\'s own pre-commit hook\necho "user hook ran" >> "$(git rev-parse --git-dir)/user-hook-ran"\n';

describe('mk install', () => {
  let R: string;
  const hooksDir = () => join(R, '.githooks');

  it('honours core.hooksPath and keeps the hook the user already had', () => {
    R = newRepo(join(root, 'hooks-path'), { mk: false });
    mk(R, 'init', '--no-filter');
    g(R, 'config', 'core.hooksPath', '.githooks');
    mkdirSync(hooksDir());
    writeFileSync(join(hooksDir(), 'pre-commit'), USER_HOOK);
    chmodSync(join(hooksDir(), 'pre-commit'), 0o755);
    const r = mkRun(R, ['install']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(hooksDir());
    expect(r.stdout).toContain('kept your own pre-commit');
    for (const h of HOOKS) expect(readFileSync(join(hooksDir(), h), 'utf8')).toContain('mk-hook-shim');
    expect(readFileSync(join(hooksDir(), 'pre-commit.pre-mk'), 'utf8')).toBe(USER_HOOK);
    // Nothing went to .git/hooks, which git does not use here.
    for (const h of HOOKS) expect(existsSync(join(R, '.git', 'hooks', h))).toBe(false);
    expect(g(R, 'config', '--get', 'merge.mk.driver')).toContain('merge-driver');
  });

  it("git commit runs the user's hook first, then mk's part", () => {
    const data = writeRandom(join(R, 'weights.pt'), 4_000);
    writeRandom(join(R, 'train.py'), 10);
    g(R, 'add', '-A');
    const c = gitRun(R, ['commit', '-m', 'first']);
    expect(c.status, c.stderr).toBe(0);
    expect(readFileSync(join(R, '.git', 'user-hook-ran'), 'utf8')).toBe('user hook ran\n');
    expect(mkLines(c)).toContain('mk: tracking weights.pt (its pointer weights.pt.mk.yaml is committed instead)');
    expect(treeFiles(R)).toContain('weights.pt.mk.yaml');
    expect(pointerDigest(R, 'HEAD', 'weights.pt')).toBe(data);
  });

  it("a user's hook that fails still stops the commit", () => {
    const prev = join(hooksDir(), 'pre-commit.pre-mk');
    const text = readFileSync(prev, 'utf8');
    writeFileSync(prev, '#!/bin/sh\necho "lint failed" >&2\nexit 3\n');
    writeRandom(join(R, 'train.py'), 11);
    const head = g(R, 'rev-parse', 'HEAD');
    const c = gitRun(R, ['commit', '-am', 'should not happen']);
    expect(c.status).not.toBe(0);
    expect(c.stderr).toContain('lint failed');
    expect(g(R, 'rev-parse', 'HEAD')).toBe(head);
    writeFileSync(prev, text);
    g(R, 'checkout', '--', 'train.py');
  });

  it('is idempotent: installing again leaves the same files', () => {
    const before = snapshot(hooksDir());
    const attrs = readFileSync(join(R, '.git', 'info', 'attributes'), 'utf8');
    const driver = g(R, 'config', '--get-all', 'merge.mk.driver');
    const r = mkRun(R, ['install']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('kept your own');
    expect(snapshot(hooksDir())).toEqual(before);
    expect(readFileSync(join(R, '.git', 'info', 'attributes'), 'utf8')).toBe(attrs);
    expect(g(R, 'config', '--get-all', 'merge.mk.driver')).toBe(driver);
  });

  it("mk uninstall restores the user's hook and removes mk's", () => {
    const r = mkRun(R, ['uninstall']);
    expect(r.status, r.stderr).toBe(0);
    expect(snapshot(hooksDir())).toEqual({ 'pre-commit': USER_HOOK });
    expect(gitRun(R, ['config', '--get', 'merge.mk.driver']).status).toBe(1);
    expect(readFileSync(join(R, '.git', 'info', 'attributes'), 'utf8')).not.toContain('merge=mk');
    // The user's hook runs alone now: no mk message, no tracking.
    writeRandom(join(R, 'train.py'), 12);
    const c = gitRun(R, ['commit', '-am', 'after uninstall']);
    expect(c.status, c.stderr).toBe(0);
    expect(mkLines(c)).toEqual([]);
    expect(readFileSync(join(R, '.git', 'user-hook-ran'), 'utf8')).toBe('user hook ran\nuser hook ran\n');
  });

  it('without core.hooksPath it installs into .git/hooks', () => {
    const D = newRepo(join(root, 'plain'), { mk: false });
    mk(D, 'init', '--no-filter');
    const r = mkRun(D, ['install']);
    expect(r.status, r.stderr).toBe(0);
    for (const h of HOOKS) expect(readFileSync(join(D, '.git', 'hooks', h), 'utf8')).toContain('mk-hook-shim');
  });
});

describe('a branch switch never destroys unsaved data changes', () => {
  let R: string;
  const v: Record<string, string> = {};

  beforeAll(() => {
    R = newRepo(join(root, 'unsaved'));
    v.a1 = writeRandom(join(R, 'a.pt'), 8_000);
    v.b1 = writeRandom(join(R, 'b.pt'), 8_000);
    v.c1 = writeRandom(join(R, 'c.pt'), 8_000);
    writeRandom(join(R, 'train.py'), 10);
    g(R, 'add', '-A');
    g(R, 'commit', '-q', '-m', 'main data');
    g(R, 'switch', '-q', '-c', 'exp');
    v.a2 = writeRandom(join(R, 'a.pt'), 8_000);
    v.b2 = writeRandom(join(R, 'b.pt'), 8_000);
    g(R, 'rm', '-q', 'c.pt.mk.yaml'); // exp stops tracking c.pt
    writeRandom(join(R, 'train.py'), 11);
    g(R, 'commit', '-q', '-am', 'exp data');
    g(R, 'switch', '-q', 'main');
    expect(fileSha(join(R, 'c.pt'))).toBe(v.c1);
  });

  it('post-checkout leaves a modified file alone, says so, and still brings the other artifacts in line', () => {
    writeFileSync(join(R, 'a.pt'), 'my unsaved edit\n');
    writeFileSync(join(R, 'c.pt'), 'another unsaved edit\n');
    const sw = gitRun(R, ['switch', 'exp']);
    expect(g(R, 'branch', '--show-current').trim()).toBe('exp'); // git switched
    const msg = mkLines(sw).find((l) => l.includes('unsaved'));
    expect(msg, sw.stderr).toContain('a.pt');
    expect(sw.stderr).toMatch(/^hint: .*mk add/m);
    expect(readFileSync(join(R, 'a.pt'), 'utf8')).toBe('my unsaved edit\n');
    // The untouched artifact follows the branch: a later commit would otherwise record stale data.
    expect(fileSha(join(R, 'b.pt'))).toBe(v.b2);
    // c.pt is not tracked on exp, and it holds unsaved changes: it stays.
    expect(readFileSync(join(R, 'c.pt'), 'utf8')).toBe('another unsaved edit\n');
    const st = mk(R, 'status');
    expect(st).toMatch(/modified\s+a\.pt/);
    expect(st).toMatch(/clean\s+b\.pt/);
    // Committing saves the edit (mk records changed data) and keeps exp's b.pt, not main's.
    writeRandom(join(R, 'train.py'), 12);
    g(R, 'commit', '-q', '-am', 'code on exp');
    v.a3 = fileSha(join(R, 'a.pt'));
    expect(pointerDigest(R, 'HEAD', 'a.pt')).toBe(v.a3);
    expect(pointerDigest(R, 'HEAD', 'b.pt')).toBe(v.b2);
  });

  it('switching back: saved data follows, unsaved data stays; the data of an artifact the branch drops goes only when unmodified', () => {
    // c.pt is not tracked on exp; an edit there is unsaved when main's c.pt comes back.
    writeFileSync(join(R, 'c.pt'), 'x');
    const back = gitRun(R, ['switch', 'main']);
    expect(g(R, 'branch', '--show-current').trim()).toBe('main');
    expect(
      mkLines(back).find((l) => l.includes('unsaved')),
      back.stderr,
    ).toContain('c.pt');
    expect(readFileSync(join(R, 'c.pt'), 'utf8')).toBe('x');
    expect(fileSha(join(R, 'a.pt'))).toBe(v.a1); // the edit was committed on exp: main's data is back
    expect(fileSha(join(R, 'b.pt'))).toBe(v.b1);
    mk(R, 'checkout', '--force', '--', 'c.pt');
    expect(fileSha(join(R, 'c.pt'))).toBe(v.c1);
    expect(g(R, 'status', '--porcelain')).toBe('');
    // Now c.pt is exactly main's (cached) data: switching to exp, which does not track it, removes it.
    const sw = gitRun(R, ['switch', 'exp']);
    expect(sw.status, sw.stderr).toBe(0);
    expect(existsSync(join(R, 'c.pt'))).toBe(false);
    expect(fileSha(join(R, 'a.pt'))).toBe(v.a3);
    expect(fileSha(join(R, 'b.pt'))).toBe(v.b2);
    expect(g(R, 'status', '--porcelain')).toBe('');
    const main = gitRun(R, ['switch', 'main']);
    expect(main.status, main.stderr).toBe(0);
    expect(fileSha(join(R, 'c.pt'))).toBe(v.c1);
  });
});
