#!/usr/bin/env node
// Start-up time of the mk process that Git hooks pay on every commit and checkout (issue 12):
// wall time of bare `node -e 0` and of each hook fast path, in a small mk repository (one
// tracked artifact, hooks installed), plus how many files (ES modules) each loads and how
// many git subprocesses it starts. Prints a markdown table.
//
//   node bench/startup.mjs [--runs N] [--mk path/to/bin/mk.js]...
//
// With several --mk (e.g. a checkout of an older commit, built), each gets its own repository
// and its own columns, measured in the same run. Runs are interleaved across every case and
// mk (round robin, after one untimed warm-up each); min and median over N runs. Other work
// on the machine skews wall times: the load average is printed with the table.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const runs = Math.max(1, Number(opt('--runs', 10)));
const mks = args.flatMap((a, i) => (a === '--mk' && args[i + 1] ? [resolve(args[i + 1])] : []));
if (mks.length === 0) mks.push(join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'mk.js'));
const node = process.execPath;

const work = mkdtempSync(join(tmpdir(), 'mk-startup-'));
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: join(work, 'gitconfig'),
};
delete env.MK_BIN;
delete env.MK_HOOKS;
writeFileSync(env.GIT_CONFIG_GLOBAL, '[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n');

function run(cwd, argv, extra = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { cwd, env: { ...env, ...extra }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The repository: git init, mk init, mk install, and one commit with one tracked artifact. */
function makeRepo(dir, mkBin) {
  mkdirSync(dir);
  run(dir, ['git', 'init', '-q']);
  run(dir, [node, mkBin, 'init']);
  run(dir, [node, mkBin, 'install']);
  mkdirSync(join(dir, 'models'));
  writeFileSync(join(dir, 'models', 'model.safetensors'), Buffer.alloc(64 * 1024, 7));
  writeFileSync(join(dir, 'train.py'), 'print("train")\n');
  run(dir, ['git', 'add', '-A']);
  run(dir, ['git', 'commit', '-q', '-m', 'one']);
  return run(dir, ['git', 'rev-parse', 'HEAD']).trim();
}

const CASES = [
  { name: 'bare `node -e 0`', argv: () => ['-e', '0'] },
  { name: '`mk --version`', argv: () => ['--version'] },
  { name: '`mk hook pre-commit`, nothing staged', argv: () => ['hook', 'pre-commit'] },
  { name: '`mk hook post-commit`', argv: () => ['hook', 'post-commit'] },
  { name: '`mk hook post-checkout <old> <new> 1`, HEAD unchanged', argv: (head) => ['hook', 'post-checkout', head, head, '1'] },
  { name: '`mk status`', argv: () => ['status'] },
];

try {
  // One measurement per (mk, case); bare node is measured once.
  const jobs = [];
  mks.forEach((mkBin, m) => {
    const cwd = join(work, `repo-${m}`);
    const head = makeRepo(cwd, mkBin);
    CASES.forEach((c, i) => {
      if (i === 0 && m > 0) return;
      jobs.push({ m, i, cwd, mkBin, argv: i === 0 ? [node, ...c.argv(head)] : [node, mkBin, ...c.argv(head)], times: [] });
    });
  });

  // Untimed: git subprocesses (a `git` on PATH that logs and calls the real one) and files
  // loaded as ES modules (a module loader hook that logs every URL but Node's own).
  const realGit = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
  const shim = join(work, 'shim');
  mkdirSync(shim);
  const gitLog = join(work, 'git.log');
  writeFileSync(join(shim, 'git'), `#!/bin/sh\necho x >> '${gitLog}'\nexec '${realGit}' "$@"\n`);
  chmodSync(join(shim, 'git'), 0o755);
  const modLog = join(work, 'modules.log');
  writeFileSync(
    join(work, 'count-hooks.mjs'),
    `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { if (!url.startsWith('node:')) appendFileSync(${JSON.stringify(modLog)}, url + '\\n'); return next(url, context); }\n`,
  );
  writeFileSync(join(work, 'count.mjs'), `import { register } from 'node:module';\nregister('./count-hooks.mjs', import.meta.url);\n`);
  const lines = (f) => {
    try {
      return readFileSync(f, 'utf8').split('\n').filter(Boolean).length;
    } catch {
      return 0;
    }
  };
  for (const j of jobs) {
    rmSync(gitLog, { force: true });
    rmSync(modLog, { force: true });
    run(j.cwd, j.argv, { PATH: `${shim}:${env.PATH}` });
    j.gits = lines(gitLog);
    if (j.i > 0) {
      run(j.cwd, [node, '--import', join(work, 'count.mjs'), ...j.argv.slice(1)]);
      j.modules = lines(modLog);
    }
  }

  // Timed, interleaved. Besides wall time, the CPU time of the process and everything it
  // waited for (git): this process's children's user + system time in clock ticks
  // (/proc/self/stat), summed over the runs: a mean that other work on the machine skews far
  // less than wall time.
  const childTicks = () => {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[13]) + Number(f[14]);
  };
  const TICK_MS = 10; // USER_HZ is 100 on Linux
  for (const j of jobs) run(j.cwd, j.argv); // warm-up
  for (let r = 0; r < runs; r++) {
    for (const j of jobs) {
      const c0 = childTicks();
      const t0 = process.hrtime.bigint();
      run(j.cwd, j.argv);
      j.times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      j.cpu = (j.cpu ?? 0) + (childTicks() - c0) * TICK_MS;
    }
  }

  const ms = (x) => `${x.toFixed(1)} ms`;
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const bare = jobs[0];
  const bareMin = Math.min(...bare.times);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`node ${process.version}, ${runs} runs per cell (interleaved), load average at the end: ${load}`);
  mks.forEach((mkBin, m) => console.log(`${mks.length > 1 ? `mk #${m + 1}` : 'mk'}: ${mkBin}`));
  console.log(
    '\nmin / median wall time; (+x) = min − bare node min; cpu = mean CPU time (user + system, git subprocesses included); files = ES modules loaded (bundled chunks or source modules; files a CommonJS package require()s are not counted); git = git subprocesses\n',
  );
  const tag = (m) => (mks.length > 1 ? ` #${m + 1}` : '');
  console.log(`| case |${mks.map((_, m) => ` mk${tag(m)} | cpu | files | git |`).join('')}`);
  console.log(`|---|${mks.map(() => '---:|---:|---:|---:|').join('')}`);
  console.log(`| ${CASES[0].name} | ${ms(bareMin)} / ${ms(median(bare.times))} | ${ms(bare.cpu / runs)} | | |${' | | | |'.repeat(mks.length - 1)}`);
  for (let i = 1; i < CASES.length; i++) {
    const cells = mks.map((_, m) => {
      const j = jobs.find((x) => x.m === m && x.i === i);
      const min = Math.min(...j.times);
      const d = min - bareMin;
      return ` ${ms(min)} / ${ms(median(j.times))} (${d < 0 ? '−' : '+'}${Math.abs(d).toFixed(1)}) | ${ms(j.cpu / runs)} | ${j.modules} | ${j.gits} |`;
    });
    console.log(`| ${CASES[i].name} |${cells.join('')}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
