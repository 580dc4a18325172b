#!/usr/bin/env node
// Start-up time of the mk process that Git hooks pay on every commit and checkout (issue 12):
// wall time of bare `node -e 0` and of each hook fast path, in a small mk repository (one
// tracked artifact, hooks installed), plus how many modules and git subprocesses each loads
// and starts. Prints a markdown table.
//
//   node bench/startup.mjs [--runs N] [--mk path/to/bin/mk.js]
//
// Runs are interleaved across the cases (round robin, after one untimed warm-up each); min
// and median over N runs. Other work on the machine skews wall times: the load average is
// printed with the table.
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
const mkBin = resolve(opt('--mk', join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'mk.js')));
const node = process.execPath;

const work = mkdtempSync(join(tmpdir(), 'mk-startup-'));
const repo = join(work, 'repo');
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

function run(argv, extra = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { cwd: repo, env: { ...env, ...extra }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

try {
  // The repository: git init, mk init, mk install, and one commit with one tracked artifact.
  mkdirSync(repo);
  run(['git', 'init', '-q']);
  run([node, mkBin, 'init']);
  run([node, mkBin, 'install']);
  mkdirSync(join(repo, 'models'));
  writeFileSync(join(repo, 'models', 'model.safetensors'), Buffer.alloc(64 * 1024, 7));
  writeFileSync(join(repo, 'train.py'), 'print("train")\n');
  run(['git', 'add', '-A']);
  run(['git', 'commit', '-q', '-m', 'one']);
  const head = run(['git', 'rev-parse', 'HEAD']).trim();

  const mk = (...a) => [node, mkBin, ...a];
  const cases = [
    { name: 'bare `node -e 0`', argv: [node, '-e', '0'] },
    { name: '`mk --version`', argv: mk('--version') },
    { name: '`mk hook pre-commit`, nothing staged', argv: mk('hook', 'pre-commit') },
    { name: '`mk hook post-commit`', argv: mk('hook', 'post-commit') },
    { name: '`mk hook post-checkout <old> <new> 1`, HEAD unchanged', argv: mk('hook', 'post-checkout', head, head, '1') },
    { name: '`mk status`', argv: mk('status') },
  ];

  // Untimed: git subprocesses (a `git` on PATH that logs and calls the real one) and modules
  // loaded (a module loader hook that logs every module URL).
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
  for (const c of cases) {
    rmSync(gitLog, { force: true });
    rmSync(modLog, { force: true });
    run(c.argv, { PATH: `${shim}:${env.PATH}` });
    c.gits = lines(gitLog);
    if (c.argv[1] === mkBin) {
      run([node, '--import', join(work, 'count.mjs'), ...c.argv.slice(1)]);
      // The loader hook counts ES modules; CommonJS files a package require()s are not seen.
      c.modules = lines(modLog);
    }
  }

  // Timed, interleaved.
  for (const c of cases) {
    run(c.argv); // warm-up
    c.times = [];
  }
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      const t0 = process.hrtime.bigint();
      run(c.argv);
      c.times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }

  const ms = (x) => `${x.toFixed(1)} ms`;
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const bare = Math.min(...cases[0].times);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`node ${process.version}, ${runs} runs per case (interleaved), load average at end: ${load}, mk: ${mkBin}\n`);
  console.log('| case | min | median | min − bare node | ES modules | git subprocesses |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    const min = Math.min(...c.times);
    console.log(`| ${c.name} | ${ms(min)} | ${ms(median(c.times))} | ${c === cases[0] ? '' : `+${ms(min - bare)}`} | ${c.modules ?? ''} | ${c.gits} |`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
