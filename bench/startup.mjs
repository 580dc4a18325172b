#!/usr/bin/env node
// Start-up time of the mk process that Git hooks pay on every commit and checkout (issue 12):
// wall time of bare `node -e 0` and of each hook fast path, in a small mk repository (one
// tracked artifact, hooks installed), plus how many files (ES modules) each loads and how
// many git subprocesses it starts. Prints a markdown table.
//
//   node bench/startup.mjs [--runs N] [--mk path/to/bin/mk.js]... [--node path/to/node]...
//
// On each Node release: by default the machine's (this process's) and the ones the test setup
// installs beside it (node22, node24 in ~/.cache/mk-peers/bin, when there); on Node 22 and
// later twice, with mk's module compile cache (warm, in a folder of the run's own) and without
// it (NODE_DISABLE_COMPILE_CACHE=1). With several --mk (e.g. a checkout of an older commit,
// built), each gets its own repository and its own columns. Runs are interleaved across every
// case and column (round robin, after one untimed warm-up each); min and median over N runs.
// Other work on the machine skews wall times: the load average is printed with the table.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const many = (name) => args.flatMap((a, i) => (a === name && args[i + 1] ? [resolve(args[i + 1])] : []));
const runs = Math.max(1, Number(opt('--runs', 10)));
const mks = many('--mk');
if (mks.length === 0) mks.push(join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'mk.js'));
const nodes = many('--node');
if (nodes.length === 0) {
  nodes.push(process.execPath);
  const peers = join(process.env.MK_PEERS_DIR ?? join(homedir(), '.cache', 'mk-peers'), 'bin');
  for (const n of ['node22', 'node24']) if (existsSync(join(peers, n))) nodes.push(join(peers, n));
}
const versionOf = (node) => spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
const major = (v) => Number(/^v(\d+)/.exec(v)?.[1] ?? 0);

const work = mkdtempSync(join(tmpdir(), 'mk-startup-'));
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: join(work, 'gitconfig'),
  // mk's compile cache (Node 22+) in a folder of this run's own: warm after the warm-up run.
  NODE_COMPILE_CACHE: join(work, 'compile-cache'),
};
delete env.MK_BIN;
delete env.MK_HOOKS;
delete env.NODE_DISABLE_COMPILE_CACHE;
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
  run(dir, [process.execPath, mkBin, 'init']);
  run(dir, [process.execPath, mkBin, 'install']);
  mkdirSync(join(dir, 'models'));
  writeFileSync(join(dir, 'models', 'model.safetensors'), Buffer.alloc(64 * 1024, 7));
  writeFileSync(join(dir, 'train.py'), 'print("train")\n');
  run(dir, ['git', 'add', '-A']);
  run(dir, ['git', 'commit', '-q', '-m', 'one']);
  return run(dir, ['git', 'rev-parse', 'HEAD']).trim();
}

const BARE = { name: 'bare `node -e 0`', argv: () => ['-e', '0'] };
const CASES = [
  { name: '`mk --version`', argv: () => ['--version'] },
  { name: '`mk hook pre-commit`, nothing staged', argv: () => ['hook', 'pre-commit'] },
  { name: '`mk hook post-commit`', argv: () => ['hook', 'post-commit'] },
  { name: '`mk hook post-checkout <old> <new> 1`, HEAD unchanged', argv: (head) => ['hook', 'post-checkout', head, head, '1'] },
  { name: '`mk status`', argv: () => ['status'] },
];

try {
  // The columns: each Node release (on 22 and later, with and without the compile cache) x each mk.
  const versions = nodes.map(versionOf);
  const columns = [];
  nodes.forEach((node, n) => {
    const variants = major(versions[n]) >= 22 ? [{ cache: true }, { cache: false }] : [{ cache: undefined }];
    for (const v of variants)
      mks.forEach((mkBin, m) =>
        columns.push({
          node,
          n,
          m,
          mkBin,
          extra: v.cache === false ? { NODE_DISABLE_COMPILE_CACHE: '1' } : {},
          label: `${versions[n]}${v.cache === true ? ', compile cache' : v.cache === false ? ', no compile cache' : ''}${mks.length > 1 ? `, mk #${m + 1}` : ''}`,
        }),
      );
  });
  // One measurement per (column, case), and bare node once per release.
  const heads = mks.map((mkBin, m) => {
    const cwd = join(work, `repo-${m}`);
    return { cwd, head: makeRepo(cwd, mkBin) };
  });
  const bares = nodes.map((node, n) => ({ n, cwd: work, argv: [node, ...BARE.argv()], extra: {}, times: [] }));
  const jobs = [];
  for (const col of columns)
    CASES.forEach((c, i) => {
      const { cwd, head } = heads[col.m];
      jobs.push({ col, i, cwd, argv: [col.node, col.mkBin, ...c.argv(head)], extra: col.extra, times: [] });
    });

  // Untimed: git subprocesses (a `git` on PATH that logs and calls the real one) and files
  // loaded as ES modules (a module loader hook that logs every URL but Node's own), with the
  // machine's Node.
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
  const counts = new Map(); // `${m}:${i}` -> { gits, modules }
  for (const j of jobs) {
    const key = `${j.col.m}:${j.i}`;
    if (counts.has(key)) continue;
    rmSync(gitLog, { force: true });
    rmSync(modLog, { force: true });
    run(j.cwd, [process.execPath, ...j.argv.slice(1)], { PATH: `${shim}:${env.PATH}` });
    const gits = lines(gitLog);
    run(j.cwd, [process.execPath, '--import', join(work, 'count.mjs'), ...j.argv.slice(1)], { NODE_DISABLE_COMPILE_CACHE: '1' });
    counts.set(key, { gits, modules: lines(modLog) });
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
  const all = [...bares, ...jobs];
  for (const j of all) run(j.cwd, j.argv, j.extra); // warm-up (and a warm compile cache)
  for (let r = 0; r < runs; r++) {
    for (const j of all) {
      const c0 = childTicks();
      const t0 = process.hrtime.bigint();
      run(j.cwd, j.argv, j.extra);
      j.times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      j.cpu = (j.cpu ?? 0) + (childTicks() - c0) * TICK_MS;
    }
  }

  const ms = (x) => `${x.toFixed(1)} ms`;
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`${runs} runs per cell (interleaved), load average at the end: ${load}`);
  nodes.forEach((node, n) => console.log(`node ${versions[n]}: ${node}`));
  mks.forEach((mkBin, m) => console.log(`${mks.length > 1 ? `mk #${m + 1}` : 'mk'}: ${mkBin}`));
  console.log(
    '\nmin / median wall time; (+x) = min − bare node min (the same release); cpu = mean CPU time (user + system, git subprocesses included); files = ES modules loaded (bundled chunks or source modules; files a CommonJS package require()s are not counted); git = git subprocesses\n',
  );
  console.log(`| case |${columns.map((c) => ` ${c.label} | cpu |`).join('')} files | git |`);
  console.log(`|---|${columns.map(() => '---:|---:|').join('')}---:|---:|`);
  const bareCells = columns.map((c) => {
    const b = bares[c.n];
    return ` ${ms(Math.min(...b.times))} / ${ms(median(b.times))} | ${ms(b.cpu / runs)} |`;
  });
  console.log(`| ${BARE.name} |${bareCells.join('')} | |`);
  CASES.forEach((c, i) => {
    const cells = columns.map((col) => {
      const j = jobs.find((x) => x.col === col && x.i === i);
      const min = Math.min(...j.times);
      const d = min - Math.min(...bares[col.n].times);
      return ` ${ms(min)} / ${ms(median(j.times))} (${d < 0 ? '−' : '+'}${Math.abs(d).toFixed(1)}) | ${ms(j.cpu / runs)} |`;
    });
    // With several --mk: each one's count, in order (mk #1 → mk #2 ...).
    const k = mks.map((_, m) => counts.get(`${m}:${i}`));
    console.log(`| ${c.name} |${cells.join('')} ${k.map((x) => x.modules).join(' → ')} | ${k.map((x) => x.gits).join(' → ')} |`);
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
