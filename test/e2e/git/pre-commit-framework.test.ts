/**
 * The pre-commit framework (pre-commit.com) integration: `.pre-commit-hooks.yaml` at the
 * repository root names real `mk hook` names; and `mk hook` works the way the framework calls
 * it (no arguments, empty stdin, PRE_COMMIT_* variables).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOKS } from '../../../src/git/hook-shims.js';
import { fromPreCommitFramework } from '../../../src/integration/hooks/run.js';
import { tempDir } from '../../support/repo.js';
import { bareRemote, expectModelKit, fileSha, g, gitRun, head, mk, mkLines, mkRun, newRepo, published, writeRandom } from './support.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface HookDef {
  id: string;
  name: string;
  entry: string;
  language: string;
  always_run?: boolean;
  pass_filenames?: boolean;
  stages?: string[];
}

describe('.pre-commit-hooks.yaml', () => {
  const defs = parse(readFileSync(join(ROOT, '.pre-commit-hooks.yaml'), 'utf8')) as HookDef[];

  it('is a list of hooks, each running an existing `mk hook <name>` at the stage of that name', () => {
    expect(Array.isArray(defs)).toBe(true);
    expect(new Set(defs.map((d) => d.id)).size).toBe(defs.length);
    for (const d of defs) {
      const m = /^mk hook ([a-z-]+)$/.exec(d.entry);
      expect(m, `${d.id}: entry '${d.entry}'`).not.toBeNull();
      const hook = m![1]!;
      expect(HOOKS as readonly string[]).toContain(hook);
      expect(d.id).toBe(`mk-${hook}`);
      expect(typeof d.name).toBe('string');
      expect(d.language).toBe('system');
      expect(d.always_run).toBe(true);
      expect(d.pass_filenames).toBe(false);
      expect(d.stages).toEqual([hook]);
    }
    // Every hook mk installs is offered, but reference-transaction: the framework has no such
    // stage (without it, the pre-commit hook brings stale data in line before recording).
    expect(defs.map((d) => /^mk hook (.+)$/.exec(d.entry)![1]).sort()).toEqual(HOOKS.filter((h) => h !== 'reference-transaction').sort());
  });

  it('the CLI accepts each entry (outside a repository it does nothing) and refuses unknown names', () => {
    const { dir, cleanup } = tempDir('mk-git-pcf-norepo-');
    try {
      for (const d of defs) {
        const r = mkRun(dir, d.entry.split(' ').slice(1));
        expect(r.status, `${d.entry}: ${r.stderr}`).toBe(0);
      }
      expect(mkRun(dir, ['hook', 'pre-rebase']).status).toBe(2);
    } finally {
      cleanup();
    }
  });
});

describe('mk hook called as the framework calls it', () => {
  it('rebuilds the arguments and the pre-push ref line from PRE_COMMIT_* variables', () => {
    const sha = 'a'.repeat(40);
    const from = 'b'.repeat(40);
    expect(fromPreCommitFramework('post-checkout', '', { PRE_COMMIT_FROM_REF: from, PRE_COMMIT_TO_REF: sha, PRE_COMMIT_CHECKOUT_TYPE: '1' })).toEqual({ args: [from, sha, '1'], stdin: '' });
    expect(fromPreCommitFramework('post-merge', '', { PRE_COMMIT_IS_SQUASH_MERGE: '0' })).toEqual({ args: ['0'], stdin: '' });
    expect(fromPreCommitFramework('post-rewrite', '', { PRE_COMMIT_REWRITE_COMMAND: 'rebase' })).toEqual({ args: ['rebase'], stdin: '' });
    const push = { PRE_COMMIT_REMOTE_NAME: 'origin', PRE_COMMIT_REMOTE_URL: '/srv/x.git', PRE_COMMIT_LOCAL_BRANCH: 'refs/heads/main', PRE_COMMIT_REMOTE_BRANCH: 'refs/heads/main' };
    expect(fromPreCommitFramework('pre-push', '', { ...push, PRE_COMMIT_FROM_REF: from, PRE_COMMIT_TO_REF: sha })).toEqual({
      args: ['origin', '/srv/x.git'],
      stdin: `refs/heads/main ${sha} refs/heads/main ${from}\n`,
    });
    // A push that starts at a root commit: the framework sets no FROM/TO refs.
    expect(fromPreCommitFramework('pre-push', '', push).stdin).toBe(`refs/heads/main refs/heads/main refs/heads/main ${'0'.repeat(40)}\n`);
    // Called by git itself (or husky): nothing to rebuild.
    expect(fromPreCommitFramework('post-checkout', '', {})).toEqual({ args: [], stdin: '' });
    expect(fromPreCommitFramework('pre-push', '', {})).toEqual({ args: [], stdin: '' });
  });

  let root: string;
  let cleanup: () => void;
  let R: string;
  let store: string;
  let origin: string;
  const v: Record<string, string> = {};

  beforeAll(() => {
    ({ dir: root, cleanup } = tempDir('mk-git-pcf-'));
    store = join(root, 'store');
    origin = bareRemote(join(root, 'origin.git'));
    R = newRepo(join(root, 'repo')); // mk's own hooks make the commits; the framework's calls are simulated below
    mk(R, 'remote', 'add', 'origin', store);
    g(R, 'remote', 'add', 'origin', origin);
    v.main = writeRandom(join(R, 'model.pt'), 6_000);
    writeRandom(join(R, 'train.py'), 10);
    g(R, 'add', '-A');
    g(R, 'commit', '-q', '-m', 'main data');
    g(R, 'switch', '-q', '-c', 'exp');
    v.exp = writeRandom(join(R, 'model.pt'), 6_000);
    writeRandom(join(R, 'train.py'), 11);
    g(R, 'commit', '-q', '-am', 'exp data');
    g(R, 'switch', '-q', 'main');
  });
  afterAll(() => cleanup?.());

  it('pre-push with no arguments and an empty stdin uploads the data and publishes the ModelKit', () => {
    const commit = head(R);
    const r = mkRun(
      R,
      ['hook', 'pre-push'],
      {
        PRE_COMMIT: '1',
        PRE_COMMIT_REMOTE_NAME: 'origin',
        PRE_COMMIT_REMOTE_URL: origin,
        PRE_COMMIT_LOCAL_BRANCH: 'refs/heads/main',
        PRE_COMMIT_REMOTE_BRANCH: 'refs/heads/main',
      },
      '',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(mkLines(r).some((l) => l.includes('published ModelKit'))).toBe(true);
    expectModelKit(R, store, commit, { 'model.pt': v.main });
    expect(published(store, 'main')?.digest).toBe(published(store, commit)?.digest);
  });

  it('post-checkout restores the data of the new HEAD from PRE_COMMIT_FROM_REF/TO_REF/CHECKOUT_TYPE', () => {
    const from = head(R);
    // Switch without any hook, as git does before the framework's post-checkout runs.
    g(R, '-c', 'core.hooksPath=/dev/null', 'switch', '-q', 'exp');
    const to = head(R);
    expect(fileSha(join(R, 'model.pt'))).toBe(v.main);
    // A file checkout (type 0) brings stale data in line too: the work tree holds exactly main's
    // version (where HEAD was before), which is not the user's.
    const file = mkRun(R, ['hook', 'post-checkout'], { PRE_COMMIT_FROM_REF: to, PRE_COMMIT_TO_REF: to, PRE_COMMIT_CHECKOUT_TYPE: '0' });
    expect(file.status, file.stderr).toBe(0);
    expect(fileSha(join(R, 'model.pt'))).toBe(v.exp);
    const r = mkRun(R, ['hook', 'post-checkout'], { PRE_COMMIT_FROM_REF: from, PRE_COMMIT_TO_REF: to, PRE_COMMIT_CHECKOUT_TYPE: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(fileSha(join(R, 'model.pt'))).toBe(v.exp);
    expect(gitRun(R, ['status', '--porcelain']).stdout).toBe('');
  });

  it('post-merge restores the merged data with PRE_COMMIT_IS_SQUASH_MERGE', () => {
    g(R, '-c', 'core.hooksPath=/dev/null', 'switch', '-q', 'main');
    mk(R, 'checkout');
    expect(fileSha(join(R, 'model.pt'))).toBe(v.main);
    g(R, '-c', 'core.hooksPath=/dev/null', 'merge', '-q', '--ff-only', 'exp');
    expect(fileSha(join(R, 'model.pt'))).toBe(v.main);
    const r = mkRun(R, ['hook', 'post-merge'], { PRE_COMMIT_IS_SQUASH_MERGE: '0' });
    expect(r.status, r.stderr).toBe(0);
    expect(fileSha(join(R, 'model.pt'))).toBe(v.exp);
  });
});
