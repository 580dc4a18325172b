/**
 * The fault-injection harness: runs real commands (mk through bin/mk.js, git with the
 * installed hooks), kills them or their hook at seeded random moments, counts the faults
 * that really landed, and records every check that failed with what is needed to replay it.
 *
 * Everything here is asynchronous on purpose: the fault proxy runs in this process, and a
 * synchronous spawn would stop it from answering the mk it is waiting for.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { env } from '../../e2e/git/support.js';
import { corruptBlobs, rng, sha256File, snapshotTree, tempLeftovers } from '../../support/files.js';
import { expectMkError, MK_BIN } from '../../support/repo.js';
import { isTmpName } from '../../../src/util/fs.js';

/** 1 in CI; `npm run faults` runs the same trials ×10. */
export const SCALE = Math.max(0.1, Number(process.env.MK_FAULTS_SCALE ?? 1));
export const SEED = Number(process.env.MK_FAULTS_SEED ?? Date.now() % 1_000_000);
/** A killed mk can leave a lock behind (see the report): do not let one wait cost a minute. */
export const LOCK_TIMEOUT = process.env.MK_FAULTS_LOCK_TIMEOUT ?? '5';

/** The environment of every command: no global git config, hooks on, the short lock timeout. */
export function runEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return env({ MK_LOCK_TIMEOUT: LOCK_TIMEOUT, ...extra });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Processes

export interface Run {
  status: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Proc {
  child: ChildProcess;
  done: Promise<Run>;
  exited: boolean;
}

/** Starts a command; `detached` puts it in a process group of its own (git with hooks). */
export function start(cmd: string, args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}, detached = false): Proc {
  const t0 = Date.now();
  const child = spawn(cmd, args, { cwd, env: runEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'], detached });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const p: Proc = { child, exited: false, done: undefined as unknown as Promise<Run> };
  p.done = new Promise<Run>((resolve) => {
    child.on('error', (e) => ((stderr += String(e)), undefined));
    child.on('close', (code, signal) => {
      p.exited = true;
      resolve({ status: code ?? -1, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
  return p;
}

export function startMk(cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Proc {
  return start(process.execPath, [MK_BIN, ...args], cwd, extraEnv);
}

export function mkAsync(cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  return startMk(cwd, args, extraEnv).done;
}

export function gitAsync(cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  return start('git', args, cwd, extraEnv).done;
}

function describeRun(what: string, r: Run): string {
  return `${what} exited ${r.status}${r.signal ? ` (${r.signal})` : ''}:\n${r.stderr}${r.stdout}`.trimEnd();
}

/** Runs mk and throws with its output unless it exits 0. */
export async function mkOk(cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  const r = await mkAsync(cwd, args, extraEnv);
  if (r.status !== 0) throw new Error(describeRun(`mk ${args.join(' ')}`, r));
  return r;
}

export async function gitOk(cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await gitAsync(cwd, args, extraEnv);
  if (r.status !== 0) throw new Error(describeRun(`git ${args.join(' ')}`, r));
  return r.stdout;
}

/**
 * Lets `p` run for `delayMs`, then SIGKILLs it. `killed`: the signal really ended it
 * (it had not finished on its own).
 */
export async function killAfter(p: Proc, delayMs: number): Promise<{ run: Run; killed: boolean }> {
  await Promise.race([p.done, sleep(delayMs)]);
  if (!p.exited) p.child.kill('SIGKILL');
  const run = await p.done;
  return { run, killed: run.signal === 'SIGKILL' };
}

/** `[state, pgrp]` of a process from /proc/<pid>/stat, or undefined when it is gone. */
function procStat(pid: number): { state: string; ppid: number; pgrp: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0]!, ppid: Number(f[1]), pgrp: Number(f[2]) };
  } catch {
    return undefined;
  }
}

/** The pid of `node bin/mk.js hook <name>` (one of `names`) running in process group `pgid`, if any. */
export function findHook(pgid: number, names: string | string[], except?: Set<number>): number | undefined {
  const wanted = typeof names === 'string' ? [names] : names;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    const st = procStat(pid);
    if (!st || st.pgrp !== pgid || (except && (except.has(pid) || st.state === 'Z'))) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const i = argv.indexOf('hook');
    if (i > 0 && argv[i - 1]!.endsWith('mk.js') && wanted.includes(argv[i + 1]!)) return pid;
  }
  return undefined;
}

export interface HookKill {
  /** The hook process was seen. */
  found: boolean;
  /** SIGKILL reached it while it was still running. */
  injected: boolean;
  /** How long after it was seen it was killed (or found gone). */
  afterMs: number;
}

/**
 * Waits for git (started detached, so its pid is its process group) to start mk's hook (any of `names`)
 * hook, lets the hook run `delayMs`, then SIGKILLs that mk process only (git lives on and
 * sees its hook die).
 */
export async function killHookAfter(gitProc: Proc, names: string | string[], delayMs: number): Promise<HookKill> {
  const pgid = gitProc.child.pid!;
  const seen = new Set<number>();
  let pid: number | undefined;
  while (!gitProc.exited && !(pid = findHook(pgid, names))) await sleep(4);
  if (pid === undefined) return { found: false, injected: false, afterMs: 0 };
  const t0 = Date.now();
  const end = t0 + delayMs;
  // Look every few ms whether it already finished, so a kill never hits a reused pid. With
  // several hooks named, the delay counts from the first one mk ran, and the kill goes to
  // whichever of them runs mk at that moment (a command's first hook may be a quick check).
  for (;;) {
    const st = procStat(pid);
    if (!st || st.state === 'Z' || st.pgrp !== pgid) {
      const doneMs = Date.now() - t0;
      if (typeof names === 'string') return { found: true, injected: false, afterMs: doneMs };
      seen.add(pid);
      let next: number | undefined;
      while (!gitProc.exited && (next = findHook(pgid, names, seen)) === undefined) await sleep(4);
      if (next === undefined) return { found: true, injected: false, afterMs: doneMs };
      pid = next;
      continue;
    }
    if (Date.now() >= end) break;
    await sleep(Math.min(5, end - Date.now()));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return { found: true, injected: false, afterMs: Date.now() - t0 };
  }
  return { found: true, injected: true, afterMs: Date.now() - t0 };
}

/**
 * Kill moments: uniform in [min, span], where span starts at an uninterrupted run's duration
 * and shrinks whenever a run finishes before its kill, so most kills land mid-work.
 */
export class Span {
  constructor(
    public ms: number,
    private readonly min = 40,
  ) {
    this.ms = Math.max(ms, min + 60);
  }
  next(rand: () => number): number {
    return Math.round(this.min + rand() * (this.ms - this.min));
  }
  /** A run that finished on its own after `ms` (before the kill). */
  finishedIn(ms: number): void {
    this.ms = Math.max(this.min + 60, Math.min(this.ms, ms) * 0.85);
  }
}

// ---------------------------------------------------------------------------------------------
// Checks

const hashMemo = new Map<string, string>();
/** sha256 of a file, not re-read while its inode, size and times are unchanged. */
export function hashOnce(path: string): string {
  const st = statSync(path);
  const key = `${path}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  let h = hashMemo.get(key);
  if (!h) hashMemo.set(key, (h = sha256File(path)));
  return h;
}

/** rel path → sha256 of the data files under `root` named by `paths` (files or folders); absent ones are left out. */
export function dataState(root: string, paths: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of paths) {
    const abs = join(root, p);
    if (!existsSync(abs)) continue;
    // mk's own temporary files (`.<name>.mk-tmp-<pid>-<hex>`) are not data: a kill leaves
    // them mid-write, and the rerun must sweep them (checked with tempLeftovers).
    if (statSync(abs).isDirectory()) {
      for (const [rel, st] of snapshotTree(abs)) if (!isTmpName(rel.split('/').pop()!)) out.set(`${p}/${rel}`, st.sha);
    } else out.set(p, hashOnce(abs));
  }
  return out;
}

/** Differences between two data states, as readable lines (empty when equal). */
export function diffState(got: Map<string, string>, want: Map<string, string>, max = 8): string[] {
  const out: string[] = [];
  for (const [p, h] of want) if (got.get(p) !== h) out.push(got.has(p) ? `${p}: wrong content` : `${p}: missing`);
  for (const p of got.keys()) if (!want.has(p)) out.push(`${p}: unexpected file`);
  return out.length > max ? [...out.slice(0, max), `... ${out.length - max} more`] : out;
}

export function expectState(got: Map<string, string>, want: Map<string, string>, what: string): void {
  const d = diffState(got, want);
  if (d.length) throw new Error(`${what}: work tree differs from what it should be:\n  ${d.join('\n  ')}`);
}

/**
 * After a killed switch between versions `a` and `b` of the same paths: each file is whole
 * and is `a`'s or `b`'s (a file both versions have is never missing).
 */
export function expectOldOrNew(got: Map<string, string>, a: Map<string, string>, b: Map<string, string>, what: string): void {
  const bad: string[] = [];
  for (const [p, h] of got) if (a.get(p) !== h && b.get(p) !== h) bad.push(`${p}: neither version (${a.has(p) || b.has(p) ? 'torn or foreign content' : 'unexpected file'})`);
  for (const p of a.keys()) if (b.has(p) && !got.has(p)) bad.push(`${p}: missing (both versions have it)`);
  if (bad.length) throw new Error(`${what}: data is not old-or-new:\n  ${bad.slice(0, 8).join('\n  ')}`);
}

export function fail(what: string, detail: unknown): never {
  throw new Error(`${what}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
}

export function expectNone(list: string[], what: string): void {
  if (list.length) throw new Error(`${what}: ${list.slice(0, 8).join(', ')}${list.length > 8 ? ` (+${list.length - 8})` : ''}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Files in an OCI layout's ingest/ written by processes that are gone (a killed writer's leftovers). */
export function deadIngest(layoutRoot: string): string[] {
  const dir = join(layoutRoot, 'ingest');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => {
    const m = /-(\d+)-[0-9a-f]{12}$/.exec(n);
    return !m || !alive(Number(m[1]));
  });
}

/**
 * What killed writers left under `root` (a work tree, `.git/mk`, a cache or a layout remote):
 * partial blobs of dead processes in ingest/ (or cache/ingest/), and mk-tmp files anywhere
 * (data, pointers, index.json, verified.json, the stat cache...).
 */
export function layoutLeftovers(root: string): string[] {
  if (!existsSync(root)) return [];
  const ingest = [...deadIngest(root).map((n) => `ingest/${n}`), ...deadIngest(join(root, 'cache')).map((n) => `cache/ingest/${n}`)];
  return [...ingest, ...tempLeftovers(root)];
}

/**
 * Leftovers of killed processes that appear during one trial (those of earlier trials were
 * reported by those trials). `check` fails when the trial added any under `roots`.
 */
export class Leftovers {
  private readonly before = new Map<string, Set<string>>();
  constructor(private readonly roots: string[]) {
    for (const r of roots) this.before.set(r, new Set(layoutLeftovers(r)));
  }
  check(what: string): void {
    const fresh: string[] = [];
    for (const r of this.roots) for (const l of layoutLeftovers(r)) if (!this.before.get(r)!.has(l)) fresh.push(`${r}/${l}`);
    expectNone(fresh, `${what}: temporary files of dead mk processes left behind`);
  }
}

/** An OCI layout (cache or local remote) after a fault: every blob hashes to its name. */
export function expectSoundLayout(root: string, what: string): void {
  expectNone(corruptBlobs(root), `${what}: blobs whose bytes do not match their digest in ${root}`);
}

/** Every blob a docker-registry holds on disk, checked against its digest. */
export function corruptRegistryBlobs(registryRoot: string): string[] {
  const dir = join(registryRoot, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256');
  const bad: string[] = [];
  if (!existsSync(dir)) return bad;
  for (const pre of readdirSync(dir)) {
    for (const hex of readdirSync(join(dir, pre))) {
      const data = join(dir, pre, hex, 'data');
      if (!existsSync(data)) continue;
      if (hashOnce(data) !== hex) bad.push(hex);
    }
  }
  return bad;
}

/** The sha256 (hex) a pointer file records. */
export function pointerDigest(text: string): string {
  const m = /^digest: sha256:([0-9a-f]{64})$/m.exec(text);
  if (!m) throw new Error(`not a pointer:\n${text}`);
  return m[1]!;
}

/**
 * The mk error contract for a command that failed (expectMkError of test/support/repo.ts):
 * one `mk: ` line, maybe a `hint: ` line, never an internal error. Returns the `mk: ` line.
 */
export function expectCleanError(r: Run, what: string): string {
  try {
    if (r.signal) throw new Error(`it died of ${r.signal}`);
    return expectMkError(r);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
  }
}

/** The `mk:` lines a hook printed through git: none may be an internal error. */
export function expectNoInternalError(r: Run, what: string): void {
  const l = (r.stderr + r.stdout).split(/\r|\n/).find((x) => /^mk: internal error/.test(x));
  if (l) throw new Error(`${what}: ${l}`);
}

// ---------------------------------------------------------------------------------------------
// Counting

export interface Failure {
  category: string;
  seed: number;
  trial: number;
  what: string;
  message: string;
}

export interface CategoryStats {
  category: string;
  seed: number;
  trials: number;
  injected: number;
  recovered: number;
  failures: number;
  /** Faults by kind (what was injected and where). */
  kinds: Record<string, number>;
  ms: number;
}

export interface Trial {
  n: number;
  rand: () => number;
  /** The command and the moment, for the failure report. */
  what: string;
  /** The fault really landed. */
  injected: boolean;
  kind: string;
  /** Problems found by checks that let the trial go on (see `soft`). */
  problems: string[];
  /**
   * Runs a check whose failure does not make the rest of the trial meaningless (a leftover
   * file, say): the problem is recorded, the trial goes on and fails at its end.
   */
  soft(check: () => void | Promise<void>): Promise<void>;
}

export class Tally {
  readonly stats: CategoryStats[] = [];
  /** Category names in the order tables list them (categories run in two lanes at once). */
  order: string[] = [];
  readonly failures: Failure[] = [];
  readonly t0 = Date.now();
  /**
   * Set when the suite is being torn down (see faults.test.ts's afterAll): no category starts
   * another trial, so nothing runs in folders the teardown removes. A trial in flight finishes
   * and counts as it ends.
   */
  stopping = false;
  /** The machine's 1-minute load average, sampled every 30 s while the suite runs (the machine may be shared): recorded with the results. */
  private readonly loads: number[] = [loadavg()[0]!];
  private readonly sampler = setInterval(() => this.loads.push(loadavg()[0]!), 30_000).unref();
  /** The commit under test, taken when the run starts (others may commit during a long run), and whether src/ had edits. */
  readonly source = (() => {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: fileURLToPath(new URL('../../..', import.meta.url)), encoding: 'utf8' }).trim();
    try {
      return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--', 'src', 'bin', 'hooks') !== '' };
    } catch {
      return { commit: '?', dirty: false };
    }
  })();

  /**
   * Runs trials of one category until `target` faults landed (at most 3×target trials). A
   * trial that throws is a failure: recorded with its seed and moment, then `reset` restores
   * a known state so the next trials still mean something.
   */
  async category(name: string, target: number, body: (t: Trial) => Promise<void>, reset: (t: Trial) => Promise<void> | void): Promise<CategoryStats> {
    const seed = categorySeed(name);
    const rand = rng(seed);
    const s: CategoryStats = { category: name, seed, trials: 0, injected: 0, recovered: 0, failures: 0, kinds: {}, ms: 0 };
    this.stats.push(s);
    const t0 = Date.now();
    const want = Math.max(1, Math.round(target * SCALE));
    for (let n = 0; s.injected < want && n < want * 3 && !this.stopping; n++) {
      const problems: string[] = [];
      const soft = async (check: () => void | Promise<void>) => {
        try {
          await check();
        } catch (e) {
          problems.push(String((e as Error)?.message ?? e));
        }
      };
      const t: Trial = { n, rand, what: '', injected: false, kind: '', problems, soft };
      s.trials++;
      let broken = false;
      try {
        await body(t);
      } catch (e) {
        problems.push(String((e as Error)?.message ?? e));
        broken = true;
      }
      if (problems.length === 0) {
        if (t.injected) s.recovered++;
      } else {
        s.failures++;
        const message = problems.map((p) => p.split('\n').slice(0, 30).join('\n')).join('\n');
        this.failures.push({ category: name, seed, trial: n, what: t.what, message });
        console.log(`FAULT FAILURE [${name}] MK_FAULTS_SEED=${SEED} trial ${n}: ${t.what}\n${message}`);
        if (broken) await reset(t);
      }
      if (t.injected) {
        s.injected++;
        s.kinds[t.kind] = (s.kinds[t.kind] ?? 0) + 1;
      }
    }
    s.ms = Date.now() - t0;
    return s;
  }

  private sorted(): CategoryStats[] {
    const at = (c: string) => (this.order.includes(c) ? this.order.indexOf(c) : this.order.length);
    return [...this.stats].sort((a, b) => at(a.category) - at(b.category));
  }

  total(): number {
    return this.stats.reduce((a, s) => a + s.injected, 0);
  }

  table(): string {
    const rows = this.sorted().map((s) => [s.category, String(s.injected), String(s.recovered), String(s.failures), String(s.trials), `${(s.ms / 1000).toFixed(1)} s`]);
    const tot = this.stats.reduce((a, s) => [a[0]! + s.injected, a[1]! + s.recovered, a[2]! + s.failures, a[3]! + s.trials], [0, 0, 0, 0]);
    rows.push(['total', ...tot.map(String), `${((Date.now() - this.t0) / 1000).toFixed(1)} s`]);
    const head = ['category', 'faults injected', 'recovered cleanly', 'failures', 'trials', 'time'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
    return [line(head), ...rows.map(line)].join('\n');
  }

  /** Faults by kind, per category. */
  kinds(): string {
    return this.sorted()
      .map(
        (s) =>
          `${s.category}: ${Object.entries(s.kinds)
            .map(([k, n]) => `${k} ×${n}`)
            .join('; ')}`,
      )
      .join('\n');
  }

  /** Writes the results as JSON where `npm run faults` asked for them (with the commit and whether src/ had edits). */
  save(): void {
    const out = process.env.MK_FAULTS_OUT;
    if (!out) return;
    const date = new Date(this.t0).toISOString();
    const { commit, dirty } = this.source;
    clearInterval(this.sampler);
    const l = [...this.loads, loadavg()[0]!];
    const load = { mean: l.reduce((a, b) => a + b, 0) / l.length, min: Math.min(...l), max: Math.max(...l), samples: l.length };
    writeFileSync(out, JSON.stringify({ seed: SEED, scale: SCALE, date, commit, dirty, ms: Date.now() - this.t0, load, stats: this.sorted(), failures: this.failures }, null, 1));
  }
}

/** Each category's own seed, from the run's seed and its name: one category replays alone. */
export function categorySeed(name: string): number {
  let h = 2166136261;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return (SEED ^ h) >>> 0;
}
