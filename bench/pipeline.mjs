#!/usr/bin/env node
// A pipeline with nothing to do (issue 24): `mk repro` beside `dvc repro` on the same 10-stage
// pipeline over FILES (default 20,000) tracked files. The raw data is a folder of FILES small
// files (tracked by mk as a folder, by DVC with `dvc add`); `prepare` copies it into a second
// folder of FILES files (an output both tools track); eight `feature` stages each read that
// folder and the stage before; `report` writes the metrics. After one run that does the work
// (and a warm-up, so both tools have their state caches), each tool is timed R times with
// nothing to do: the median of each, and the ratio. Exits 1 when mk is not --goal (5) times
// faster. Both must report that nothing ran.
//
//   npm run build && node bench/pipeline.mjs [--files N] [--runs R] [--goal X] [--mk path/to/bin/mk.js] [--dvc path]
//   (also: node bench/run.mjs --only pipeline)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchEnv, option, runner } from './lib/one-off.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const files = Math.max(10, Number(opt('--files', 20000)));
const runs = Math.max(1, Number(opt('--runs', 5)));
const goal = Number(opt('--goal', 5));
const mk = resolve(opt('--mk', join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'mk.js')));
const peerDvc = join(process.env.MK_PEERS_DIR ?? join(homedir(), '.cache', 'mk-peers'), 'bin', 'dvc');
const dvc = opt('--dvc', existsSync(peerDvc) ? peerDvc : 'dvc');

const STAGES = 10;

/** The pipeline: prepare (copies the raw folder), eight features, report. */
function pipeline() {
  let y = 'stages:\n  prepare:\n    cmd: rm -rf data/prepared && cp -r data/raw data/prepared\n    deps:\n    - data/raw\n    outs:\n    - data/prepared\n';
  for (let i = 1; i <= STAGES - 2; i++) {
    const prev = i === 1 ? '' : `    - features/f${i - 1}.txt\n`;
    y += `  feature${i}:\n    cmd: mkdir -p features && (ls data/prepared | wc -l; cat ${i === 1 ? '/dev/null' : `features/f${i - 1}.txt`}; echo ${i}) > features/f${i}.txt\n    deps:\n    - data/prepared\n${prev}    outs:\n    - features/f${i}.txt\n`;
  }
  y += `  report:\n    cmd: wc -c features/f${STAGES - 2}.txt > metrics.txt\n    deps:\n    - features/f${STAGES - 2}.txt\n    metrics:\n    - metrics.txt:\n        cache: false\n`;
  return y;
}

function writeRaw(dir) {
  // 100 folders of files/100 files, 1 KiB each, deterministic content.
  for (let i = 0; i < files; i++) {
    const d = join(dir, 'data', 'raw', `part${String(i % 100).padStart(3, '0')}`);
    if (i < 100) mkdirSync(d, { recursive: true });
    const seed = createHash('sha256').update(String(i)).digest();
    writeFileSync(join(d, `f${i}.bin`), Buffer.concat(Array.from({ length: 32 }, () => seed)));
  }
}

const work = mkdtempSync(join(tmpdir(), 'mk-pipeline-bench-'));
const env = { ...benchEnv(work), DVC_NO_ANALYTICS: '1', DVC_NO_UPDATE_CHECK: '1' };
const run = runner(env);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (cmd, argv, cwd) => {
  const s = process.hrtime.bigint();
  const out = run(cmd, argv, cwd);
  return { ms: Number(process.hrtime.bigint() - s) / 1e6, out };
};

try {
  // One set of files for both tools.
  const src = join(work, 'src');
  mkdirSync(src);
  writeRaw(src);
  writeFileSync(join(src, 'dvc.yaml'), pipeline());

  const mkRepo = join(work, 'mk');
  cpSync(src, mkRepo, { recursive: true });
  run('git', ['init', '-q', '-b', 'main'], mkRepo);
  run(process.execPath, [mk, 'init', '--no-filter'], mkRepo);
  run(process.execPath, [mk, 'add', 'data/raw'], mkRepo);
  run(process.execPath, [mk, 'repro'], mkRepo);
  run('git', ['add', '-A'], mkRepo);
  run('git', ['commit', '-q', '-m', 'pipeline'], mkRepo);

  const dvcRepo = join(work, 'dvc');
  cpSync(src, dvcRepo, { recursive: true });
  run('git', ['init', '-q', '-b', 'main'], dvcRepo);
  run(dvc, ['init', '-q'], dvcRepo);
  run(dvc, ['add', '-q', 'data/raw'], dvcRepo);
  run(dvc, ['repro', '-q'], dvcRepo);
  run('git', ['add', '-A'], dvcRepo);
  run('git', ['commit', '-q', '-m', 'pipeline'], dvcRepo);

  // Warm-up: state caches, page cache.
  const mkOut = time(process.execPath, [mk, 'repro'], mkRepo).out;
  if (!mkOut.includes('Every stage is up to date')) throw new Error(`mk repro had work to do:\n${mkOut}`);
  const dvcOut = time(dvc, ['repro'], dvcRepo).out;
  if (/Running stage/.test(dvcOut)) throw new Error(`dvc repro had work to do:\n${dvcOut}`);

  const mkMs = [];
  const dvcMs = [];
  for (let i = 0; i < runs; i++) {
    const a = time(process.execPath, [mk, 'repro'], mkRepo);
    if (!a.out.includes('Every stage is up to date')) throw new Error(`mk repro ran something:\n${a.out}`);
    mkMs.push(a.ms);
    const b = time(dvc, ['repro'], dvcRepo);
    if (/Running stage/.test(b.out)) throw new Error(`dvc repro ran something:\n${b.out}`);
    dvcMs.push(b.ms);
  }
  const [m, d] = [median(mkMs), median(dvcMs)];
  const ratio = d / m;
  const load = spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ');
  const dvcVersion = run(dvc, ['--version'], work).trim();
  process.stdout.write(
    `| pipeline | tracked files | \`mk repro\`, nothing to do | \`dvc repro\` (${dvcVersion}), nothing to do | mk faster by | goal |\n|---|---|---|---|---|---|\n| ${STAGES} stages | ${files.toLocaleString('en-US')} raw + ${files.toLocaleString('en-US')} output | ${(m / 1000).toFixed(2)} s | ${(d / 1000).toFixed(2)} s | ${ratio.toFixed(1)}x | ${goal}x |\n\n(medians of ${runs} runs each, alternating, after a warm-up; min mk ${(Math.min(...mkMs) / 1000).toFixed(2)} s, dvc ${(Math.min(...dvcMs) / 1000).toFixed(2)} s; load average ${load})\n`,
  );
  if (ratio < goal) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
