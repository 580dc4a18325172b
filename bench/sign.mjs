#!/usr/bin/env node
// What signing adds to a push (issue 14): a repository with one model file of SIZE (default
// 2 GiB) pushed once to a local layout remote, then R commits that each change one small file
// (a new ModelKit whose layers the remote already holds), pushed alternately without and with
// signing (MK_SIGNING_KEY: the cosign signature, the OpenSSF model signature and the SLSA
// provenance, each a referrer). Prints a markdown row: median push without, with, and the
// difference; exits 1 when the difference is over the 200 ms target (signing hashes no data).
//
//   node bench/sign.mjs [--size-mib N] [--runs R] [--mk path/to/bin/mk.js] [--limit-ms MS]
import { spawnSync } from 'node:child_process';
import { benchEnv, option, runner } from './lib/one-off.mjs';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => option(args, name, dflt);
const sizeMiB = Math.max(1, Number(opt('--size-mib', 2048)));
const runs = Math.max(1, Number(opt('--runs', 5)));
const limitMs = Number(opt('--limit-ms', 200));
const mk = resolve(opt('--mk', join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'mk.js')));

const work = mkdtempSync(join(tmpdir(), 'mk-sign-bench-'));
const env = benchEnv(work);
const run = runner(env);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const repo = join(work, 'repo');
  run('git', ['init', '-q', '-b', 'main', repo]);
  run(process.execPath, [mk, 'init', '--no-filter'], repo);
  // The model: random bytes (incompressible), written in 16 MiB pieces.
  const fd = openSync(join(repo, 'model.safetensors'), 'w');
  const piece = Buffer.alloc(16 << 20);
  for (let left = sizeMiB; left > 0; left -= 16) writeSync(fd, randomFillSync(piece), 0, Math.min(16, left) << 20);
  closeSync(fd);
  run(process.execPath, [mk, 'add', 'model.safetensors'], repo);
  run(process.execPath, [mk, 'remote', 'add', 'origin', join(work, 'remote')], repo);
  run('git', ['add', '-A'], repo);
  run('git', ['commit', '-q', '-m', 'model'], repo);
  run(process.execPath, [mk, 'push'], repo);
  run(process.execPath, [mk, 'keygen', '--out', join(work, 'bench')], work);
  const signing = { MK_SIGNING_KEY: join(work, 'bench.key') };

  let n = 0;
  const push = (extra) => {
    writeFileSync(join(repo, 'notes.md'), `run ${n++}\n`);
    run('git', ['add', 'notes.md'], repo);
    run('git', ['commit', '-q', '-m', `notes ${n}`], repo);
    const s = process.hrtime.bigint();
    run(process.execPath, [mk, 'push'], repo, extra);
    return Number(process.hrtime.bigint() - s) / 1e6;
  };
  push({}); // warm-up (page cache)
  push(signing);
  const plain = [];
  const signed = [];
  for (let i = 0; i < runs; i++) {
    plain.push(push({}));
    signed.push(push(signing));
  }
  // The last signed ModelKit verifies with the public key (so the row measures real signatures).
  run(process.execPath, [mk, 'verify', 'HEAD', '--key', join(work, 'bench.pub')], repo);
  const [p, s] = [median(plain), median(signed)];
  const load = spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ');
  const size = sizeMiB >= 1024 ? `${(sizeMiB / 1024).toFixed(2)} GiB` : `${sizeMiB} MiB`;
  process.stdout.write(
    `| model | push, unsigned | push, signed | signing adds | target |\n|---|---|---|---|---|\n| ${size} | ${p.toFixed(0)} ms | ${s.toFixed(0)} ms | ${(s - p).toFixed(0)} ms | < ${limitMs} ms |\n\n(medians of ${runs} pushes each, alternating, after a warm-up; each push publishes a new ModelKit whose layers the layout remote holds; load average ${load})\n`,
  );
  if (s - p >= limitMs) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
