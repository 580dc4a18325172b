import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultKitfile } from '../../src/modelkit/kitfile-sync.js';

export const MK_BIN = fileURLToPath(new URL('../../bin/mk.js', import.meta.url));

/** A temporary directory removed by the returned cleanup. */
export function tempDir(prefix = 'mk-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A copy of a whole repository (work tree, .git, mk cache) in a new temporary directory. */
export function copyRepo(src: string): { dir: string; cleanup: () => void } {
  const t = tempDir('mk-repo-copy-');
  cpSync(src, t.dir, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  return t;
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
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

/** The repositories makeRepo copies, made once per test process (git init, identity, and `mk init` or not). */
const templates = new Map<boolean, string>();
function repoTemplate(init: boolean): string {
  const have = templates.get(init);
  if (have && existsSync(have)) return have;
  const dir = mkdtempSync(join(tmpdir(), 'mk-repo-template-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'config', 'commit.gpgsign', 'false');
  if (init) mk(dir, 'init', '--no-filter');
  templates.set(init, dir);
  return dir;
}

/**
 * A fresh git repository with mk initialised (`mk init --no-filter`, or none with init: false);
 * `cleanup` removes it. A copy of a repository made once per test process, so each test does
 * not pay for git init and mk init again; its Kitfile names the new folder, as mk init would.
 */
export function makeRepo(opts: { init?: boolean } = {}): { dir: string; cleanup: () => void } {
  const init = opts.init !== false;
  const template = repoTemplate(init);
  const t = tempDir('mk-repo-');
  cpSync(template, t.dir, { recursive: true });
  if (init) {
    const kitfile = defaultKitfile(basename(t.dir));
    if (readFileSync(join(t.dir, 'Kitfile'), 'utf8') !== kitfile) {
      writeFileSync(join(t.dir, 'Kitfile'), kitfile);
      git(t.dir, 'add', '--', 'Kitfile');
    }
  }
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

/** Runs mk with `--json` (before any `--`) and parses its stdout; throws with its output if it fails. */
export function mkJson<T = any>(cwd: string, ...args: string[]): T {
  const dd = args.indexOf('--');
  const out = mk(cwd, ...(dd < 0 ? [...args, '--json'] : [...args.slice(0, dd), '--json', ...args.slice(dd)]));
  try {
    return JSON.parse(out) as T;
  } catch {
    throw new Error(`mk ${args.join(' ')} --json printed no JSON:\n${out}`);
  }
}

export interface MkProcess {
  child: ChildProcess;
  /** Resolves when the process exits (never rejects). */
  done: Promise<MkRun & { signal: NodeJS.Signals | null; ms: number }>;
}

/** Starts the real CLI without waiting for it (for concurrency and crash tests). */
export function mkSpawn(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): MkProcess {
  const t0 = Date.now();
  const child = spawn(process.execPath, [MK_BIN, ...args], { cwd, env: gitEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<MkRun & { signal: NodeJS.Signals | null; ms: number }>((resolve) => {
    child.on('close', (code, signal) => resolve({ status: code ?? -1, signal, stdout, stderr, ms: Date.now() - t0 }));
  });
  return { child, done };
}

/**
 * The error contract of the CLI: a non-zero exit, and on stderr exactly one line starting
 * with `mk: `, optionally followed by one `hint: ` line. Returns the `mk: ` line.
 */
export function expectMkError(r: MkRun, mentions?: string | RegExp): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const where = `exit ${r.status}; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`;
  if (r.status === 0) throw new Error(`expected mk to fail, but it exited 0 (${where})`);
  if (lines.length < 1 || lines.length > 2) throw new Error(`expected one error line (and maybe a hint), got ${lines.length} lines (${where})`);
  if (!lines[0]!.startsWith('mk: ')) throw new Error(`error line does not start with 'mk: ' (${where})`);
  if (lines[0]!.startsWith('mk: internal error')) throw new Error(`mk crashed instead of reporting the problem (${where})`);
  if (lines.length === 2 && !lines[1]!.startsWith('hint: ')) throw new Error(`second line is not a 'hint: ' (${where})`);
  if (mentions !== undefined) {
    const ok = typeof mentions === 'string' ? lines[0]!.includes(mentions) : mentions.test(lines[0]!);
    if (!ok) throw new Error(`error line does not mention ${String(mentions)} (${where})`);
  }
  return lines[0]!;
}
