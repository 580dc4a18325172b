/**
 * The README's examples run as written (issue 26), and so do the guides': every
 * ```bash runnable block (test/support/doc-examples.ts) runs, in order, in one bash with
 * `set -euo pipefail`, in a temporary folder with its own HOME and `mk` on PATH (as an
 * installed mk is), with the peers (skopeo, kit, oras...) the test setup installs, and no
 * network. The README's blocks run first (its quickstart leaves `demo/`, a repository with a
 * Git remote and a pushed ModelKit); each guide's blocks then run in a copy of that folder,
 * starting in `demo/`.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PEERS_BIN } from '../../support/peers.js';
import { MK_BIN, gitEnv, tempDir } from '../../support/repo.js';
import { docFiles, shellBlocks } from '../../support/doc-examples.js';

let root: { dir: string; cleanup: () => void };
let readme: ReturnType<typeof run> | undefined;

function env(home: string, bin: string): NodeJS.ProcessEnv {
  return gitEnv({ HOME: home, PATH: [bin, dirname(process.execPath), PEERS_BIN, process.env.PATH].join(':'), MK_CACHE_DIR: undefined, MK_HOOKS: undefined, DOCKER_CONFIG: undefined });
}

function run(dir: string, file: string, startIn?: string) {
  const blocks = shellBlocks(file).filter((b) => b.mark === 'runnable');
  // Each block is announced on stderr, so a failure names the block that failed.
  const script = ['set -euo pipefail', ...(startIn ? [`cd ${startIn}`] : []), ...blocks.map((b) => `echo ${JSON.stringify(`== ${b.file}:${b.line}`)} >&2\n${b.code}`)].join('\n');
  const r = spawnSync('bash', ['-c', script], { cwd: join(dir, 'work'), encoding: 'utf8', env: env(join(dir, 'home'), join(dir, 'bin')), maxBuffer: 64 << 20 });
  return { blocks: blocks.length, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lay(dir: string): void {
  for (const d of ['work', 'home', 'bin']) mkdirSync(join(dir, d), { recursive: true });
  symlinkSync(MK_BIN, join(dir, 'bin', 'mk'));
}

beforeAll(() => {
  root = tempDir('mk-doc-examples-');
  lay(join(root.dir, 'readme'));
  readme = run(join(root.dir, 'readme'), 'README.md');
});
afterAll(() => root?.cleanup());

describe('the examples of the docs run as written', () => {
  it('README.md', () => {
    expect(readme!.blocks).toBeGreaterThan(0);
    expect(readme!.status, `${readme!.stderr}\n${readme!.stdout}`).toBe(0);
  });

  const guides = docFiles().filter((f) => f !== 'README.md' && shellBlocks(f).some((b) => b.mark === 'runnable'));
  it.each(guides)('%s (in the README quickstart repository)', (file) => {
    expect(readme!.status, 'the README examples failed first').toBe(0);
    const dir = join(root.dir, file.replace(/\W/g, '-'));
    cpSync(join(root.dir, 'readme'), dir, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    const r = run(dir, file, 'demo');
    expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
  });
});
