/**
 * Running mk and the independent clients (kit, oras, skopeo) against the test registry.
 *
 * Everything that talks to the registry runs asynchronously. The registry started by
 * test/support/registry-server.ts writes its log into a pipe that this process drains; a
 * synchronous spawn blocks the event loop, the pipe fills up (the registry logs a line of
 * about 900 bytes for every 404, and clients probe blobs with HEAD before pushing), and
 * the registry then stops answering mid-request: the client under test hangs forever.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { peer } from '../../support/peers.js';
import { gitEnv, MK_BIN, type MkRun } from '../../support/repo.js';

export interface ToolRun {
  status: number;
  stdout: string;
  stderr: string;
  /** stdout as bytes (manifests are compared byte for byte). */
  bytes: Buffer;
  timedOut: boolean;
}

/** No command in these stories takes long: one that hangs fails its test instead of stalling the suite. */
const TIMEOUT_MS = 300_000;

export function runAsync(bin: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(out);
      const stderr = Buffer.concat(err).toString('utf8') + (timedOut ? `\n(killed after ${opts.timeoutMs ?? TIMEOUT_MS} ms)` : '');
      resolve({ status: code ?? -1, stdout: bytes.toString('utf8'), stderr, bytes, timedOut });
    });
  });
}

/** Runs a tool and returns its output; throws with everything it printed if it fails. */
export async function tool(bin: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ToolRun> {
  const r = await runAsync(bin, args, opts);
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r;
}

/** kit, with its storage in `home` (KITOPS_HOME) so runs never share or touch ~/.local/share/kitops. */
export async function kit(home: string, ...args: string[]): Promise<string> {
  return (await tool(peer('kit'), ['--progress', 'none', ...args], { env: { KITOPS_HOME: home } })).stdout;
}

export function kitRun(home: string, ...args: string[]): Promise<ToolRun> {
  return runAsync(peer('kit'), ['--progress', 'none', ...args], { env: { KITOPS_HOME: home } });
}

/** oras, with its config (credentials) in a directory of its own. */
export async function oras(home: string, ...args: string[]): Promise<ToolRun> {
  return tool(peer('oras'), args, { env: { HOME: home, DOCKER_CONFIG: home } });
}

export async function skopeo(...args: string[]): Promise<ToolRun> {
  return tool(peer('skopeo'), args);
}

/** The mk CLI, asynchronously (same environment as test/support/repo.ts's mkRun). */
export async function mkAsync(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<MkRun> {
  const r = await runAsync(process.execPath, [MK_BIN, ...args], { cwd, env: gitEnv(env) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** mk, throwing with its output if it fails; returns stdout. */
export async function mkOk(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await mkAsync(cwd, args, env);
  if (r.status !== 0) throw new Error(`mk ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** mk with --json, parsed. */
export async function mkJsonAsync<T = any>(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const out = await mkOk(cwd, [...args, '--json'], env);
  try {
    return JSON.parse(out) as T;
  } catch {
    throw new Error(`mk ${args.join(' ')} --json printed no JSON:\n${out}`);
  }
}

/** Fresh, numbered folders under `root` (`name-0`, `name-1`...). */
export function folderMaker(root: string): (name: string) => string {
  let n = 0;
  return (name) => {
    const d = join(root, `${name}-${n++}`);
    mkdirSync(d, { recursive: true });
    return d;
  };
}

/**
 * mk outside any repository, run in `cwd` with `env` (a cache of its own, as an operator without
 * the project would run it); throws with its output when it fails. A successful unpack prints
 * nothing on stderr: a Node warning (a file handle closed by the garbage collector, an unhandled
 * rejection) would show there.
 */
export function mkOutsideIn(cwd: string, env: NodeJS.ProcessEnv): (...args: string[]) => Promise<string> {
  return async (...args) => {
    const r = await mkAsync(cwd, args, env);
    if (r.status !== 0) throw new Error(`mk ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
    if (args[0] === 'modelkit' && args[1] === 'unpack' && r.stderr !== '') throw new Error(`mk ${args.join(' ')} printed on stderr:\n${r.stderr}`);
    return r.stdout;
  };
}
