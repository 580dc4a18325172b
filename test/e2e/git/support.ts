/**
 * Helpers for the end-to-end Git stories: real git (bare remote + clones in temp dirs), the
 * real CLI through the installed hooks, a real registry that can be stopped and started
 * again on the same port and storage, and independent checks of what was published (skopeo).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { freePort, REGISTRY_BIN, registryConfig } from '../../support/registry-server.js';
import { gitEnv, MK_BIN } from '../../support/repo.js';

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of every command: fixed identity, no system or global git config (a
 * developer's core.hooksPath or init.defaultBranch must not change the stories).
 */
export function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e = gitEnv({ GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0', ...extra });
  // Variables a hook manager may have set for the process running the tests.
  for (const k of Object.keys(e)) if (k.startsWith('PRE_COMMIT_') || k === 'MK_HOOKS' || k === 'MK_PUBLISH' || k === 'GIT_DIR' || k === 'GIT_INDEX_FILE' || k === 'GIT_WORK_TREE') delete e[k];
  return { ...e, ...extra };
}

/** Runs git as a user would; never throws. */
export function gitRun(cwd: string, args: string[], extra: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: env(extra), maxBuffer: 64 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * Runs git without blocking this process. Use it for a push that makes hundreds of requests:
 * a registry started by `registry()` writes a log line for every 404 (each HEAD of a new blob)
 * into a pipe this process reads, and while a spawnSync blocks it the pipe fills and the
 * registry stops answering.
 */
export function gitRunAsync(cwd: string, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn('git', args, { cwd, env: env(extra) });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

/** Runs git and throws with everything it (and mk's hooks) printed when it fails. */
export function g(cwd: string, ...args: string[]): string {
  const r = gitRun(cwd, args);
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed (${r.status}) in ${cwd}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Runs the real CLI; never throws. */
export function mkRun(cwd: string, args: string[], extra: NodeJS.ProcessEnv = {}, input?: string): Run {
  const r = spawnSync(process.execPath, [MK_BIN, ...args], { cwd, encoding: 'utf8', env: env(extra), input });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs the real CLI and throws with its output when it fails. */
export function mk(cwd: string, ...args: string[]): string {
  const r = mkRun(cwd, args);
  if (r.status !== 0) throw new Error(`mk ${args.join(' ')} failed (${r.status}) in ${cwd}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * A new work tree: `git init -b main`, identity, then (by default) `mk init` and `mk install`.
 * The stories written for pointer files beside the data run `mk init --no-filter`; `filter: true`
 * gives the default setup, where `track:` files go through mk's Git filter.
 */
export function newRepo(dir: string, opts: { mk?: boolean; filter?: boolean } = {}): string {
  mkdirSync(dir, { recursive: true });
  g(dir, 'init', '-q', '-b', 'main');
  g(dir, 'config', 'user.name', 'Test');
  g(dir, 'config', 'user.email', 'test@example.com');
  g(dir, 'config', 'commit.gpgsign', 'false');
  if (opts.mk !== false) {
    expect(mkRun(dir, opts.filter ? ['init'] : ['init', '--no-filter']).status).toBe(0);
    expect(mkRun(dir, ['install']).status).toBe(0);
  }
  return dir;
}

/** Identity for a clone made by `git clone` or `mk clone`. */
export function identify(dir: string): void {
  g(dir, 'config', 'user.name', 'Test');
  g(dir, 'config', 'user.email', 'test@example.com');
  g(dir, 'config', 'commit.gpgsign', 'false');
}

/** A bare repository whose HEAD is main. */
export function bareRemote(dir: string): string {
  mkdirSync(dir, { recursive: true });
  g(dir, 'init', '-q', '--bare', '-b', 'main');
  return dir;
}

/** Sets size_threshold in the team config (the template says 10MiB; tests use small files). */
export function setThreshold(dir: string, size: string): void {
  const f = join(dir, '.mk', 'config.yaml');
  const text = readFileSync(f, 'utf8');
  expect(text).toMatch(/^size_threshold: .*$/m);
  writeFileSync(f, text.replace(/^size_threshold: .*$/m, `size_threshold: ${size}`));
}

/** Writes `size` random bytes (a fresh version of a data file) and returns their sha256. */
export function writeRandom(path: string, size: number): string {
  mkdirSync(dirname(path), { recursive: true });
  const b = randomBytes(size);
  writeFileSync(path, b);
  return sha256(b);
}

export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

export function fileSha(path: string): string {
  return sha256(readFileSync(path));
}

export function head(dir: string, rev = 'HEAD'): string {
  return g(dir, 'rev-parse', rev).trim();
}

/** Paths in a commit's tree. */
export function treeFiles(dir: string, rev = 'HEAD'): string[] {
  return g(dir, 'ls-tree', '-r', '--name-only', rev).split('\n').filter(Boolean);
}

/** The digest (hex) a pointer records at a revision. */
export function pointerDigest(dir: string, rev: string, dataPath: string): string {
  const text = g(dir, 'show', `${rev}:${dataPath}.mk.yaml`);
  const m = /^digest: sha256:([0-9a-f]{64})$/m.exec(text);
  if (!m) throw new Error(`no digest in ${rev}:${dataPath}.mk.yaml:\n${text}`);
  return m[1]!;
}

/** `mk:` lines printed by the hooks. */
export function mkLines(r: Run): string[] {
  // git's progress lines end with '\r' (and an erase-line sequence on a terminal).
  return (
    (r.stderr + r.stdout)
      // eslint-disable-next-line no-control-regex -- removing terminal escapes is the point
      .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
      .split(/\r|\n/)
      .filter((l) => l.startsWith('mk: '))
  );
}

// ---------------------------------------------------------------------------------------------
// A registry that can be killed and started again on the same port and storage root.

export interface Registry {
  host: string;
  port: number;
  /** Holds config.yml and data/; survives stop(). */
  root: string;
  /** Starts (again) on the same port and storage. */
  start(): Promise<void>;
  /** SIGKILL by default: the registry dies as a crashed server would. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  log(): string;
}

async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
    return r.status === 200;
  } catch {
    return false;
  }
}

export async function registry(root: string): Promise<Registry> {
  const port = await freePort();
  mkdirSync(join(root, 'data'), { recursive: true });
  const cfg = join(root, 'config.yml');
  writeFileSync(cfg, registryConfig(root, port));
  let child: ChildProcess | undefined;
  let output = '';
  const url = `http://127.0.0.1:${port}`;
  const reg: Registry = {
    host: `127.0.0.1:${port}`,
    port,
    root,
    log: () => output,
    async start() {
      const c = spawn(REGISTRY_BIN, ['serve', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      let exited = false;
      c.on('exit', () => (exited = true));
      c.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      c.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const deadline = Date.now() + 120_000; // a hang guard: a loaded machine starts it slowly
      while (!(await answers(url))) {
        if (exited) throw new Error(`docker-registry exited before answering:\n${output}`);
        if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${url}:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill(signal);
      await gone;
    },
  };
  await reg.start();
  return reg;
}

// ---------------------------------------------------------------------------------------------
// What a remote holds, seen by an independent client (skopeo).

export interface Published {
  /** sha256:... of the manifest bytes. */
  digest: string;
  manifest: {
    artifactType?: string;
    config: { mediaType: string; digest: string };
    layers: Array<{ mediaType: string; digest: string; size: number; annotations?: Record<string, string> }>;
    annotations?: Record<string, string>;
  };
}

/** skopeo's name for the ModelKit tagged `tag` on an mk remote URL (oci://host/repo or a layout path). */
export function skopeoRef(remoteUrl: string, tag: string): string[] {
  if (remoteUrl.startsWith('oci://')) return ['--tls-verify=false', `docker://${remoteUrl.slice('oci://'.length)}:${tag}`];
  return [`oci:${remoteUrl}:${tag}`];
}

/** The manifest tagged `tag` in the remote, or undefined when there is none. */
export function published(remoteUrl: string, tag: string): Published | undefined {
  const r = spawnSync('skopeo', ['inspect', '--raw', ...skopeoRef(remoteUrl, tag)], { encoding: 'buffer', env: env() });
  if (r.status !== 0) return undefined;
  const raw = r.stdout as Buffer;
  return { digest: `sha256:${sha256(raw)}`, manifest: JSON.parse(raw.toString('utf8')) };
}

/**
 * Asserts that the remote holds the ModelKit of `commit` under the commit id: a KitOps
 * manifest whose revision annotation is the commit, and whose raw data layers are exactly the
 * files the commit's pointers name. Then `mk verify` (run in `repo`) rebuilds it from the commit
 * and compares it digest by digest.
 */
export function expectModelKit(repo: string, remoteUrl: string, commit: string, data: Record<string, string> = {}, opts: { verify?: boolean } = {}): Published {
  const p = published(remoteUrl, commit);
  expect(p, `no ModelKit tagged ${commit} in ${remoteUrl}`).toBeDefined();
  expect(p!.manifest.artifactType).toBe('application/vnd.kitops.modelkit.manifest.v1+json');
  expect(p!.manifest.config.mediaType).toBe('application/vnd.kitops.modelkit.config.v1+json');
  expect(p!.manifest.annotations?.['org.opencontainers.image.revision']).toBe(commit);
  for (const [path, hex] of Object.entries(data)) {
    const layer = p!.manifest.layers.find((l) => l.annotations?.['org.cncf.model.filepath'] === path);
    expect(layer, `no layer for ${path} in the ModelKit of ${commit}`).toBeDefined();
    expect(layer!.digest).toBe(`sha256:${hex}`);
  }
  if (opts.verify !== false) {
    const v = mkRun(repo, ['verify', commit]);
    expect(v.status, `mk verify ${commit}:\n${v.stderr}${v.stdout}`).toBe(0);
  }
  return p!;
}

/** Lists a directory tree's files with their contents (to compare hook folders). */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const names = execFileSync('find', [dir, '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  for (const n of names) out[n.slice(dir.length + 1)] = readFileSync(n, 'utf8');
  return out;
}
