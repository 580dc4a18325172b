import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MK_BIN = fileURLToPath(new URL('../../bin/mk.js', import.meta.url));

/** A temporary directory removed by the returned cleanup. */
export function tempDir(prefix = 'mk-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: gitEnv() });
}

export function gitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    GIT_CONFIG_NOSYSTEM: '1',
    ...extra,
  };
}

/** A fresh git repository with mk initialised; `cleanup` removes it. */
export function makeRepo(opts: { init?: boolean } = {}): { dir: string; cleanup: () => void } {
  const t = tempDir('mk-repo-');
  git(t.dir, 'init', '-q', '-b', 'main');
  git(t.dir, 'config', 'user.name', 'Test');
  git(t.dir, 'config', 'user.email', 'test@example.com');
  git(t.dir, 'config', 'commit.gpgsign', 'false');
  if (opts.init !== false) mk(t.dir, 'init');
  return t;
}

export interface MkRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (bin/mk.js) in `cwd`. */
export function mkRun(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): MkRun {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [MK_BIN, ...args], { cwd, encoding: 'utf8', env: gitEnv(env) });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs mk and throws with its output if it fails. */
export function mk(cwd: string, ...args: string[]): string {
  const r = mkRun(cwd, args);
  if (r.status !== 0) throw new Error(`mk ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}
