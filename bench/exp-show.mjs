#!/usr/bin/env node
// `mk exp show` over a long history (issue 13): a repository of N commits (default 200), each a
// training with its own params.yaml, metrics.json and tracked model file (mk add), then the
// wall time of `mk exp show -n N --json` (min and median of R runs after one warm-up). The
// target is under 2 s for 200 commits. Prints a markdown row; exits 1 when the median misses it.
//
//   node bench/exp-show.mjs [--commits N] [--runs R] [--mk path/to/bin/mk.js] [--limit SECONDS]
import { spawnSync } from 'node:child_process';
import { benchEnv, option, runner } from './lib/one-off.mjs';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const commits = Math.max(1, Number(opt('--commits', 200)));
const runs = Math.max(1, Number(opt('--runs', 5)));
const limit = Number(opt('--limit', 2));
const mk = resolve(opt('--mk', join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'mk.js')));

const work = mkdtempSync(join(tmpdir(), 'mk-exp-show-'));
const env = benchEnv(work);
const run = runner(env);

try {
  const repo = join(work, 'repo');
  run('git', ['init', '-q', '-b', 'main', repo]);
  run(process.execPath, [mk, 'init', '--no-filter'], repo);
  appendFileSync(join(repo, '.mk/config.yaml'), 'params: [params.yaml]\nmetrics: [metrics.json]\n');
  // Setting up: one `mk add` per commit would dominate; the model pointer changes every 10th commit.
  const t0 = Date.now();
  for (let i = 0; i < commits; i++) {
    const lr = (0.001 * (1 + (i % 17))).toFixed(4);
    writeFileSync(join(repo, 'params.yaml'), `train:\n  lr: ${lr}\n  epochs: ${10 + (i % 5)}\n  batch: ${32 << (i % 3)}\nmodel:\n  layers: ${2 + (i % 4)}\n`);
    writeFileSync(join(repo, 'metrics.json'), JSON.stringify({ accuracy: 0.7 + (i % 29) / 100, loss: 0.5 - (i % 23) / 100, eval: { f1: 0.6 + (i % 13) / 100 } }));
    if (i % 10 === 0) {
      writeFileSync(join(repo, 'model.bin'), `model ${i}\n`.repeat(1000));
      run(process.execPath, [mk, 'add', 'model.bin'], repo);
    }
    run('git', ['add', '-A'], repo);
    run('git', ['commit', '-q', '-m', `training ${i}`], repo);
  }
  const setup = (Date.now() - t0) / 1000;
  const once = () => {
    const s = process.hrtime.bigint();
    const out = run(process.execPath, [mk, 'exp', 'show', '-n', String(commits), '--json'], repo);
    const ms = Number(process.hrtime.bigint() - s) / 1e6;
    const rows = JSON.parse(out).rows.filter((r) => r.commit).length;
    if (rows !== commits) throw new Error(`exp show listed ${rows} commits, not ${commits}`);
    return ms;
  };
  once(); // warm-up (page cache, git's pack index)
  const times = Array.from({ length: runs }, once).sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const load = spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ');
  process.stdout.write(
    `| command | commits | min | median | target |\n|---|---|---|---|---|\n| \`mk exp show -n ${commits} --json\` | ${commits} | ${(times[0] / 1000).toFixed(2)} s | ${(median / 1000).toFixed(2)} s | < ${limit} s |\n\n(${runs} runs after a warm-up; load average ${load}; setting up the ${commits} commits took ${setup.toFixed(0)} s)\n`,
  );
  if (median / 1000 >= limit) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
