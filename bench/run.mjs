#!/usr/bin/env node
// mk benchmark harness: mk vs Git LFS vs DVC vs hardware floors, on generated data.
// Usage: node bench/run.mjs [--quick] [--only big,small,medium,pipeline] [--tools mk,lfs,dvc,floor]
//        [--reps N] [--dir PATH] [--out FILE] [--mk-remote registry|layout] [--timeout SEC]
//        [--keep] [--no-install]
// See docs/BENCHMARKS.md ("How to run") and `--help`.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasets, ensureDataset } from './lib/data.mjs';
import { filesystemOf, loadAverage, machineInfo } from './lib/machine.mjs';
import { GNU_TIME, procDefaults } from './lib/proc.mjs';
import { stopAllRegistries, REGISTRY_BIN } from './lib/registry.mjs';
import { ROWS, renderReport } from './lib/report.mjs';
import { Results } from './lib/results.mjs';
import { runScenario, STEP_NEEDS } from './lib/scenario.mjs';
import { fmtBytes, fmtRatio, fmtSeconds, log, rmrf } from './lib/util.mjs';
import { dvcTool } from './tools/dvc.mjs';
import { runFloors } from './tools/floors.mjs';
import { lfsTool } from './tools/lfs.mjs';
import { mkTool, probeMk } from './tools/mk.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');

const HELP = `mk benchmark: mk vs Git LFS vs DVC vs floors (openssl sha256, cp -r, skopeo copy)

  --quick              scaled-down data: 256 MiB file, 2,000 small files, 20 x 10 MiB
  --only LIST          datasets to run: big, small, medium (comma-separated); pipeline: mk repro
                       beside dvc repro with nothing to do (bench/pipeline.mjs, --reps runs)
  --tools LIST         columns to run: mk, lfs, dvc, floor (default: all)
  --reps N             repetitions per measurement (default 3)
  --dir PATH           work dir for data and temp repos (default $MK_BENCH_DIR or /tmp/mk-bench)
  --out FILE           report file (default: docs/BENCHMARKS.md for a full run of everything,
                       else <work dir>/BENCHMARKS-<mode>.md)
  --mk-remote KIND     registry (default: loopback docker-registry) or layout (local OCI layout)
  --timeout SEC        per-command timeout (default 1800)
  --remote-dir PATH    where remotes live (default: /dev/shm/mk-bench-remotes when /dev/shm is a
                       tmpfs with room, i.e. another filesystem: git-lfs hardlinks objects into a
                       file:// remote on the same filesystem, so its push would move no bytes)
  --no-hooks           do not run "mk install" (time mk without its Git hooks)
  --mk-no-filter       "mk init --no-filter": single files get a pointer file beside them, as
                       before mk kept them through Git's filter (compares with older tables)
  --report-only FILE   re-render the report from a results-*.json of an earlier run
  --keep               keep the temp repos under <work dir>/runs
  --no-install         do not run test/support/install-peers.sh for missing peers
`;

function parseArgs(argv) {
  const o = {
    quick: false,
    only: undefined,
    tools: ['mk', 'lfs', 'dvc', 'floor'],
    reps: 3,
    dir: process.env.MK_BENCH_DIR || '/tmp/mk-bench',
    out: undefined,
    mkRemote: 'registry',
    timeout: 1800,
    keep: false,
    install: true,
    remoteDir: undefined,
    hooks: true,
    reportOnly: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = () => inline ?? next();
    switch (flag) {
      case '--quick':
        o.quick = true;
        break;
      case '--only':
        o.only = val()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        break;
      case '--tools':
        o.tools = val()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        break;
      case '--reps':
        o.reps = Math.max(1, Number(val()) | 0);
        break;
      case '--dir':
        o.dir = val();
        break;
      case '--out':
        o.out = val();
        break;
      case '--mk-remote':
        o.mkRemote = val();
        break;
      case '--timeout':
        o.timeout = Number(val());
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--remote-dir':
        o.remoteDir = val();
        break;
      case '--no-hooks':
        o.hooks = false;
        break;
      case '--mk-no-filter':
        o.mkNoFilter = true;
        break;
      case '--report-only':
        o.reportOnly = val();
        break;
      case '--no-install':
        o.install = false;
        break;
      case '-h':
      case '--help':
        process.stdout.write(HELP);
        process.exit(0);
      default:
        throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  const known = ['big', 'small', 'medium', 'pipeline'];
  for (const d of o.only ?? []) if (!known.includes(d)) throw new Error(`unknown dataset '${d}' (one of ${known.join(', ')})`);
  for (const t of o.tools) if (!['mk', 'lfs', 'dvc', 'floor'].includes(t)) throw new Error(`unknown tool '${t}' (one of mk, lfs, dvc, floor)`);
  if (!['registry', 'layout'].includes(o.mkRemote)) throw new Error('--mk-remote is registry or layout');
  return o;
}

const onPath = (cmd, env) => spawnSync('bash', ['-c', `command -v ${cmd}`], { env }).status === 0;

/** Finds the peers; runs install-peers.sh once for what is missing. Returns { have, bins, unavailable }. */
function findPeers(env, opts) {
  const peersBin = join(process.env.MK_PEERS_DIR || join(homedir(), '.cache', 'mk-peers'), 'bin');
  const check = () => ({
    lfs: spawnSync('git', ['lfs', 'version'], { env }).status === 0,
    dvc: existsSync(join(peersBin, 'dvc')) || onPath('dvc', env),
    skopeo: onPath('skopeo', env),
    registry: existsSync(REGISTRY_BIN),
    openssl: onPath('openssl', env),
    time: existsSync(GNU_TIME),
  });
  let have = check();
  const want = (k) => (k === 'lfs' ? opts.tools.includes('lfs') : k === 'dvc' ? opts.tools.includes('dvc') : true);
  const missing = Object.keys(have).filter((k) => !have[k] && want(k));
  if (missing.length && opts.install) {
    log(`peers missing: ${missing.join(', ')}; running test/support/install-peers.sh`);
    const which = new Set();
    for (const k of missing) which.add(k === 'dvc' ? 'dvc' : 'apt');
    if (missing.includes('time') || missing.includes('openssl')) {
      const pk = [missing.includes('time') ? 'time' : '', missing.includes('openssl') ? 'openssl' : ''].filter(Boolean);
      spawnSync('bash', ['-c', `apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${pk.join(' ')} >/dev/null 2>&1`], {
        stdio: 'inherit',
        env,
      });
    }
    const apt = [...which].filter((w) => w !== 'time');
    if (apt.length) {
      const r = spawnSync('bash', [join(ROOT, 'test', 'support', 'install-peers.sh'), ...apt], { stdio: ['ignore', 'inherit', 'inherit'], env });
      if (r.status !== 0) log('install-peers.sh reported failures (see above); continuing without what is still missing');
    }
    have = check();
  }
  const names = { lfs: 'git-lfs', dvc: 'dvc', skopeo: 'skopeo', registry: 'docker-registry', openssl: 'openssl', time: 'GNU time (peak RSS)' };
  const unavailable = Object.keys(have)
    .filter((k) => !have[k] && want(k))
    .map((k) => `${names[k]}: could not be installed${opts.install ? '' : ' (--no-install)'}`);
  for (const u of unavailable) log(`NOT AVAILABLE: ${u}; continuing without it`);
  const bins = { dvc: existsSync(join(peersBin, 'dvc')) ? join(peersBin, 'dvc') : have.dvc ? 'dvc' : undefined };
  return { have, bins, unavailable, peersBin };
}

function writeGitConfig(work, env) {
  const file = join(work, 'gitconfig');
  writeFileSync(
    file,
    [
      '[user]',
      '\tname = mk bench',
      '\temail = bench@example.invalid',
      '[init]',
      '\tdefaultBranch = main',
      '[gc]',
      '\tauto = 0',
      '[advice]',
      '\tdetachedHead = false',
      '[core]',
      '\tautocrlf = false',
      '',
    ].join('\n'),
  );
  // Global LFS filters (so a fresh `git clone` smudges); hooks are installed per repo.
  spawnSync('git', ['lfs', 'install', '--skip-repo'], { cwd: work, env: { ...env, GIT_CONFIG_GLOBAL: file }, stdio: 'ignore' });
  return file;
}

/**
 * Sections of the report file that other scripts own (`## Start-up`, written by
 * bench/startup.mjs): kept at the end when the main tables are rewritten.
 */
function keptSections(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  const i = text.search(/^## Start-up\b/m);
  return i < 0 ? '' : `\n${text.slice(i).trimEnd()}\n`;
}

/** Re-renders a report from the JSON an earlier run saved (to change the format without re-measuring). */
function reportOnly(opts) {
  const saved = JSON.parse(readFileSync(resolve(opts.reportOnly), 'utf8'));
  const results = new Results();
  results.data = saved.results;
  const all = datasets(saved.meta.mode === 'quick');
  const dsets = Object.fromEntries(saved.meta.datasets.map((id) => [id, { ...all[id], ...(saved.meta.dsExtra?.[id] ?? {}) }]));
  const md = renderReport({ results, dsets, tools: saved.meta.columns, machine: saved.machine, meta: saved.meta, ctx: saved.ctx });
  const out = opts.out ? resolve(opts.out) : resolve(opts.reportOnly).replace(/\.json$/, '.md');
  writeFileSync(out, md + keptSections(out));
  process.stdout.write(`${md}\n`);
  log(`report re-rendered into ${out}`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.reportOnly) return reportOnly(opts);
  if (opts.only?.includes('pipeline')) {
    // Its own script (a table of its own in docs/BENCHMARKS.md): mk repro and dvc repro with nothing to do.
    const r = spawnSync(process.execPath, [join(HERE, 'pipeline.mjs'), '--runs', String(opts.reps), ...(opts.quick ? ['--files', '2000'] : [])], { stdio: 'inherit' });
    if (r.status !== 0) process.exitCode = r.status ?? 1;
    opts.only = opts.only.filter((d) => d !== 'pipeline');
    if (!opts.only.length) return;
  }
  const t0 = Date.now();
  const work = resolve(opts.dir);
  mkdirSync(work, { recursive: true });
  const mode = opts.quick ? 'quick' : 'full';
  const runsDir = join(work, 'runs');
  const runId = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const logsDir = join(work, 'logs', `${mode}-${runId}`);
  rmrf(runsDir);
  rmrf(logsDir);
  mkdirSync(runsDir, { recursive: true });
  mkdirSync(logsDir, { recursive: true });

  const baseEnv = { ...process.env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', DVC_NO_ANALYTICS: '1' };
  delete baseEnv.NODE_OPTIONS;
  const peersBin = join(process.env.MK_PEERS_DIR || join(homedir(), '.cache', 'mk-peers'), 'bin');
  baseEnv.PATH = [peersBin, baseEnv.PATH].join(delimiter);
  const peers = findPeers(baseEnv, opts);
  baseEnv.GIT_CONFIG_GLOBAL = writeGitConfig(work, baseEnv);
  procDefaults.env = baseEnv;
  procDefaults.timeoutSec = opts.timeout;
  procDefaults.scratch = work;

  const loadStart = loadAverage();
  const fs = filesystemOf(work);
  log(`work dir ${work} on ${fs.type}, ${fs.avail} free; mode ${mode}, ${opts.reps} repetitions`);

  const dsAll = datasets(opts.quick);
  const largest = Math.max(
    ...Object.values(dsAll)
      .filter((d) => !opts.only || opts.only.includes(d.id))
      .map((d) => d.totalBytes),
  );
  const remote = chooseRemoteRoot(opts, work, fs, 2 * largest + 1024 ** 3);
  log(`remotes in ${remote.root}: ${remote.note}`);

  const ctx = {
    work,
    remoteRoot: remote.root,
    remoteNote: remote.note,
    runsDir,
    logsDir,
    env: baseEnv,
    keep: opts.keep,
    mkBin: opts.tools.includes('mk') ? snapshotMk(work) : join(ROOT, 'bin', 'mk.js'),
    mkRemote: opts.mkRemote,
    noHooks: !opts.hooks,
    mkNoFilter: !!opts.mkNoFilter,
    bins: peers.bins,
    skopeoBlobs: {},
    layoutInfo: {},
    mkChange: {},
    mkUpload: {},
    layoutDir: (ds) => join(work, 'layouts', `${mode}-${ds.id}`),
  };
  rmrf(join(work, 'layouts'));

  // Columns: each tool that can run, or an explanation for the ones that cannot.
  const tools = [];
  const unavailable = [...peers.unavailable];
  const naColumns = [];
  let mkCaps = { ok: false };
  if (opts.tools.includes('mk')) {
    mkCaps = probeMk(ctx);
    if (mkCaps.ok) {
      tools.push(mkTool(ctx, mkCaps));
      log(`mk ${mkCaps.version}: push ${mkCaps.push ? 'yes' : 'no'}, pull ${mkCaps.pull ? 'yes' : 'no'}, remote add ${mkCaps.remoteAdd ? 'yes' : 'no'}; startup ${fmtSeconds(mkCaps.startup)}`);
      if (mkCaps.push && opts.mkRemote === 'registry' && !peers.have.registry) {
        ctx.mkRemote = 'layout';
        log('docker-registry missing: mk pushes to a local OCI layout instead');
      }
    } else {
      unavailable.push(`mk: ${mkCaps.why} (build it with npx tsc -p tsconfig.json)`);
      naColumns.push({ id: 'mk', label: 'mk', why: `n/a: ${mkCaps.why}` });
    }
  }
  if (opts.tools.includes('lfs')) {
    if (peers.have.lfs) tools.push(lfsTool(ctx));
    else naColumns.push({ id: 'lfs', label: 'Git LFS', why: 'n/a: git-lfs could not be installed' });
  }
  if (opts.tools.includes('dvc')) {
    if (peers.have.dvc) tools.push(dvcTool(ctx));
    else naColumns.push({ id: 'dvc', label: 'DVC', why: 'n/a: dvc could not be installed' });
  }
  const columns = [...tools, ...naColumns].sort((a, b) => ['mk', 'lfs', 'dvc'].indexOf(a.id) - ['mk', 'lfs', 'dvc'].indexOf(b.id));

  const dsets = Object.fromEntries(Object.entries(dsAll).filter(([id]) => !opts.only || opts.only.includes(id)));
  const dataRoot = join(work, 'data', mode);
  for (const ds of Object.values(dsets)) await ensureDataset(ds, dataRoot);

  const results = new Results();
  for (const c of naColumns) for (const ds of Object.values(dsets)) for (const row of Object.keys(STEP_NEEDS)) results.na(ds.id, row, c.id, c.why);

  const stop = () => {
    stopAllRegistries();
    process.exit(130);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  for (const ds of Object.values(dsets)) {
    log(`== ${ds.id}: ${ds.title}`);
    for (let rep = 0; rep < opts.reps; rep++) {
      for (const tool of tools) {
        log(`-- ${ds.id} rep ${rep + 1}/${opts.reps}: ${tool.label}`);
        try {
          await runScenario({ tool, ds, rep, ctx, results });
        } catch (e) {
          log(`  ${tool.id}/${ds.id}: harness error: ${e.stack ?? e}`);
          for (const row of Object.keys(STEP_NEEDS)) results.error(ds.id, row, tool.id, `error: harness: ${String(e.message ?? e).split('\n')[0]}`);
        }
      }
      if (opts.tools.includes('floor')) {
        log(`-- ${ds.id} rep ${rep + 1}/${opts.reps}: floors`);
        try {
          await runFloors({ ds, rep, ctx, results, have: peers.have });
        } catch (e) {
          log(`  floors/${ds.id}: harness error: ${e.stack ?? e}`);
        }
      }
    }
  }
  if (!opts.tools.includes('floor'))
    for (const ds of Object.values(dsets)) for (const row of ROWS) for (const f of row.floors) results.na(ds.id, row.id, `floor:${f}`, 'n/a: floors not run (--tools)');
  stopAllRegistries();
  if (!opts.keep && remote.own) rmrf(remote.root);

  const elapsed = fmtSeconds((Date.now() - t0) / 1000);
  const machine = machineInfo({ workDir: work, tools: peers.bins });
  const meta = {
    command: `node bench/run.mjs${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    mode,
    reps: opts.reps,
    loadStart,
    loadEnd: loadAverage(),
    elapsed,
    unavailable,
    mkVersion: mkCaps.ok ? `${mkCaps.version} (${gitDescribe()})` : 'not available',
    mkStartup: mkCaps.startup,
    remoteNote: remote.note,
    mkRemoteDesc: !mkCaps.push
      ? 'none (`mk push` not implemented yet)'
      : ctx.mkRemote === 'registry'
        ? 'loopback docker-registry (oci://127.0.0.1:PORT/bench/<dataset>), fresh per repetition'
        : 'local OCI layout directory',
  };
  meta.datasets = Object.keys(dsets);
  meta.columns = columns.map((c) => ({ id: c.id, label: c.label }));
  meta.mkHooks =
    (mkCaps.install && opts.hooks ? 'installed (`mk install`)' : mkCaps.install ? 'not installed (--no-hooks)' : '`mk install` not implemented yet') +
    (opts.mkNoFilter ? '; repositories made with `mk init --no-filter` (single files get a pointer file beside them, no Git filter)' : '');
  const md = renderReport({ results, dsets, tools: columns, machine, meta, ctx });
  const fullRun = !opts.quick && !opts.only && ['mk', 'lfs', 'dvc', 'floor'].every((t) => opts.tools.includes(t));
  const out = opts.out ? resolve(opts.out) : fullRun ? join(ROOT, 'docs', 'BENCHMARKS.md') : join(work, `BENCHMARKS-${mode}.md`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md + keptSections(out));
  const savedCtx = { mkRemote: ctx.mkRemote, skopeoBlobs: ctx.skopeoBlobs, layoutInfo: ctx.layoutInfo, mkChange: ctx.mkChange, mkUpload: ctx.mkUpload };
  const jsonOut = fullRun && !opts.out ? join(work, 'results-full.json') : join(work, `results-${basename(out).replace(/\.md$/i, '')}.json`);
  writeFileSync(jsonOut, JSON.stringify({ machine, meta, ctx: savedCtx, results }, null, 1));
  process.stdout.write(`${md}\n`);
  log(`report written to ${out}; raw results in ${jsonOut}; command logs in ${logsDir}`);
}

/**
 * Copies the built CLI (bin, dist, templates, hooks, package.json; node_modules linked) into the
 * work dir and benchmarks that copy: a rebuild of the shared tree during a long run cannot change
 * the mk being measured half-way.
 */
function snapshotMk(work) {
  const snap = join(work, 'mk-snapshot');
  rmrf(snap);
  mkdirSync(snap, { recursive: true });
  for (const d of ['bin', 'dist', 'templates', 'hooks', 'package.json']) {
    if (existsSync(join(ROOT, d))) cpSync(join(ROOT, d), join(snap, d), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(snap, 'node_modules'));
  log(`mk: benchmarking a snapshot of the build in ${snap}`);
  return join(snap, 'bin', 'mk.js');
}

/** Remotes go on another filesystem than the work dir when one with room exists (tmpfs). */
function chooseRemoteRoot(opts, work, workFs, need) {
  if (opts.remoteDir) {
    const root = resolve(opts.remoteDir);
    mkdirSync(root, { recursive: true });
    const f = filesystemOf(root);
    const same = f.device === workFs.device;
    return {
      root,
      own: false,
      note: `${root} (${f.type}${same ? ', the same filesystem as the work dir: git-lfs hardlinks its objects into the file:// remote, so its push moves no bytes' : ', another filesystem than the work dir'})`,
    };
  }
  const shm = '/dev/shm';
  const f = existsSync(shm) ? filesystemOf(shm) : undefined;
  const free = f ? Number(spawnSync('df', ['-P', '-k', shm]).stdout?.toString().trim().split('\n')[1]?.split(/\s+/)[3]) * 1024 : 0;
  if (f && f.type === 'tmpfs' && f.device !== workFs.device && free >= need) {
    const root = join(shm, 'mk-bench-remotes');
    rmrf(root);
    mkdirSync(root, { recursive: true });
    return {
      root,
      own: true,
      note: `${root} (tmpfs): every remote (bare git, LFS objects, DVC remote, registry storage) is on another filesystem than the work dir, so git-lfs cannot hardlink objects into its file:// remote and every tool really copies its bytes (tmpfs writes are memory-speed, the same for all tools)`,
    };
  }
  const root = join(work, 'remotes');
  rmrf(root);
  mkdirSync(root, { recursive: true });
  return {
    root,
    own: true,
    note: `${root} (same filesystem as the work dir; no tmpfs with ${fmtBytes(need)} free): git-lfs hardlinks its objects into the file:// remote here, so its push moves no bytes`,
  };
}

function gitDescribe() {
  const r = spawnSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' });
  return r.status === 0 ? `commit ${r.stdout.trim()}` : 'commit unknown';
}

main().catch((e) => {
  stopAllRegistries();
  process.stderr.write(`bench: ${e.stack ?? e}\n`);
  process.exit(1);
});
