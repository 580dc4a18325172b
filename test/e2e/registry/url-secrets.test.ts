/**
 * A password typed into a remote URL is refused and never shown: `mk remote add` says that
 * credentials do not belong in the URL (and how to log in instead), and every message that
 * quotes a user-given URL or reference hides its user information (`user:***@`). Runs the
 * real CLI (bin/mk.js).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put } from '../../support/files.js';
import { expectMkError, git, makeRepo, mk, mkRun, type MkRun } from '../../support/repo.js';

const SECRET = 'url-Secr3t-9f2e';

function noSecret(r: MkRun, what: string): void {
  expect(r.stdout + r.stderr, what).not.toContain(SECRET);
  expect(r.stderr, what).not.toContain('internal error');
}

describe('credentials in a remote URL (CLI)', () => {
  let repo: { dir: string; cleanup: () => void };
  beforeAll(() => {
    repo = makeRepo();
    put(join(repo.dir, 'data/a.csv'), 'a,b\n1,2\n');
    mk(repo.dir, 'add', 'data/a.csv');
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-q', '-m', 'data');
  });
  afterAll(() => repo?.cleanup());

  it('mk remote add refuses them, says why and how to log in, and shows them hidden', () => {
    const r = mkRun(repo.dir, ['remote', 'add', 'origin', `oci://user:${SECRET}@127.0.0.1:5000/team/proj`]);
    noSecret(r, 'add');
    const line = expectMkError(r, "'oci://user:***@127.0.0.1:5000/team/proj' holds credentials; mk does not take credentials in a URL");
    expect(line).toBeTruthy();
    expect(r.stderr).toContain("hint: remove them from the URL, then run 'mk login 127.0.0.1:5000' or set MK_REGISTRY_USERNAME and MK_REGISTRY_PASSWORD");
  });

  it.each([
    `oci://user:${SECRET}@registry.example.com`,
    `oci://${SECRET}@registry.example.com/team/proj`,
    `oci://user:pass/${SECRET}@registry.example.com/team/proj`,
    `oci://user:${SECRET}@127.0.0.1:99999/team/proj`,
    `oci://user:${SECRET}@registry.example.com/Not_Valid`,
    `https://user:${SECRET}@registry.example.com/team/proj`,
    `file://user:${SECRET}@localhost/srv/layout`,
    `user:${SECRET}@registry.example.com/team/proj`,
  ])('mk remote add %s: one line, nothing of the secret', (url) => {
    const r = mkRun(repo.dir, ['remote', 'add', 'other', url]);
    noSecret(r, url);
    expectMkError(r, 'holds credentials');
  });

  it('mk remote list (and --json) then shows no remote and no secret', () => {
    const r = mkRun(repo.dir, ['remote', 'list']);
    noSecret(r, 'list');
    expect(r.status).toBe(0);
    const j = mkRun(repo.dir, ['remote', 'list', '--json']);
    noSecret(j, 'list --json');
    expect(JSON.parse(j.stdout)).toEqual({ remotes: [] });
  });

  it('a config edited by hand to hold them: push, fetch, pull and modelkit inspect refuse it without showing it', () => {
    writeFileSync(join(repo.dir, '.git/mk/config.yaml'), `remotes:\n  hand:\n    url: oci://user:${SECRET}@127.0.0.1:5000/team/proj\ndefault_remote: hand\n`);
    try {
      for (const args of [['push'], ['fetch'], ['pull'], ['modelkit', 'inspect', 'hand:latest']]) {
        const r = mkRun(repo.dir, args);
        noSecret(r, args.join(' '));
        expectMkError(r, "'oci://user:***@127.0.0.1:5000/team/proj' holds credentials");
      }
      for (const args of [
        ['remote', 'list'],
        ['remote', 'list', '--json'],
      ]) {
        const r = mkRun(repo.dir, args);
        noSecret(r, args.join(' '));
        expect(r.status).toBe(0);
        expect(r.stdout).toContain('oci://user:***@127.0.0.1:5000/team/proj');
      }
    } finally {
      writeFileSync(join(repo.dir, '.git/mk/config.yaml'), '');
    }
  });

  it('mk modelkit inspect and unpack of a reference with credentials in it', () => {
    for (const args of [
      ['modelkit', 'inspect', `user:${SECRET}@127.0.0.1:5000/team/proj:v1`],
      ['modelkit', 'unpack', `user:${SECRET}@127.0.0.1:5000/team/proj:v1`, '-d', 'out'],
    ]) {
      const r = mkRun(repo.dir, args);
      noSecret(r, args.join(' '));
      expectMkError(r, 'holds credentials');
    }
  });

  it('mk login with credentials in the host', () => {
    const r = mkRun(repo.dir, ['login', `user:${SECRET}@127.0.0.1:5000`, '-u', 'user', '-p', 'x']);
    noSecret(r, 'login');
    expectMkError(r, "'user:***@127.0.0.1:5000' holds credentials");
  });

  it('a file:// URL that cannot be a path is one line, not an internal error', () => {
    const r = mkRun(repo.dir, ['remote', 'add', 'other', 'file://server/share/layout']);
    expectMkError(r, "'file://server/share/layout' is not a usable file:// URL");
  });
});
