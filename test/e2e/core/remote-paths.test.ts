/**
 * A local OCI layout remote is a path in the committed config. A relative path is relative to
 * the repository root, whatever folder `mk remote add` ran in, so that every clone and every
 * subfolder reads the same place; an absolute one is kept, with a warning that it is committed.
 * A layout that is not there (a share that is not mounted) must never read as "empty, never
 * pushed there": every read fails in one line, and only a push (or `mk remote add --create`)
 * creates it.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { put } from '../../support/files.js';
import { expectMkError, git, makeRepo, mk, mkRun, tempDir } from '../../support/repo.js';

let cleanups: Array<() => void> = [];
afterEach(() => {
  cleanups.forEach((c) => c());
  cleanups = [];
});

function project(): { dir: string; outside: string; p: (rel: string) => string } {
  const box = tempDir('mk-box-');
  cleanups.push(box.cleanup);
  const repo = makeRepo();
  cleanups.push(repo.cleanup);
  const p = (rel: string) => join(repo.dir, rel);
  put(p('sub/deeper/ds/a.txt'), 'a');
  put(p('model.bin'), 'weights');
  mk(repo.dir, 'add', 'sub/deeper/ds', 'model.bin');
  git(repo.dir, 'commit', '-qm', 'data');
  return { dir: repo.dir, outside: box.dir, p };
}

const teamConfig = (dir: string) => readFileSync(join(dir, '.mk/config.yaml'), 'utf8');

describe('mk remote add: the path stored', () => {
  it('a relative path typed in a subfolder is stored relative to the repository root, and read back from anywhere', () => {
    const { dir, outside, p } = project();
    const typed = relative(p('sub/deeper'), join(outside, 'store'));
    const r = mkRun(p('sub/deeper'), ['remote', 'add', 'backup', typed]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const stored = relative(dir, join(outside, 'store'));
    expect(teamConfig(dir)).toContain(`url: ${stored}\n`);
    expect(r.stdout).toContain(`added remote 'backup' (${stored})`);
    // A push from another subfolder lands in that one place.
    mk(p('sub'), 'push');
    expect(existsSync(join(outside, 'store', 'oci-layout'))).toBe(true);
    const st = JSON.parse(mk(p('sub/deeper/ds'), 'status', '--remote', '--json'));
    expect(st.artifacts.map((a: { missingRemote: number }) => a.missingRemote)).toEqual([0, 0]);
  });

  it('an absolute path stays absolute, with a warning when it goes into the committed config (not with --local)', () => {
    const { dir, outside } = project();
    const abs = join(outside, 'shared');
    const r = mkRun(dir, ['remote', 'add', 'nas', abs]);
    expect(r.status).toBe(0);
    expect(teamConfig(dir)).toContain(`url: ${abs}\n`);
    expect(r.stderr).toBe(
      `warning: the absolute path ${abs} is committed in .mk/config.yaml for everyone: it must exist on every machine (use --local for this clone only, or a path relative to the repository)\n`,
    );
    const local = mkRun(dir, ['remote', 'add', 'mine', abs, '--local']);
    expect(local.status).toBe(0);
    expect(local.stderr).toBe('');
    expect(readFileSync(join(dir, '.git/mk/config.yaml'), 'utf8')).toContain(`url: ${abs}\n`);
  });
});

describe('a layout remote that is not there', () => {
  it('every read fails in one line naming it, and creates nothing; a push creates it', () => {
    const { dir, outside } = project();
    const where = join(outside, 'mnt', 'share');
    mk(dir, 'remote', 'add', 'nas', where, '--local');
    const line = `remote 'nas' at ${where} does not exist (not mounted?)`;
    for (const args of [['fetch'], ['pull'], ['status', '--remote'], ['modelkit', 'list'], ['verify', 'HEAD'], ['modelkit', 'inspect', 'nas:main']]) {
      const r = mkRun(dir, args);
      expect(expectMkError(r), args.join(' ')).toBe(`mk: ${line}`);
      expect(r.stderr).toContain("hint: check the path ('mk remote list'); a push creates the layout, as 'mk remote add --create' does");
    }
    expect(existsSync(join(outside, 'mnt'))).toBe(false);
    // An empty folder (a mount point with nothing mounted) is no layout either.
    mkdirSync(where, { recursive: true });
    expectMkError(mkRun(dir, ['fetch']), `remote 'nas' at ${where} is an empty folder, not an OCI image layout (not mounted? never pushed to?)`);
    expect(readdirSync(where)).toEqual([]);
    // A push makes it a layout; reads then work.
    mk(dir, 'push');
    expect(existsSync(join(where, 'oci-layout'))).toBe(true);
    expect(mkRun(dir, ['fetch']).status).toBe(0);
    // mk get reads the remote only for what the cache lacks.
    mk(dir, 'remote', 'add', 'gone', join(outside, 'gone'), '--local');
    rmSync(join(dir, '.git/mk/cache'), { recursive: true });
    expectMkError(mkRun(dir, ['get', 'model.bin', '-r', 'gone', '-o', join(outside, 'out.bin')]), `remote 'gone' at ${join(outside, 'gone')} does not exist (not mounted?)`);
    expect(existsSync(join(outside, 'gone'))).toBe(false);
  });

  it('mk remote add --create makes an empty layout at once (reads then answer "nothing there")', () => {
    const { dir, outside } = project();
    const r = mkRun(dir, ['remote', 'add', 'fresh', join(outside, 'new-layout'), '--create', '--local']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('; created the layout');
    expect(JSON.parse(readFileSync(join(outside, 'new-layout', 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(JSON.parse(mk(dir, 'modelkit', 'list', '--json')).modelkits).toEqual([]);
    expectMkError(mkRun(dir, ['remote', 'add', 'reg', 'oci://127.0.0.1:5000/team/x', '--create', '--local']), '--create is for a local OCI layout');
  });
  it('an oci:<path> that is not there (or not a layout) is one line for modelkit list, inspect and unpack, and nothing is created', () => {
    const { dir, outside } = project();
    const missing = join(outside, 'no-share');
    expectMkError(mkRun(dir, ['modelkit', 'list', `oci:${missing}`]), `${missing} does not exist (not mounted?)`);
    expectMkError(mkRun(dir, ['modelkit', 'inspect', `oci:${missing}:v1`]), `${missing} does not exist (not mounted?)`);
    expectMkError(mkRun(dir, ['modelkit', 'unpack', `oci:${missing}:v1`, '-d', join(outside, 'out')]), `${missing} does not exist (not mounted?)`);
    expect(existsSync(missing)).toBe(false);
    mkdirSync(join(outside, 'plain'));
    expectMkError(mkRun(dir, ['modelkit', 'list', `oci:${join(outside, 'plain')}`]), 'is not an OCI image layout (no oci-layout file)');
    expect(readdirSync(join(outside, 'plain'))).toEqual([]);
  });
});
