/**
 * What `git push` (the pre-push hook) and `mk push` publish on the registry, and what they
 * leave to git: a push git will reject keeps git's own message; every pushed commit gets its
 * ModelKit under its commit id; a branch tag is the remote ref being updated (never a local
 * branch name) and only moves forward, unless forced.
 */
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy } from '../../support/fault-proxy.js';
import { tempDir } from '../../support/repo.js';
import { bareRemote, expectModelKit, g, gitRun, gitRunAsync, head, identify, mk, mkLines, mkRun, newRepo, pointerDigest, published, registry, writeRandom, type Registry } from './support.js';

/**
 * The most registry requests a pushed commit's ModelKit may take on average: its new code
 * layer and config (HEAD, POST, PUT each), its manifest and tag, a tenth of a model. Measured:
 * 9.3 per commit for 100 commits.
 */
const PER_MODELKIT = 12;

describe('push tags: what the registry is told, and what is left to git', () => {
  let root: string;
  let cleanup: () => void;
  let reg: Registry;
  let n = 0;

  beforeAll(async () => {
    ({ dir: root, cleanup } = tempDir('mk-push-tags-'));
    reg = await registry(join(root, 'registry'));
  });
  afterAll(async () => {
    await reg?.stop();
    cleanup?.();
  });

  /** A fresh story: a bare origin, a registry repository, A with one data commit pushed to main, B an mk clone. */
  function team(): { origin: string; remote: string; repo: string; A: string; B: string } {
    const id = `t${++n}`;
    const origin = bareRemote(join(root, id, 'origin.git'));
    const repo = `team/${id}`;
    const remote = `oci://${reg.host}/${repo}`;
    const A = newRepo(join(root, id, 'alice'));
    mk(A, 'remote', 'add', 'origin', remote);
    writeRandom(join(A, 'model.pt'), 4_000);
    writeFileSync(join(A, 'train.py'), '# train\n');
    g(A, 'add', '-A');
    g(A, 'commit', '-q', '-m', 'first model');
    g(A, 'remote', 'add', 'origin', origin);
    const p = gitRun(A, ['push', '-u', 'origin', 'main']);
    expect(p.status, p.stderr).toBe(0);
    const B = join(root, id, 'bob');
    const c = mkRun(root, ['clone', origin, B]);
    expect(c.status, c.stderr).toBe(0);
    identify(B);
    return { origin, remote, repo, A, B };
  }

  /** A commit that changes the tracked model (through the pre-commit hook). */
  function commitData(dir: string, msg: string): string {
    writeRandom(join(dir, 'model.pt'), 4_000);
    writeFileSync(join(dir, 'train.py'), `# ${msg}\n`);
    const c = gitRun(dir, ['commit', '-am', msg]);
    expect(c.status, c.stderr).toBe(0);
    return head(dir);
  }

  /** The registry's tags for a repository (its own API: one request). */
  async function tags(repo: string): Promise<string[]> {
    const r = await fetch(`http://${reg.host}/v2/${repo}/tags/list?n=10000`);
    expect(r.status).toBe(200);
    return ((await r.json()) as { tags: string[] | null }).tags ?? [];
  }

  const digestOf = (remote: string, tag: string) => published(remote, tag)?.digest;

  it("a push behind the remote keeps git's own hint (fetch first, then non-fast-forward); mk publishes nothing for it; a forced push moves the branch tag", () => {
    const { remote, origin, A, B } = team();
    const theirs = commitData(B, 'bob retrains');
    expect(gitRun(B, ['push']).status).toBe(0);
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, theirs));

    // A lacks B's commit: git rejects with "fetch first"; mk must not fail before it.
    const ours = commitData(A, 'alice retrains');
    const p = gitRun(A, ['push']);
    expect(p.status).not.toBe(0);
    expect(p.stderr).toMatch(/fetch first|git pull/);
    expect(p.stderr).not.toContain('mk: push refused');
    expect(mkLines(p)).toEqual([]);
    expect(published(remote, ours)).toBeUndefined();
    expect(g(origin, 'rev-parse', 'main').trim()).toBe(theirs);

    // After a fetch without a merge, A has B's commit but has diverged: git's non-fast-forward.
    g(A, 'fetch', '-q');
    const q = gitRun(A, ['push']);
    expect(q.status).not.toBe(0);
    expect(q.stderr).toMatch(/non-fast-forward|git pull/);
    expect(q.stderr).not.toContain('mk: push refused');
    expect(published(remote, ours)).toBeUndefined();
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, theirs));

    // Forced, git accepts the rewrite, and the branch tag follows it.
    const f = gitRun(A, ['push', '--force']);
    expect(f.status, f.stderr).toBe(0);
    expect(g(origin, 'rev-parse', 'main').trim()).toBe(ours);
    expectModelKit(A, remote, ours, {}, { verify: false });
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, ours));

    // B lacks A's rewrite and pushes with a forcing refspec from its config: git accepts, so
    // B's data must go up with it (a force the hook missed would publish pointers without bytes).
    g(B, 'config', 'remote.origin.push', '+refs/heads/main:refs/heads/main');
    const bobs = commitData(B, 'bob overwrites');
    const c = gitRun(B, ['push']);
    expect(c.status, c.stderr).toBe(0);
    expect(g(origin, 'rev-parse', 'main').trim()).toBe(bobs);
    expectModelKit(B, remote, bobs, { 'model.pt': pointerDigest(B, 'HEAD', 'model.pt') });
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, bobs));
  });

  it("git push publishes the ModelKit of every pushed commit under its id; the branch tag is the remote ref's name, not the local branch's", async () => {
    const { remote, repo, A } = team();
    g(A, 'switch', '-q', '-c', 'feature');
    const c1 = commitData(A, 'one');
    writeFileSync(join(A, 'train.py'), '# code only\n');
    g(A, 'commit', '-q', '-am', 'two: code only');
    const c2 = head(A);
    const c3 = commitData(A, 'three');
    // A dry run runs the hook too: it publishes nothing.
    const dry = gitRun(A, ['push', '--dry-run', 'origin', 'feature:main']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(mkLines(dry)).toEqual([]);
    expect(published(remote, c3)).toBeUndefined();
    const p = gitRun(A, ['push', 'origin', 'feature:main']);
    expect(p.status, p.stderr).toBe(0);
    for (const c of [c1, c2, c3]) expectModelKit(A, remote, c, {}, { verify: false });
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, c3));
    expect(await tags(repo)).not.toContain('feature');

    // mk push on a branch with no upstream: the commit id only, never the local branch name.
    g(A, 'switch', '-q', '-c', 'codeonly');
    const c4 = commitData(A, 'four');
    const r = mkRun(A, ['push', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { modelkits: Array<{ tags: string[] }> }).modelkits.map((m) => m.tags)).toEqual([[c4]]);
    expect(await tags(repo)).not.toContain('codeonly');
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, c3));

    // A pushed Git tag is a registry tag too.
    g(A, 'tag', 'v1', c3);
    expect(gitRun(A, ['push', 'origin', 'v1']).status).toBe(0);
    expect(digestOf(remote, 'v1')).toBe(digestOf(remote, c3));
  });

  it('a teammate with a stale main never moves :main backwards; mk push --force does; mk push tags the upstream branch where it points', () => {
    const { remote, B, A } = team();
    const c1 = commitData(B, 'bob: C1');
    expect(gitRun(B, ['push']).status).toBe(0);
    expect(gitRun(A, ['pull', '-q', '--no-rebase']).status).toBe(0);
    const c2 = commitData(A, 'alice: C2');
    expect(gitRun(A, ['push']).status).toBe(0);
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, c2));

    // B is still at C1 (its origin/main too), and does not have C2.
    expect(head(B)).toBe(c1);
    const r = mkRun(B, ['push']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^mk: not moving tag 'main' on 'origin': it names commit [0-9a-f]{12}, which this clone does not have$/m);
    expect(r.stderr).toMatch(/^hint: .*mk push --force/m);
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, c2));
    expect(digestOf(remote, c1)).toBeDefined();

    // On purpose: --force moves it.
    const f = mkRun(B, ['push', '--force']);
    expect(f.status, f.stderr).toBe(0);
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, c1));
    // A's main (C2, where origin/main points) descends from C1: mk push moves the tag forward again.
    const a = mkRun(A, ['push']);
    expect(a.status, a.stderr).toBe(0);
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, c2));
  });

  it('a git push git accepts leaves a branch tag that names a commit it does not descend from, with a warning; mk push --force moves it', () => {
    const { remote, origin, A, B } = team();
    const base = head(A);
    // The Git remote refuses B's push after B's pre-push hook published: the registry's main is ahead of Git's.
    writeFileSync(join(origin, 'hooks', 'pre-receive'), '#!/bin/sh\necho "policy: no pushes today" >&2\nexit 1\n');
    chmodSync(join(origin, 'hooks', 'pre-receive'), 0o755);
    const lost = commitData(B, 'bob: refused by the remote');
    expect(gitRun(B, ['push']).status).not.toBe(0);
    expect(g(origin, 'rev-parse', 'main').trim()).toBe(base);
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, lost));
    rmSync(join(origin, 'hooks', 'pre-receive'));

    // A's push is a fast-forward for Git; the tag names a commit A does not have: it stays, and A is told.
    const c = commitData(A, 'alice: accepted');
    const p = gitRun(A, ['push']);
    expect(p.status, p.stderr).toBe(0);
    expect(g(origin, 'rev-parse', 'main').trim()).toBe(c);
    expect(mkLines(p)).toContain(`mk: warning: not moving tag 'main' on 'origin': it names commit ${lost.slice(0, 12)}, which this clone does not have`);
    expectModelKit(A, remote, c, {}, { verify: false });
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, lost));

    const f = mkRun(A, ['push', '--force']);
    expect(f.status, f.stderr).toBe(0);
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, c));
  });

  it('100 commits pushed at once: each gets its ModelKit under its commit id, the branch tag names the last, for a bounded number of requests each', async () => {
    const { repo, remote, A } = team();
    // A proxy in front of the registry counts the requests (the time is in bench/push-history.mjs):
    // A's own setting (.git/mk/config.yaml) sends origin through it for this push.
    const proxy = await startFaultProxy(`http://${reg.host}`);
    const local = join(A, '.git', 'mk', 'config.yaml');
    expect(existsSync(local)).toBe(false);
    writeFileSync(local, `remotes:\n  origin: oci://${proxy.host}/${repo}\n`);
    const commits: string[] = [];
    for (let i = 1; i <= 100; i++) {
      if (i % 10 === 0) {
        writeRandom(join(A, 'model.pt'), 4_000);
        mk(A, 'add', 'model.pt');
      } else writeFileSync(join(A, 'train.py'), `# step ${i}\n`);
      g(A, '-c', 'core.hooksPath=/dev/null', 'commit', '-q', '-am', `step ${i}`);
      commits.push(head(A));
    }
    proxy.clear();
    const p = await gitRunAsync(A, ['push']); // not gitRun: see gitRunAsync
    const requests = proxy.requests.length;
    await proxy.stop();
    rmSync(local);
    expect(p.status, p.stderr).toBe(0);
    expect(mkLines(p)).toContain('mk: published 99 more ModelKits, each tagged with its commit id');
    const all = await tags(repo);
    for (const c of commits) expect(all, c).toContain(c);
    expect(digestOf(remote, 'main')).toBe(digestOf(remote, commits[99]!));
    expectModelKit(A, remote, commits[49]!, {}, { verify: true });
    // A few small requests per ModelKit (its new blobs, config, manifest, tag): a regression to
    // re-sending or re-checking what earlier ModelKits already published shows here.
    expect(requests / 100).toBeLessThanOrEqual(PER_MODELKIT);
  });
});
