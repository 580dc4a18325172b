// Running measured commands: wall time from the parent, peak RSS from GNU time (%M),
// a hard per-command timeout from coreutils `timeout`, output kept in a log file.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstErrorLine } from './util.mjs';

export const GNU_TIME = '/usr/bin/time';

let seq = 0;

/** Settings every measured command shares (env, timeout, log file); set by run.mjs. */
export const procDefaults = {
  env: process.env,
  timeoutSec: 1800,
  log: undefined,
  /** Where GNU time writes its report (a tmpfs-free local dir is fine). */
  scratch: tmpdir(),
};

/** Thrown by a step when a command fails; `.cell` is what the report shows. */
export class StepError extends Error {
  constructor(message) {
    super(message);
    this.cell = `error: ${message}`;
  }
}

function writeLog(header, r) {
  if (!procDefaults.log) return;
  const out = [r.stdout, r.stderr].map((b) => (b ? b.toString() : '')).join('');
  const trimmed = out.length > 20000 ? `${out.slice(0, 10000)}\n...[${out.length - 20000} chars cut]...\n${out.slice(-10000)}` : out;
  appendFileSync(procDefaults.log, `$ ${header}\n${trimmed}${trimmed.endsWith('\n') || !trimmed ? '' : '\n'}`);
}

/**
 * Runs one command (argv array, no shell) and returns { wall, rss, code, stdout, stderr }.
 * rss is the peak resident set of the largest process of the tree GNU time waited for, in bytes.
 */
export function runOnce(argv, { cwd, env, timeoutSec, input } = {}) {
  const rssFile = join(procDefaults.scratch, `.bench-rss-${process.pid}-${seq++}`);
  const t = timeoutSec ?? procDefaults.timeoutSec;
  const haveTime = existsSync(GNU_TIME);
  const full = [...(haveTime ? [GNU_TIME, '-f', '%M', '-o', rssFile] : []), 'timeout', '-k', '10', String(t), ...argv];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), {
    cwd,
    env: env ?? procDefaults.env,
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    maxBuffer: 512 * 1024 * 1024,
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  let rss;
  if (haveTime) {
    try {
      const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
      const kb = Number(lines[lines.length - 1]);
      if (Number.isFinite(kb)) rss = kb * 1024;
    } catch {
      /* no report: the command could not start */
    }
    rmSync(rssFile, { force: true });
  }
  writeLog(`(cd ${cwd ?? '.'} && ${argv.join(' ')})  # ${wall.toFixed(3)} s, exit ${r.status ?? r.signal}`, r);
  let code = r.status;
  if (r.error) code = -1;
  return { wall, rss, code, stdout: r.stdout?.toString() ?? '', stderr: (r.stderr?.toString() ?? '') + (r.error ? String(r.error.message) : ''), timedOut: code === 124 || code === 137 };
}

/**
 * Runs the commands of one measured step in order. Returns { wall, rss } where wall covers all of
 * them and rss is the largest peak. Throws StepError with the first telling line on a failure.
 * cmds: [{ argv, cwd?, env? }]
 */
export function runStep(cmds, common = {}) {
  let wall = 0;
  let rss;
  for (const c of cmds) {
    const r = runOnce(c.argv, { ...common, ...c });
    wall += r.wall;
    if (r.rss !== undefined) rss = Math.max(rss ?? 0, r.rss);
    if (r.code !== 0) {
      const what = c.argv
        .slice(0, 3)
        .map((a) => a.split('/').pop())
        .join(' ');
      if (r.timedOut) throw new StepError(`${what}: timed out after ${common.timeoutSec ?? procDefaults.timeoutSec} s`);
      throw new StepError(`${what}: ${firstErrorLine(r.stderr || r.stdout)}`);
    }
  }
  return { wall, rss };
}

/** Runs a command that is not measured (setup); throws StepError on failure. Returns stdout. */
export function sh(argv, opts = {}) {
  const r = runOnce(argv, opts);
  if (r.code !== 0) {
    const what = argv
      .slice(0, 3)
      .map((a) => a.split('/').pop())
      .join(' ');
    throw new StepError(`${what}: ${firstErrorLine(r.stderr || r.stdout)}`);
  }
  return r.stdout;
}

/** A command's first output line, or undefined when it fails (for version strings). */
export function firstLine(argv, opts = {}) {
  try {
    const r = spawnSync(argv[0], argv.slice(1), { env: procDefaults.env, timeout: 60000, ...opts });
    if (r.status !== 0) return undefined;
    return (r.stdout.toString() + r.stderr.toString())
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean);
  } catch {
    return undefined;
  }
}

/** Flushes dirty pages so the next timed step does not pay for an earlier step's writeback. */
export function syncDisks() {
  spawnSync('sync', [], { stdio: 'ignore' });
}
