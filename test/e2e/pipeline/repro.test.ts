/**
 * The pipeline story (issue 24): a four-stage pipeline (prepare, featurize, train, evaluate)
 * run by `mk repro` in a repository that keeps files through mk's Git filter. A second run
 * does nothing; a changed param reruns train and evaluate only; a changed raw file reruns
 * all; reverting it restores every output from the run cache without running anything. The
 * run cache goes to a real registry with `git push` (the pre-push hook): a clone that pulls
 * runs nothing, and takes even the outputs of a run that was never committed from the
 * registry's run cache. The scripts leave a trace, so the test knows what really ran.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { tempDir } from '../../support/repo.js';
import { bareRemote, g, gitRunAsync, identify, mk, mkRun, newRepo } from '../git/support.js';
import { rawCsv, setParam, takeTrace, writeProject } from './project.js';

describe('mk repro: a four-stage pipeline', () => {
  const tmp = tempDir('mk-pipeline-');
  const dir = join(tmp.dir, 'work');
  const trace = join(tmp.dir, 'trace');
  const env = { TRACE: trace };
  let reg: RunningRegistry;
  const repro = (cwd: string, ...args: string[]) => mkRun(cwd, ['repro', ...args], env);
  const outputs = (cwd: string) => ({
    train: readFileSync(join(cwd, 'data', 'prepared', 'train.csv'), 'utf8'),
    features: readFileSync(join(cwd, 'data', 'features', 'train.csv'), 'utf8'),
    model: readFileSync(join(cwd, 'model.pkl'), 'utf8'),
    metrics: readFileSync(join(cwd, 'metrics.json'), 'utf8'),
  });
  let first: ReturnType<typeof outputs>;
  let raw2: string;

  beforeAll(async () => {
    reg = await startRegistry();
    newRepo(dir, { filter: true });
    writeProject(dir);
    mk(dir, 'remote', 'add', 'origin', `oci://${reg.host}/team/pipe`);
    bareRemote(join(tmp.dir, 'origin.git'));
    g(dir, 'remote', 'add', 'origin', join(tmp.dir, 'origin.git'));
  });
  afterAll(async () => {
    await reg?.stop();
    tmp.cleanup();
  });

  it('the first run runs every stage in order, says why, records the outputs with mk and writes dvc.lock', () => {
    const r = repro(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(takeTrace(trace)).toEqual(['prepare', 'featurize', 'train', 'evaluate']);
    expect(r.stdout).toContain("Running stage 'prepare' (never run: not in dvc.lock):");
    expect(r.stdout).toContain('> python3 prepare.py 0.25');
    expect(r.stdout).toContain('> python3 train.py 0.01 3');
    const lock = readFileSync(join(dir, 'dvc.lock'), 'utf8');
    expect(lock).toMatch(/^schema: '2.0'\nstages:\n {2}prepare:\n {4}cmd: python3 prepare.py 0.25\n/);
    expect(lock).toMatch(/\n {4}outs:\n {4}- path: data\/prepared\n {6}hash: md5\n {6}md5: [0-9a-f]{32}\.dir\n {6}size: \d+\n {6}nfiles: 2\n/);
    // Folders as folders (a pointer beside them), the model through the filter; metrics.json (cache: false) stays Git's.
    const st = JSON.parse(mk(dir, 'status', '--json')) as { artifacts: Array<{ path: string; workspace: string; type: string }>; stages: unknown[] };
    expect(st.artifacts.map((a) => [a.path, a.type, a.workspace]).sort()).toEqual([
      ['data/features', 'dir', 'clean'],
      ['data/prepared', 'dir', 'clean'],
      ['model.pkl', 'file', 'clean'],
    ]);
    expect(st.stages).toEqual([]);
    expect(g(dir, 'check-attr', 'filter', '--', 'model.pkl')).toContain('filter: mk');
    // Staged: the pointers and the lock; the user commits.
    const staged = g(dir, 'diff', '--cached', '--name-only').split('\n');
    expect(staged).toEqual(expect.arrayContaining(['dvc.lock', 'data/prepared.mk.yaml', 'data/features.mk.yaml', 'model.pkl']));
    g(dir, 'add', '-A');
    g(dir, 'commit', '-qm', 'pipeline');
    first = outputs(dir);
  });

  it('a second run does nothing', () => {
    const r = repro(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(takeTrace(trace)).toEqual([]);
    expect(r.stdout).toContain("Stage 'train' is up to date, skipped");
    expect(r.stdout).toContain('Every stage is up to date');
  });

  it('a deleted output is put back as dvc.lock records it, without running the stage', () => {
    const model = readFileSync(join(dir, 'model.pkl'), 'utf8');
    rmSync(join(dir, 'model.pkl'));
    expect(mk(dir, 'status')).toMatch(/train +outs missing: model\.pkl/);
    const r = repro(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(takeTrace(trace)).toEqual([]);
    expect(r.stdout).toContain("Restored the outputs of stage 'train' as dvc.lock records them, without running it (outs missing: model.pkl)");
    expect(readFileSync(join(dir, 'model.pkl'), 'utf8')).toBe(model);
    expect(g(dir, 'status', '--porcelain')).toBe('');
  });

  it('a changed param reruns train and evaluate only, and says which param', () => {
    setParam(dir, 'lr: 0.01', 'lr: 0.02');
    expect(mk(dir, 'status')).toMatch(/pipeline: 1 stale stage \(run 'mk repro'\)\n {2}train +command changed; params changed: train\.lr/);
    const dry = repro(dir, '--dry');
    expect(dry.stdout).toContain("would run 'train': command changed; params changed: train.lr");
    expect(dry.stdout).toContain("may run 'evaluate': after 'train', if its outputs change");
    expect(takeTrace(trace)).toEqual([]);
    const r = repro(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(takeTrace(trace)).toEqual(['train', 'evaluate']);
    expect(r.stdout).toContain("Running stage 'train' (command changed; params changed: train.lr):");
    expect(r.stdout).toContain("Running stage 'evaluate' (deps changed: model.pkl):");
    g(dir, 'add', '-A');
    g(dir, 'commit', '-qm', 'lr 0.02');
  });

  it('a changed raw file reruns every stage', () => {
    raw2 = rawCsv(48, 11);
    writeFileSync(join(dir, 'data', 'raw.csv'), raw2);
    const r = repro(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(takeTrace(trace)).toEqual(['prepare', 'featurize', 'train', 'evaluate']);
    expect(r.stdout).toContain("Running stage 'prepare' (deps changed: data/raw.csv):");
    expect(r.stdout).toContain("Running stage 'featurize' (deps changed: data/prepared):");
  });

  it('reverting the raw file restores every output from the run cache, without running anything', () => {
    g(dir, 'checkout', 'HEAD', '--', 'data/raw.csv');
    const r = repro(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(takeTrace(trace)).toEqual([]);
    for (const s of ['prepare', 'featurize', 'train', 'evaluate']) expect(r.stdout).toContain(`Restored stage '${s}' from the run cache`);
    // The outputs of the committed run, byte for byte (train and evaluate of lr 0.02; the splits of the first run).
    const now = outputs(dir);
    expect(now.train).toBe(first.train);
    expect(now.features).toBe(first.features);
    expect(JSON.parse(now.model).lr).toBe(0.02);
    expect(g(dir, 'status', '--porcelain')).toBe('');
    expect(repro(dir).stdout).toContain('Every stage is up to date');
    expect(takeTrace(trace)).toEqual([]);
  });

  it('git push sends the run cache with the data; a clone that pulls runs nothing', async () => {
    // The run of raw2 (above) was never committed: its entries are in this clone's run cache only.
    const push = await gitRunAsync(dir, ['push', '-q', 'origin', 'main']);
    expect(push.status, push.stderr).toBe(0);
    expect(push.stderr).toMatch(/mk: pushed \d+ run cache entries/);

    const clone = join(tmp.dir, 'clone');
    const c = mkRun(tmp.dir, ['clone', join(tmp.dir, 'origin.git'), clone]);
    expect(c.status, c.stderr).toBe(0);
    identify(clone);
    expect(c.stdout).toMatch(/; fetched \d+ run cache entries\n/);
    expect(outputs(clone)).toEqual(outputs(dir));
    const r = repro(clone);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Every stage is up to date');
    expect(takeTrace(trace)).toEqual([]);

    // The run nobody committed: its outputs come from the registry's run cache.
    writeFileSync(join(clone, 'data', 'raw.csv'), raw2);
    const r2 = repro(clone);
    expect(r2.status, r2.stderr).toBe(0);
    expect(takeTrace(trace)).toEqual([]);
    for (const s of ['prepare', 'featurize', 'train', 'evaluate']) expect(r2.stdout).toContain(`Restored stage '${s}' from the run cache`);
    expect(JSON.parse(readFileSync(join(clone, 'metrics.json'), 'utf8')).mse).toBeTypeOf('number');
    expect(mk(clone, 'status')).toContain('pipeline: every stage is up to date');
  });
});
