/**
 * The hooks, the Git filter and the merge driver `mk install` writes name the Node that ran
 * it. When that Node is gone (moved, upgraded, another version selected) they start mk with
 * `node` on PATH; when neither is there they stop with one line saying to run 'mk install';
 * `mk install` again writes the Node that is there now.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOKS } from '../../../src/git/hook-shims.js';
import { MK_BIN, tempDir } from '../../support/repo.js';
import { bareRemote, fileSha, g, gitRun, identify, mk, mkLines, writeRandom } from '../git/support.js';

let root: string;
let cleanup: () => void;
/** A Node of its own (a hard link or copy of this one), removed once mk is installed with it. */
let movedNode: string;
/** PATH with this Node on it (and everything else the tests run with). */
let pathWithNode: string;
/** PATH with git and the few tools the hooks use, and neither node nor mk. */
let pathWithout: string;
let R: string;
const v: Record<string, string> = {};

/** The digest (hex) of the pointer Git stores for a file kept through mk's filter. */
function storedDigest(dir: string, rev: string, path: string): string {
  const m = /^digest: sha256:([0-9a-f]{64})$/m.exec(g(dir, 'show', `${rev}:${path}`));
  if (!m) throw new Error(`no pointer at ${rev}:${path}`);
  return m[1]!;
}

beforeAll(() => {
  ({ dir: root, cleanup } = tempDir('mk-moved-node-'));
  movedNode = join(root, 'node-old', 'bin', 'node');
  mkdirSync(dirname(movedNode), { recursive: true });
  try {
    linkSync(process.execPath, movedNode); // its own path: process.execPath is the link's
  } catch {
    copyFileSync(process.execPath, movedNode);
    chmodSync(movedNode, 0o755);
  }
  pathWithNode = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  const tools = join(root, 'tools');
  mkdirSync(tools);
  for (const t of ['git', 'sh', 'cat', 'cmp', 'grep']) {
    const where = spawnSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).stdout.trim();
    expect(where, t).not.toBe('');
    symlinkSync(where, join(tools, t));
  }
  pathWithout = tools;
  expect(spawnSync('sh', ['-c', 'command -v node || command -v mk'], { encoding: 'utf8', env: { PATH: pathWithout } }).status).not.toBe(0);
});
afterAll(() => cleanup?.());

describe('hooks installed with a Node that is gone', () => {
  it('mk install writes the Node that ran it into the hooks, the filter and the merge driver', () => {
    const origin = bareRemote(join(root, 'origin.git'));
    R = join(root, 'repo');
    g(root, 'clone', '-q', origin, R);
    identify(R);
    mk(R, 'init');
    mk(R, 'remote', 'add', 'origin', join(root, 'store'));
    const r = spawnSync(movedNode, [MK_BIN, 'install'], { cwd: R, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
    expect(r.status, r.stderr).toBe(0);
    for (const h of HOOKS) expect(readFileSync(join(R, '.git', 'hooks', h), 'utf8')).toContain(`mk_node='${movedNode}'`);
    expect(g(R, 'config', '--get', 'filter.mk.process')).toContain(movedNode);
    expect(g(R, 'config', '--get', 'merge.mk.driver')).toContain(movedNode);
    v.model1 = writeRandom(join(R, 'models', 'm.safetensors'), 300_000);
    v.img1 = writeRandom(join(R, 'data', 'images', 'a.png'), 2000);
    mk(R, 'add', 'data/images');
    g(R, 'add', '-A');
    const c = gitRun(R, ['commit', '-q', '-m', 'first'], { PATH: pathWithNode });
    expect(c.status, c.stderr).toBe(0);
  });

  it('once that Node is removed, git commit, push and checkout start mk with node on PATH', () => {
    rmSync(join(root, 'node-old'), { recursive: true });
    v.model2 = writeRandom(join(R, 'models', 'm.safetensors'), 300_000);
    v.img2 = writeRandom(join(R, 'data', 'images', 'b.png'), 2000);
    // The model goes through the filter (git add), the new image through the pre-commit hook.
    const add = gitRun(R, ['add', '-A'], { PATH: pathWithNode });
    expect(add.status, add.stderr).toBe(0);
    const c = gitRun(R, ['commit', '-q', '-m', 'second'], { PATH: pathWithNode });
    expect(c.status, c.stderr).toBe(0);
    expect(mkLines(c).filter((l) => l.includes('cannot start mk'))).toEqual([]);
    expect(storedDigest(R, 'HEAD', 'models/m.safetensors')).toBe(v.model2);
    expect(g(R, 'show', 'HEAD:data/images.mk.yaml')).toMatch(/^digest: sha256:/m);
    expect(g(R, 'show', 'HEAD~1:data/images.mk.yaml')).not.toBe(g(R, 'show', 'HEAD:data/images.mk.yaml'));
    const p = gitRun(R, ['push', '-q', 'origin', 'main'], { PATH: pathWithNode });
    expect(p.status, p.stderr).toBe(0);
    // Back one commit: the filter smudges the old model, post-checkout drops the new image.
    const co = gitRun(R, ['checkout', '-q', 'HEAD~1'], { PATH: pathWithNode });
    expect(co.status, co.stderr).toBe(0);
    expect(fileSha(join(R, 'models', 'm.safetensors'))).toBe(v.model1);
    expect(spawnSync('ls', [join(R, 'data', 'images')], { encoding: 'utf8' }).stdout).toBe('a.png\n');
    const back = gitRun(R, ['checkout', '-q', 'main'], { PATH: pathWithNode });
    expect(back.status, back.stderr).toBe(0);
    expect(fileSha(join(R, 'models', 'm.safetensors'))).toBe(v.model2);
    expect(fileSha(join(R, 'data', 'images', 'b.png'))).toBe(v.img2);
  });

  it('with no node and no mk on PATH, a hook and the filter each stop with one line saying to run mk install', () => {
    v.model3 = writeRandom(join(R, 'models', 'm.safetensors'), 300_000);
    const add = gitRun(R, ['add', 'models/m.safetensors'], { PATH: pathWithout });
    expect(add.status).not.toBe(0);
    const filterLines = mkLines(add);
    expect(filterLines).toHaveLength(1);
    expect(filterLines[0]).toContain("mk's Git filter (filter.mk.process) cannot start mk");
    expect(filterLines[0]).toContain("run 'mk install' to repair it");
    expect(g(R, 'diff', '--cached', '--name-only')).toBe(''); // nothing staged
    const push = gitRun(R, ['push', 'origin', 'main:other'], { PATH: pathWithout });
    expect(push.status).not.toBe(0);
    expect(mkLines(push)).toEqual([
      `mk: the pre-push hook cannot start mk (${movedNode} or ${MK_BIN} is gone, and neither node nor mk is on PATH); put mk on PATH, then run 'mk install' here to repair the hooks ('mk uninstall' removes them)`,
    ]);
    expect(gitRun(R, ['ls-remote', '--exit-code', 'origin', 'refs/heads/other']).status).toBe(2); // not pushed
  });

  it('mk install again writes the Node that is there now', () => {
    mk(R, 'install');
    for (const h of HOOKS) {
      const text = readFileSync(join(R, '.git', 'hooks', h), 'utf8');
      expect(text).toContain(`mk_node='${process.execPath}'`);
      expect(text).not.toContain(movedNode);
    }
    expect(g(R, 'config', '--get', 'filter.mk.process')).not.toContain(movedNode);
    expect(g(R, 'config', '--get', 'merge.mk.driver')).not.toContain(movedNode);
    // With only the tools on PATH: the Node written in is found again.
    const add = gitRun(R, ['add', 'models/m.safetensors'], { PATH: pathWithout });
    expect(add.status, add.stderr).toBe(0);
    const c = gitRun(R, ['commit', '-q', '-m', 'third'], { PATH: pathWithout });
    expect(c.status, c.stderr).toBe(0);
    expect(storedDigest(R, 'HEAD', 'models/m.safetensors')).toBe(v.model3);
    const p = gitRun(R, ['push', '-q', 'origin', 'main'], { PATH: pathWithout });
    expect(p.status, p.stderr).toBe(0);
  });
});
