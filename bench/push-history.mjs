#!/usr/bin/env node
// What publishing a history costs (the timing test/e2e/git/push-tags.test.ts used to assert):
// N commits (default 100; every tenth changes a small tracked model, the others a code file)
// pushed with one `git push` to a loopback registry, where the pre-push hook publishes one
// ModelKit per commit. Prints a markdown row: the push's wall time and the time per commit.
// The test keeps the behaviour (every commit published, a bounded number of requests per
// ModelKit); the time lives here.
//
//   node bench/push-history.mjs [--commits N] [--runs R] [--mk path/to/bin/mk.js]
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchEnv, option, runner } from './lib/one-off.mjs';
import { startRegistry, stopAllRegistries } from './lib/registry.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const commits = Math.max(1, Number(opt('--commits', 100)));
const runs = Math.max(1, Number(opt('--runs', 3)));
const mk = resolve(opt('--mk', join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'mk.js')));

const work = mkdtempSync(join(tmpdir(), 'mk-push-history-'));
const env = benchEnv(work);
delete env.MK_HOOKS; // the pre-push hook is what is measured
const run = runner(env);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  // The history, made once: a bare origin and a clone with N unpushed commits (hooks off while committing).
  const template = join(work, 'template');
  run('git', ['init', '-q', '--bare', '-b', 'main', join(template, 'origin.git')]);
  const repo = join(template, 'repo');
  run('git', ['clone', '-q', join(template, 'origin.git'), repo]);
  run(process.execPath, [mk, 'init', '--no-filter'], repo);
  run(process.execPath, [mk, 'install'], repo);
  writeFileSync(join(repo, 'model.pt'), randomBytes(4000));
  writeFileSync(join(repo, 'train.py'), '# train\n');
  run(process.execPath, [mk, 'add', 'model.pt'], repo);
  run('git', ['add', '-A'], repo);
  run('git', ['-c', 'core.hooksPath=/dev/null', 'commit', '-q', '-m', 'first'], repo);
  for (let i = 1; i < commits; i++) {
    if (i % 10 === 0) {
      writeFileSync(join(repo, 'model.pt'), randomBytes(4000));
      run(process.execPath, [mk, 'add', 'model.pt'], repo);
    } else writeFileSync(join(repo, 'train.py'), `# step ${i}\n`);
    run('git', ['-c', 'core.hooksPath=/dev/null', 'commit', '-q', '-am', `step ${i}`], repo);
  }

  const times = [];
  for (let r = 0; r < runs; r++) {
    // A fresh copy and a fresh registry each run: every ModelKit is new to the registry.
    const copy = join(work, `run-${r}`);
    cpSync(template, copy, { recursive: true, verbatimSymlinks: true });
    const reg = await startRegistry(join(work, `registry-${r}`));
    const dir = join(copy, 'repo');
    run(process.execPath, [mk, 'remote', 'add', '--local', 'origin', `oci://${reg.host}/bench/history`], dir);
    const t0 = process.hrtime.bigint();
    run('git', ['push', '-q', 'origin', 'main'], dir);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await reg.stop();
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const ms = median(times);
  console.log(`node ${process.version}, ${runs} runs (median), load average at the end: ${load}\n`);
  console.log('| commits pushed at once | git push (pre-push publishes a ModelKit per commit) | per commit |');
  console.log('|---:|---:|---:|');
  console.log(`| ${commits} | ${(ms / 1000).toFixed(1)} s | ${(ms / commits).toFixed(0)} ms |`);
} finally {
  stopAllRegistries();
  rmSync(work, { recursive: true, force: true });
}
