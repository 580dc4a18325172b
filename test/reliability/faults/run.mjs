#!/usr/bin/env node
/**
 * `npm run faults`: the long form of the fault-injection suite (test/reliability/faults). Runs the same
 * trials as CI, MK_FAULTS_SCALE times over (10 by default: ~1,200 faults), then prints the
 * table and writes it, with the machine and the commit, to docs/RELIABILITY.md.
 *
 *   npm run faults                          # ×10
 *   MK_FAULTS_SCALE=3 npm run faults        # shorter
 *   MK_FAULTS_SEED=123 npm run faults       # replay a run
 *   MK_FAULTS_OUT=r.json npm run faults     # keep the raw results
 *   node test/reliability/faults/run.mjs --from r.json  # rewrite the document from them
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, tmpdir, totalmem } from 'node:os';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const scale = process.env.MK_FAULTS_SCALE ?? '10';
const from = process.argv[2] === '--from' ? process.argv[3] : undefined;
// MK_FAULTS_OUT=<file> keeps the raw results (for --from); by default they go to a temporary file.
const keep = from ?? process.env.MK_FAULTS_OUT;
const out = keep ?? join(tmpdir(), `mk-faults-${process.pid}.json`);
const vitest = from
  ? { status: 0 }
  : spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/reliability/faults'], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, MK_FAULTS_SCALE: scale, MK_FAULTS_OUT: out },
    });
let res;
try {
  res = JSON.parse(readFileSync(out, 'utf8'));
  if (!keep) rmSync(out, { force: true });
} catch {
  console.error('faults: the suite wrote no results (did it start?)');
  process.exit(vitest.status || 1);
}

const sh = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
};
// The run records its commit; a document rewritten --from older results keeps it.
const commit = res.commit ?? process.env.MK_FAULTS_COMMIT ?? sh('git', ['rev-parse', 'HEAD']);
const dirty = res.dirty ?? sh('git', ['status', '--porcelain', '--', 'src', 'bin', 'hooks']) !== '';
const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m) ?? [])[1] ?? cpus()[0]?.model ?? '?';
const machine = `${sh('nproc', [])} CPUs (nproc), ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Linux ${sh('uname', ['-r'])}, Node ${process.version}, ${sh('git', ['--version'])}`;
const minutes = (res.ms / 60000).toFixed(1);
// The machine's load while the suite ran (a shared machine makes a run slower, never failed).
// Results from before the suite sampled it can be given one: MK_FAULTS_LOAD='mean 9.1, min 6.0, max 15.2'.
const load = res.load ? `mean ${res.load.mean.toFixed(1)}, min ${res.load.min.toFixed(1)}, max ${res.load.max.toFixed(1)} (${res.load.samples} samples)` : process.env.MK_FAULTS_LOAD;

const stats = res.stats;
const tot = stats.reduce((a, s) => ({ injected: a.injected + s.injected, recovered: a.recovered + s.recovered, failures: a.failures + s.failures, trials: a.trials + s.trials }), {
  injected: 0,
  recovered: 0,
  failures: 0,
  trials: 0,
});
const table = [
  '| category | faults injected | recovered cleanly | failures | trials |',
  '|---|---:|---:|---:|---:|',
  ...stats.map((s) => `| ${s.category} | ${s.injected} | ${s.recovered} | ${s.failures} | ${s.trials} |`),
  `| **total** | **${tot.injected}** | **${tot.recovered}** | **${tot.failures}** | **${tot.trials}** |`,
].join('\n');
const kinds = stats
  .map(
    (s) =>
      `- **${s.category}**: ${Object.entries(s.kinds)
        .map(([k, n]) => `${k} ×${n}`)
        .join('; ')}`,
  )
  .join('\n');

/** Failures grouped by what went wrong (paths, digests, pids and commit ids blurred). */
const groups = new Map();
for (const f of res.failures) {
  const lines = f.message.split('\n').filter((l) => l.trim());
  // "...: git status is not clean:" and the like: the next line says what.
  const first = (lines[0] ?? '') + (lines[0]?.endsWith(':') && lines[1] ? ` ${lines[1].trim()}` : '');
  const what = first
    .replace(/(left behind|left in [^:]*): .*$/, '$1: <files>')
    .replace(/\/tmp\/[^\s,:]+/g, '<path>')
    .replace(/[0-9a-f]{12,64}/g, '<hex>')
    .replace(/\d+/g, 'N');
  const sig = `${f.category} — ${what}`;
  const g = groups.get(sig) ?? { n: 0, example: f };
  g.n++;
  groups.set(sig, g);
}
const failures =
  groups.size === 0
    ? 'None.'
    : [...groups.entries()]
        .map(([sig, g]) => `- ${g.n}× ${sig}\n  - e.g. trial ${g.example.trial}: ${g.example.what}\n\n    \`\`\`\n    ${g.example.message.split('\n').slice(0, 12).join('\n    ')}\n    \`\`\``)
        .join('\n');

const date = res.date ?? statSync(out).mtime.toISOString();
const doc = `# Reliability: fault injection

\`test/reliability/faults/\` injects faults into real runs of mk and checks that nothing is lost or
corrupted and that the next run finishes the job. CI (\`npm test\`) runs about 130 faults (at least 100);
\`npm run faults\` runs the same trials ten times over (about 1,300; \`MK_FAULTS_SCALE\` sets how many times) and rewrites this file.
Each category is bounded by its number of trials, never by a clock: on a loaded machine a run
takes longer, it does not fail. A run prints its seed; \`MK_FAULTS_SEED=<seed>\` replays it (kill moments are seeded,
the machine's timing is not), \`MK_FAULTS_ONLY=<category>\` runs one category.

**Faults.** SIGKILL at a random moment of \`mk add\`, \`mk checkout <rev> -- paths\`, \`mk push\`
and \`mk pull <rev>\` (a local layout remote and a docker-registry), and of mk inside the Git
hooks: pre-commit (\`git commit -a\` of changed data, \`git commit\` of a new \`*.pt\` file),
post-checkout (\`git switch\`, with the data in the cache or downloaded by the hook) and
pre-push (\`git push\`); and of mk in the hooks of \`git switch\`, \`git reset --keep\`, \`git merge\`
and \`git rebase\` (reference-transaction, post-checkout, post-merge, post-rewrite), with an unsaved
edit in the work tree, after which the same command run again must finish the placement. Registry faults through a proxy in front of docker-registry, during
\`mk push\` and \`mk pull\`/\`mk fetch\`: 500, 503, 429 with \`Retry-After\`, a connection reset
in the middle of an upload or a download, a body cut short with a clean close, a flipped
byte in an upload or a download, and a registry that answers 503/500 to every request.
Races: \`mk gc\` run back to back in one clone, from a seeded moment, while another clone
sharing the cache (\`MK_CACHE_DIR\`) runs \`mk add\` and \`git commit -a\` of never-pushed data.

**Checks,** after each fault and after running the same command again without it: the
work tree is byte-identical to what it should be (while interrupted, every data file is its
old or its new content, never torn or missing); every blob in the cache and on the remote
(the layout folder, or every blob file of the registry's storage, plus \`mk verify\`, which
reads back the commit's ModelKit) hashes to its digest; a clone with an empty cache pulls
the pushed commit and gets exactly its data; while a placement is interrupted, \`mk status\`
calls mk's own half-placed data interrupted or stale, never the user's edit; no temporary file of a dead mk is left in the
work tree, \`.git/mk\`, the cache (\`ingest/\` included) or the remote; unsaved edits survive;
after a killed pre-push, the git remote has no commit whose data the mk remote lacks; after
a killed pre-commit, a staged data file is still staged, as itself or as its pointer, and the
rerun commits its pointer; every failure of mk is one \`mk: ...\` line (and maybe a \`hint:\`),
never an internal error.

## Latest long run

- date: ${date.replace(/\.\d+Z$/, 'Z')}
- machine: ${machine}${load ? `\n- machine load (1-minute load average during the run): ${load}` : ''}
- commit: ${commit}${dirty ? ' (the work tree had uncommitted changes in src/, being edited at the time of the run)' : ''}
- seed ${res.seed}, scale ×${res.scale}, ${minutes} min

${table}

"recovered cleanly": the fault landed (the process was killed mid-run, or the proxy really
altered the traffic) and every check passed. "failures": trials where a check failed (each
is listed below). Trials whose fault did not land (the command finished before the kill,
or the fault's request never came) are counted in "trials" only.

### Faults by kind

${kinds}

### Failures

${failures}
`;
writeFileSync(join(root, 'docs', 'RELIABILITY.md'), doc);
console.log(`\n${table}\n\nwritten to docs/RELIABILITY.md (${minutes} min)`);
process.exit(vitest.status ?? 1);
