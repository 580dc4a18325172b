/**
 * The registry dies around a `git push`: the pre-push hook refuses the push (no pointer
 * becomes public without its bytes), the git remote does not get the commit, and once a
 * registry is back on the same port and storage a later `git push` completes and publishes.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/repo.js';
import { bareRemote, env, expectModelKit, g, gitRun, head, mk, mkLines, newRepo, published, registry, setThreshold, writeRandom, type Registry, type Run } from './support.js';

let root: string;
let cleanup: () => void;
let reg: Registry;
let remote: string;
let origin: string;
let A: string;

beforeAll(async () => {
  ({ dir: root, cleanup } = tempDir('mk-git-down-'));
  reg = await registry(join(root, 'registry'));
  remote = `oci://${reg.host}/team/proj`;
  origin = bareRemote(join(root, 'origin.git'));
  A = newRepo(join(root, 'alice'));
  mk(A, 'remote', 'add', 'origin', remote);
  setThreshold(A, '100KiB');
  g(A, 'remote', 'add', 'origin', origin);
  writeRandom(join(A, 'models', 'model.pt'), 40_000);
  writeRandom(join(A, 'train.py'), 10);
  g(A, 'add', '-A');
  g(A, 'commit', '-q', '-m', 'first');
  const p = gitRun(A, ['push', '-u', 'origin', 'main']);
  expect(p.status, p.stderr).toBe(0);
});
afterAll(async () => {
  await reg?.stop();
  cleanup?.();
});

/** The refusal: git push fails, and mk said why on a line of its own starting with 'mk:'. */
function expectRefused(r: Run): void {
  expect(r.status, `git push should have failed:\n${r.stderr}`).not.toBe(0);
  const refusal = mkLines(r)[0];
  expect(refusal, r.stderr).toMatch(/^mk: push refused: /);
  expect(r.stderr).toContain('failed to push some refs');
}

describe('the registry dies during git push', () => {
  it('stopped before the push: the push is refused and the git remote keeps the old commit; after a restart a later git push completes', async () => {
    const before = g(origin, 'rev-parse', 'main').trim();
    const model = writeRandom(join(A, 'models', 'model.pt'), 40_000);
    writeRandom(join(A, 'train.py'), 11);
    g(A, 'commit', '-q', '-am', 'retrain');
    const commit = head(A);
    await reg.stop();

    expectRefused(gitRun(A, ['push']));
    expect(g(origin, 'rev-parse', 'main').trim()).toBe(before);
    expect(g(A, 'rev-parse', 'origin/main').trim()).toBe(before);

    await reg.start(); // same port, same storage root
    expect(published(remote, commit)).toBeUndefined();
    const p = gitRun(A, ['push']);
    expect(p.status, p.stderr).toBe(0);
    expect(g(origin, 'rev-parse', 'main').trim()).toBe(commit);
    expectModelKit(A, remote, commit, { 'models/model.pt': model });
  });

  it('killed in the middle of uploading a large file: the push is refused; after a restart a later git push completes', async () => {
    const before = g(origin, 'rev-parse', 'main').trim();
    const big = writeRandom(join(A, 'data', 'big.bin'), 48 << 20); // over the threshold: tracked
    writeRandom(join(A, 'train.py'), 12);
    g(A, 'add', '-A');
    g(A, 'commit', '-q', '-m', 'a large dataset');
    expect(g(A, 'ls-tree', '--name-only', 'HEAD', 'data/')).toContain('data/big.bin.mk.yaml');
    const commit = head(A);

    // Kill the registry at the first upload it receives for this push.
    const uploads = join(reg.root, 'data', 'docker', 'registry', 'v2', 'repositories', 'team', 'proj', '_uploads');
    const child = spawn('git', ['push'], { cwd: A, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    let killed = false;
    while (!killed) {
      if (existsSync(uploads) && readdirSync(uploads).length > 0) {
        await reg.stop('SIGKILL');
        killed = true;
        break;
      }
      const exited = await Promise.race([done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5))]);
      if (exited) break;
    }
    const status = await done;
    expect(killed, `the push finished before any upload was seen:\n${stderr}`).toBe(true);
    expectRefused({ status, stdout: '', stderr });
    expect(g(origin, 'rev-parse', 'main').trim()).toBe(before);

    await reg.start();
    const p = gitRun(A, ['push']);
    expect(p.status, p.stderr).toBe(0);
    expect(g(origin, 'rev-parse', 'main').trim()).toBe(commit);
    // mk verify reads every blob back from the registry and checks its digest.
    expectModelKit(A, remote, commit, { 'data/big.bin': big });
  });
});
