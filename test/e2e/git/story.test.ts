/**
 * The team story, with real git and the installed hooks: A commits data with plain
 * `git add`/`git commit` and pushes; B clones and has the same bytes; B retrains, commits,
 * pushes; A pulls; both switch branches and the data follows; `mk checkout <rev>` brings back
 * an old revision; every pushed commit has its ModelKit on the remote. Once with a registry
 * remote, once with a local OCI layout remote.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/repo.js';
import {
  bareRemote,
  expectModelKit,
  fileSha,
  g,
  gitRun,
  head,
  identify,
  mk,
  mkLines,
  mkRun,
  newRepo,
  pointerDigest,
  published,
  registry,
  setThreshold,
  treeFiles,
  writeRandom,
  type Registry,
} from './support.js';

describe.each(['registry', 'layout'] as const)('team story with a %s remote', (kind) => {
  let root: string;
  let cleanup: () => void;
  let reg: Registry | undefined;
  let remote: string; // the mk remote URL
  let origin: string; // the bare git remote
  let A: string;
  let B: string;
  /** Content hashes of what each commit holds. */
  const v: Record<string, string> = {};
  const commits: Record<string, string> = {};

  beforeAll(async () => {
    ({ dir: root, cleanup } = tempDir(`mk-git-story-${kind}-`));
    if (kind === 'registry') {
      reg = await registry(join(root, 'registry'));
      remote = `oci://${reg.host}/team/proj`;
    } else {
      remote = join(root, 'store');
    }
    origin = bareRemote(join(root, 'origin.git'));
    A = join(root, 'alice');
    B = join(root, 'bob');
  });
  afterAll(async () => {
    await reg?.stop();
    cleanup?.();
  });

  it('A: mk init, mk install, mk remote add; plain git add/commit tracks data by pattern and size; git push publishes', () => {
    newRepo(A);
    mk(A, 'remote', 'add', 'origin', remote);
    setThreshold(A, '100KiB');
    writeRandom(join(A, 'train.py'), 10);
    g(A, 'add', '-A'); // no data yet: a first commit of code and config
    g(A, 'commit', '-q', '-m', 'project skeleton');
    v.model1 = writeRandom(join(A, 'models', 'model.pt'), 50_000); // small, matches *.pt
    v.train1 = writeRandom(join(A, 'data', 'train.bin'), 150_000); // no pattern, over the threshold
    v.notes = writeRandom(join(A, 'data', 'notes.txt'), 2_000); // neither: stays in git
    const add = gitRun(A, ['add', '-A']);
    expect(add.status).toBe(0);
    const c = gitRun(A, ['commit', '-m', 'first data']);
    expect(c.status, c.stderr).toBe(0);
    expect(mkLines(c)).toEqual(expect.arrayContaining([expect.stringContaining('tracking models/model.pt'), expect.stringContaining('tracking data/train.bin')]));
    const tree = treeFiles(A);
    expect(tree).toEqual(expect.arrayContaining(['models/model.pt.mk.yaml', 'data/train.bin.mk.yaml', 'data/notes.txt', 'train.py', '.mk/config.yaml', 'Kitfile']));
    expect(tree).not.toContain('models/model.pt');
    expect(tree).not.toContain('data/train.bin');
    expect(pointerDigest(A, 'HEAD', 'models/model.pt')).toBe(v.model1);
    expect(pointerDigest(A, 'HEAD', 'data/train.bin')).toBe(v.train1);
    expect(gitRun(A, ['check-ignore', '-q', 'models/model.pt']).status).toBe(0);
    expect(gitRun(A, ['check-ignore', '-q', 'data/train.bin']).status).toBe(0);
    expect(g(A, 'status', '--porcelain')).toBe('');
    commits.first = head(A);

    g(A, 'remote', 'add', 'origin', origin);
    const p = gitRun(A, ['push', '-u', 'origin', 'main']);
    expect(p.status, p.stderr).toBe(0);
    expect(mkLines(p).some((l) => l.includes('published ModelKit'))).toBe(true);
    expect(g(origin, 'rev-parse', 'main').trim()).toBe(commits.first);
    expectModelKit(A, remote, commits.first, { 'models/model.pt': v.model1, 'data/train.bin': v.train1 });
    // The branch name is a tag too, on the same manifest.
    expect(published(remote, 'main')?.digest).toBe(published(remote, commits.first)?.digest);
  });

  it('B: mk clone gets byte-identical data; a plain git clone + mk install + mk pull does too', () => {
    const r = mkRun(root, ['clone', origin, B]);
    expect(r.status, r.stderr).toBe(0);
    identify(B);
    expect(fileSha(join(B, 'models', 'model.pt'))).toBe(v.model1);
    expect(fileSha(join(B, 'data', 'train.bin'))).toBe(v.train1);
    expect(fileSha(join(B, 'data', 'notes.txt'))).toBe(v.notes);
    expect(g(B, 'status', '--porcelain')).toBe('');
    expect(mk(B, 'status')).not.toMatch(/modified|deleted|not cached/);

    const C = join(root, 'carol');
    g(root, 'clone', '-q', origin, C);
    mk(C, 'install');
    mk(C, 'pull');
    expect(fileSha(join(C, 'models', 'model.pt'))).toBe(v.model1);
    expect(fileSha(join(C, 'data', 'train.bin'))).toBe(v.train1);
    expect(g(C, 'status', '--porcelain')).toBe('');
    rmSync(C, { recursive: true, force: true });
  });

  it('B: git commit -am with only data changed stops with the hint, the same command again commits; a data+code commit goes through at once; git push', () => {
    const before = head(B);
    v.model2 = writeRandom(join(B, 'models', 'model.pt'), 50_000);
    const first = gitRun(B, ['commit', '-am', 'retrain']);
    expect(first.status).not.toBe(0);
    expect(first.stderr).toContain('mk: only tracked data changed');
    expect(first.stderr).toContain("hint: run the same 'git commit -a");
    expect(head(B)).toBe(before);
    const again = gitRun(B, ['commit', '-am', 'retrain']);
    expect(again.status, again.stderr).toBe(0);
    expect(pointerDigest(B, 'HEAD', 'models/model.pt')).toBe(v.model2);
    commits.retrain = head(B);

    // Data and code in one commit: git sees a change, the first try works.
    v.model3 = writeRandom(join(B, 'models', 'model.pt'), 50_000);
    v.train2 = writeRandom(join(B, 'data', 'train.bin'), 150_000);
    writeRandom(join(B, 'train.py'), 12);
    const both = gitRun(B, ['commit', '-am', 'retrain with new data and code']);
    expect(both.status, both.stderr).toBe(0);
    expect(pointerDigest(B, 'HEAD', 'models/model.pt')).toBe(v.model3);
    expect(pointerDigest(B, 'HEAD', 'data/train.bin')).toBe(v.train2);
    expect(g(B, 'status', '--porcelain')).toBe('');
    commits.bob = head(B);

    const p = gitRun(B, ['push']);
    expect(p.status, p.stderr).toBe(0);
    expect(g(origin, 'rev-parse', 'main').trim()).toBe(commits.bob);
    expectModelKit(B, remote, commits.bob, { 'models/model.pt': v.model3, 'data/train.bin': v.train2 });
    expect(published(remote, 'main')?.digest).toBe(published(remote, commits.bob)?.digest);
  });

  it("A: git pull brings B's data (post-merge), including the data of B's intermediate commit on the remote", () => {
    const r = gitRun(A, ['pull', '--no-rebase']);
    expect(r.status, r.stderr).toBe(0);
    expect(head(A)).toBe(commits.bob);
    expect(mkLines(r).some((l) => l.includes('restored the data'))).toBe(true);
    expect(fileSha(join(A, 'models', 'model.pt'))).toBe(v.model3);
    expect(fileSha(join(A, 'data', 'train.bin'))).toBe(v.train2);
    expect(g(A, 'status', '--porcelain')).toBe('');
    // The pre-push hook uploaded the data of every pushed commit, not just the tip's.
    const pr = mkRun(A, ['pull', commits.retrain]);
    expect(pr.status, pr.stderr).toBe(0);
    expect(fileSha(join(A, 'models', 'model.pt'))).toBe(v.model2);
    mk(A, 'checkout', 'HEAD');
    expect(fileSha(join(A, 'models', 'model.pt'))).toBe(v.model3);
    expect(g(A, 'status', '--porcelain')).toBe('');
  });

  it('both switch branches (git switch / git checkout) and the data follows', () => {
    g(A, 'switch', '-q', '-c', 'exp');
    v.train3 = writeRandom(join(A, 'data', 'train.bin'), 150_000);
    writeRandom(join(A, 'train.py'), 14);
    const c = gitRun(A, ['commit', '-am', 'experiment: new training data']);
    expect(c.status, c.stderr).toBe(0);
    commits.exp = head(A);
    const p = gitRun(A, ['push', '-u', 'origin', 'exp']);
    expect(p.status, p.stderr).toBe(0);
    expectModelKit(A, remote, commits.exp, { 'data/train.bin': v.train3, 'models/model.pt': v.model3 });
    expect(published(remote, 'exp')?.digest).toBe(published(remote, commits.exp)?.digest);

    // B never had exp's data: post-checkout fetches it from the default remote.
    g(B, 'fetch', '-q');
    const sw = gitRun(B, ['switch', 'exp']);
    expect(sw.status, sw.stderr).toBe(0);
    expect(fileSha(join(B, 'data', 'train.bin'))).toBe(v.train3);
    expect(g(B, 'status', '--porcelain')).toBe('');
    const back = gitRun(B, ['checkout', 'main']);
    expect(back.status, back.stderr).toBe(0);
    expect(fileSha(join(B, 'data', 'train.bin'))).toBe(v.train2);
    expect(fileSha(join(B, 'models', 'model.pt'))).toBe(v.model3);

    const a = gitRun(A, ['checkout', 'main']);
    expect(a.status, a.stderr).toBe(0);
    expect(fileSha(join(A, 'data', 'train.bin'))).toBe(v.train2);
    g(A, 'switch', '-q', 'exp');
    expect(fileSha(join(A, 'data', 'train.bin'))).toBe(v.train3);
    g(A, 'switch', '-q', 'main');
    expect(g(A, 'status', '--porcelain')).toBe('');
    expect(g(B, 'status', '--porcelain')).toBe('');
  });

  it("mk checkout <rev> restores an old revision's data (and its pointers), mk checkout HEAD comes back", () => {
    const r = mkRun(A, ['checkout', commits.first]);
    expect(r.status, r.stderr).toBe(0);
    expect(fileSha(join(A, 'models', 'model.pt'))).toBe(v.model1);
    expect(fileSha(join(A, 'data', 'train.bin'))).toBe(v.train1);
    // Like 'git checkout <rev> -- paths': the old pointers are in the index, ready to commit.
    expect(g(A, 'diff', '--cached', '--name-only').split('\n').filter(Boolean).sort()).toEqual(['data/train.bin.mk.yaml', 'models/model.pt.mk.yaml']);
    mk(A, 'checkout', 'HEAD');
    expect(fileSha(join(A, 'models', 'model.pt'))).toBe(v.model3);
    expect(fileSha(join(A, 'data', 'train.bin'))).toBe(v.train2);
    expect(g(A, 'status', '--porcelain')).toBe('');
    // Every pushed commit still has its ModelKit.
    for (const c of [commits.first, commits.bob, commits.exp]) expectModelKit(A, remote, c!, {}, { verify: false });
  });
});
