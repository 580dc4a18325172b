/**
 * The same dvc.yaml and dvc.lock give the same decisions with DVC and mk. A DVC project (real
 * DVC from PyPI, `bash test/support/install-peers.sh dvc`) runs the four-stage pipeline with
 * `dvc repro`; then, for each change a team makes, `dvc status` and `mk status` must name the
 * same stale stages, and `dvc repro` and `mk repro`, each on its own copy, must run the same
 * stages in the same order (run caches off, so every decision shows as a run). After mk's run,
 * DVC reads mk's dvc.lock (and finds mk's outputs in its cache) and has nothing left to do.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peer } from '../../support/peers.js';
import { copyRepo, git, gitEnv, makeRepo, mkRun } from '../../support/repo.js';
import { rawCsv, setParam, takeTrace, writeProject } from './project.js';

interface Decisions {
  stale: string[];
  ran: string[];
}

const ENV = { DVC_NO_ANALYTICS: '1', DVC_NO_UPDATE_CHECK: '1' };

function dvc(cwd: string, ...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(peer('dvc'), args, { cwd, encoding: 'utf8', env: gitEnv({ ...ENV, TRACE: join(cwd, '..', `${cwd.split('/').pop()}.trace`) }) });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function dvcOk(cwd: string, ...args: string[]): string {
  const r = dvc(cwd, ...args);
  if (r.status !== 0) throw new Error(`dvc ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const traceOf = (dir: string) => join(dir, '..', `${dir.split('/').pop()}.trace`);

/** DVC's stale stages (`dvc status --json`: one key per stage that has changes). */
function dvcStale(dir: string): string[] {
  return Object.keys(JSON.parse(dvcOk(dir, 'status', '--json')) as Record<string, unknown>).sort();
}

function mkStale(dir: string): string[] {
  const r = mkRun(dir, ['status', '--json']);
  if (r.status !== 0) throw new Error(`mk status failed:\n${r.stderr}`);
  return (JSON.parse(r.stdout) as { stages: Array<{ stage: string }> }).stages.map((s) => s.stage).sort();
}

describe('dvc repro and mk repro decide alike on the same dvc.yaml and dvc.lock', () => {
  let base: { dir: string; cleanup: () => void };
  const copies: Array<{ cleanup: () => void }> = [];

  beforeAll(() => {
    base = makeRepo();
    writeProject(base.dir);
    dvcOk(base.dir, 'init', '-q');
    git(base.dir, 'add', '-A');
    git(base.dir, 'commit', '-qm', 'project');
    dvcOk(base.dir, 'repro', '-q');
    expect(takeTrace(traceOf(base.dir))).toEqual(['prepare', 'featurize', 'train', 'evaluate']);
    git(base.dir, 'add', '-A');
    git(base.dir, 'commit', '-qm', 'dvc repro');
    expect(dvcStale(base.dir)).toEqual([]);
  }, 180_000);
  afterAll(() => {
    for (const c of copies) c.cleanup();
    for (const t of traces) rmSync(t, { force: true });
    if (base) rmSync(traceOf(base.dir), { force: true });
    base?.cleanup();
  });

  const traces: string[] = [];

  /** Applies a change to two copies of the project; DVC decides and runs on one, mk on the other. */
  function compare(change: (dir: string) => void): { dvc: Decisions; mk: Decisions; after: string[] } {
    const a = copyRepo(base.dir);
    const b = copyRepo(base.dir);
    copies.push(a, b);
    traces.push(traceOf(a.dir), traceOf(b.dir));
    change(a.dir);
    change(b.dir);
    takeTrace(traceOf(a.dir));
    takeTrace(traceOf(b.dir));
    const d: Decisions = { stale: dvcStale(a.dir), ran: [] };
    dvcOk(a.dir, 'repro', '--no-run-cache', '-q');
    d.ran = takeTrace(traceOf(a.dir));
    const m: Decisions = { stale: mkStale(b.dir), ran: [] };
    const r = mkRun(b.dir, ['repro', '--no-run-cache'], { TRACE: traceOf(b.dir) });
    if (r.status !== 0) throw new Error(`mk repro failed:\n${r.stderr}${r.stdout}`);
    m.ran = takeTrace(traceOf(b.dir));
    // DVC reads the lock mk wrote, and finds mk's outputs in its cache: nothing left to do.
    return { dvc: d, mk: m, after: dvcStale(b.dir) };
  }

  const cases: Array<[string, (dir: string) => void, Decisions]> = [
    ['nothing changed', () => {}, { stale: [], ran: [] }],
    ['a param changed (train.lr)', (d) => setParam(d, 'lr: 0.01', 'lr: 0.05'), { stale: ['train'], ran: ['train', 'evaluate'] }],
    ['the raw data changed', (d) => writeFileSync(join(d, 'data', 'raw.csv'), rawCsv(60, 3)), { stale: ['prepare'], ran: ['prepare', 'featurize', 'train', 'evaluate'] }],
    ['an output deleted (model.pkl): put back from the cache, nothing runs', (d) => rmSync(join(d, 'model.pkl')), { stale: ['evaluate', 'train'], ran: [] }],
    ['an output edited (metrics.json): put back from the cache, nothing runs', (d) => writeFileSync(join(d, 'metrics.json'), '{"mse": 0}'), { stale: ['evaluate'], ran: [] }],
    [
      'a script changed without changing its output',
      (d) => writeFileSync(join(d, 'featurize.py'), readFileSync(join(d, 'featurize.py'), 'utf8') + '# a comment\n'),
      { stale: ['featurize'], ran: ['featurize'] },
    ],
    ['a command changed', (d) => editPipeline(d, 'cmd: python3 evaluate.py', 'cmd: python3 evaluate.py --verbose'), { stale: ['evaluate'], ran: ['evaluate'] }],
    ['a dep added', (d) => editPipeline(d, '    - train.py\n', '    - train.py\n    - prepare.py\n'), { stale: ['train'], ran: ['train'] }],
    ['a dep removed (DVC does not rerun for that)', (d) => editPipeline(d, '    - model.pkl\n    - data/features\n', '    - model.pkl\n'), { stale: [], ran: [] }],
    ['always_changed', (d) => editPipeline(d, '    cmd: python3 evaluate.py\n', '    cmd: python3 evaluate.py\n    always_changed: true\n'), { stale: ['evaluate'], ran: ['evaluate'] }],
    [
      'a frozen stage whose dep changed',
      (d) => {
        editPipeline(d, '    cmd: python3 prepare.py ${prepare.split}\n', '    cmd: python3 prepare.py ${prepare.split}\n    frozen: true\n');
        writeFileSync(join(d, 'data', 'raw.csv'), rawCsv(60, 3));
      },
      { stale: [], ran: [] },
    ],
    [
      'a lock from DVC 2 (no hash: md5) and raw data with CRLF line ends',
      (d) => {
        writeFileSync(join(d, 'dvc.lock'), readFileSync(join(d, 'dvc.lock'), 'utf8').replace(/^ *hash: md5\n/gm, ''));
        // DVC 2 kept its objects in the cache's top folder.
        cpSync(join(d, '.dvc', 'cache', 'files', 'md5'), join(d, '.dvc', 'cache'), { recursive: true });
        writeFileSync(join(d, 'data', 'raw.csv'), readFileSync(join(d, 'data', 'raw.csv'), 'utf8').replace(/\n/g, '\r\n'));
      },
      { stale: [], ran: [] },
    ],
  ];

  for (const [name, change, expected] of cases)
    it(`${name}: ${expected.stale.length ? expected.stale.join(', ') : 'nothing'} stale`, () => {
      const r = compare(change);
      expect(r.dvc).toEqual(expected);
      expect(r.mk).toEqual(r.dvc);
      expect(r.after).toEqual(name === 'always_changed' ? ['evaluate'] : []);
    });
});

function editPipeline(dir: string, from: string, to: string): void {
  const f = join(dir, 'dvc.yaml');
  const t = readFileSync(f, 'utf8');
  if (!t.includes(from)) throw new Error(`dvc.yaml has no '${from}'`);
  writeFileSync(f, t.replace(from, to));
}
