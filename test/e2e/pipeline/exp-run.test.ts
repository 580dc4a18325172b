/**
 * Experiments (issue 24): `mk exp run -S train.lr=...` queued three times, then run two at a
 * time (`--run-all -j 2`), each in its own temporary worktree with the run cache shared: the
 * work tree, index and HEAD never move; `mk exp show` lists three experiment rows under their
 * baseline with their params and metrics (read from the stages' files); `mk exp apply` brings
 * one into the work tree, data included; `mk exp branch` keeps one; a failing experiment is
 * kept as failed with its log. The train script waits at a barrier for a second experiment, so
 * the test fails unless two really ran at once (its wait is bounded only so that a failure ends).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/repo.js';
import { g, gitRun, mk, mkRun, newRepo } from '../git/support.js';
import { TRAIN, takeTrace, writeProject } from './project.js';

/** The project's train script, which first waits until BARRIER holds a file from a second experiment. */
const TRAIN_WITH_BARRIER = `import os, sys, time
b = os.environ.get('BARRIER')
if b:
    open(os.path.join(b, sys.argv[1]), 'w').close()
    for _ in range(1800):
        if len(os.listdir(b)) >= 2:
            break
        time.sleep(0.1)
    else:
        sys.exit('no other experiment ran at the same time')
${TRAIN}`;

interface Row {
  names: string[];
  commit?: string;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  model?: string;
  experiment?: { name: string; status: string; baseline: string; sets: string[] };
}

describe('mk exp run: experiments with changed params, queued and run two at once', () => {
  const tmp = tempDir('mk-exp-');
  afterAll(() => tmp.cleanup());
  const dir = join(tmp.dir, 'work');
  const trace = join(tmp.dir, 'trace');
  const barrier = join(tmp.dir, 'barrier');
  const env = { TRACE: trace };
  let head: string;
  const show = () => (JSON.parse(mk(dir, 'exp', 'show', '--json')) as { rows: Row[] }).rows;

  beforeAll(() => {
    newRepo(dir, { filter: true });
    writeProject(dir);
    writeFileSync(join(dir, 'train.py'), TRAIN_WITH_BARRIER);
    const r = mkRun(dir, ['repro'], env);
    expect(r.status, r.stderr).toBe(0);
    g(dir, 'add', '-A');
    g(dir, 'commit', '-q', '-m', 'baseline: lr 0.01');
    head = g(dir, 'rev-parse', 'HEAD').trim();
    takeTrace(trace);
    mkdirSync(barrier);
  });

  it('--queue queues each experiment and changes nothing in the work tree', () => {
    for (const lr of ['0.02', '0.05', '0.1']) {
      const r = mkRun(dir, ['exp', 'run', '--queue', '-S', `train.lr=${lr}`]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^queued exp-[0-9a-f]{6}: train\\.lr=${lr.replace('.', '\\.')}$`, 'm'));
    }
    expect(takeTrace(trace)).toEqual([]);
    expect(g(dir, 'status', '--porcelain')).toBe('');
    const queued = show().filter((x) => x.experiment);
    expect(queued.map((x) => [x.experiment!.status, x.params['train.lr'], x.metrics])).toEqual([
      ['queued', 0.02, {}],
      ['queued', 0.05, {}],
      ['queued', 0.1, {}],
    ]);
  });

  it('--run-all -j 2 runs them two at a time, in temporary worktrees, with the unchanged stages from the run cache', () => {
    const r = mkRun(dir, ['exp', 'run', '--run-all', '-j', '2'], { ...env, BARRIER: barrier });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout.match(/^done exp-/gm)?.length).toBe(3);
    // train and evaluate ran three times; prepare and featurize never (up to date in the baseline)
    expect(takeTrace(trace).sort()).toEqual(['evaluate', 'evaluate', 'evaluate', 'train', 'train', 'train']);
    // the user's work tree, index and HEAD did not move; the worktrees are gone
    expect(g(dir, 'rev-parse', 'HEAD').trim()).toBe(head);
    expect(g(dir, 'status', '--porcelain')).toBe('');
    expect(g(dir, 'worktree', 'list').trim().split('\n').length).toBe(1);
  });

  it('mk exp show lists three experiment rows under the baseline with their params and metrics', () => {
    const rows = show();
    const base = rows.findIndex((x) => x.commit === head);
    expect(base).toBeGreaterThan(0);
    const exps = rows.slice(base + 1, base + 4);
    expect(exps.map((x) => x.experiment?.status)).toEqual(['done', 'done', 'done']);
    expect(exps.map((x) => x.experiment!.baseline)).toEqual([head, head, head]);
    expect(exps.map((x) => x.params['train.lr'])).toEqual([0.02, 0.05, 0.1]);
    expect(exps.every((x) => x.params['train.epochs'] === 3 && x.params['prepare.split'] === 0.25)).toBe(true);
    const mses = exps.map((x) => x.metrics.mse as number);
    expect(mses.every((m) => typeof m === 'number')).toBe(true);
    expect(new Set([...mses, rows[base]!.metrics.mse]).size).toBe(4); // each lr gave its own result
    expect(new Set(exps.map((x) => x.model)).size).toBe(3);
    // each result is a commit on the baseline with the lock, metrics and model pointer it made
    for (const x of exps) {
      const lr = String(x.params['train.lr'] as number);
      expect(g(dir, 'rev-parse', `${x.commit}^`).trim()).toBe(head);
      expect(g(dir, 'show', `${x.commit}:params.yaml`)).toContain(`lr: ${lr}`);
      expect(g(dir, 'show', `${x.commit}:dvc.lock`)).toContain(`cmd: python3 train.py ${lr} 3`);
      expect(JSON.parse(g(dir, 'show', `${x.commit}:metrics.json`)).mse).toBe(x.metrics.mse);
      expect(g(dir, 'log', '-1', '--format=%B', x.commit!)).toContain(`Mk-Exp-Set: train.lr=${lr}`);
    }
    const text = mk(dir, 'exp', 'show');
    for (const x of exps) expect(text).toMatch(new RegExp(`^ {2}${x.experiment!.name} .*${String(x.params['train.lr'] as number)}`, 'm'));
  });

  it('mk exp apply brings one into the work tree: params, lock, metrics and the model bytes', () => {
    const x = show().find((r) => r.experiment && r.params['train.lr'] === 0.05)!;
    const r = mkRun(dir, ['exp', 'apply', x.experiment!.name]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'params.yaml'), 'utf8')).toContain('lr: 0.05');
    expect(JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')).mse).toBe(x.metrics.mse);
    expect(JSON.parse(readFileSync(join(dir, 'model.pkl'), 'utf8')).lr).toBe(0.05);
    expect(g(dir, 'status', '--porcelain').split('\n').filter(Boolean).sort()).toEqual(['M  dvc.lock', 'M  metrics.json', 'M  model.pkl', 'M  params.yaml']);
    // the pipeline agrees: nothing to run
    const st = mkRun(dir, ['repro', '--dry'], env);
    expect(st.stdout).toContain('Every stage is up to date');
    g(dir, 'commit', '-q', '-m', 'take lr 0.05');
    expect(g(dir, 'status', '--porcelain')).toBe('');
  });

  it('mk exp branch keeps one as a branch; mk exp remove forgets one', () => {
    const x = show().find((r) => r.experiment && r.params['train.lr'] === 0.1)!;
    mk(dir, 'exp', 'branch', x.experiment!.name, 'lr-0.1');
    expect(g(dir, 'rev-parse', 'lr-0.1').trim()).toBe(x.commit);
    mk(dir, 'exp', 'remove', x.experiment!.name);
    expect(show().some((r) => r.experiment?.name === x.experiment!.name)).toBe(false);
    expect(g(dir, 'rev-parse', 'lr-0.1').trim()).toBe(x.commit);
  });

  it('an experiment run at once shows its stages; a failing one is kept as failed, with its log', () => {
    const ok = mkRun(dir, ['exp', 'run', '-S', 'train.lr=0.03', '--name', 'quick'], env);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("Running stage 'train'");
    expect(ok.stdout).toMatch(/^done quick$/m);
    const bad = mkRun(dir, ['exp', 'run', '--queue', '-S', 'train.epochs=oops', '--name', 'broken']);
    expect(bad.status, bad.stderr).toBe(0);
    const r = mkRun(dir, ['exp', 'run', '--run-all'], env);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^failed broken: see .*broken\.log$/m);
    const log = join(dir, '.git', 'mk', 'exps', 'logs', 'broken.log');
    expect(existsSync(log)).toBe(true);
    expect(readFileSync(log, 'utf8')).toMatch(/ValueError|invalid literal/);
    const rows = show();
    expect(rows.find((x) => x.experiment?.name === 'broken')!.experiment!.status).toBe('failed');
    expect(rows.find((x) => x.experiment?.name === 'quick')!.params['train.lr']).toBe(0.03);
    const dup = mkRun(dir, ['exp', 'run', '--name', 'quick']);
    expect(dup.status).not.toBe(0);
    expect(dup.stderr).toMatch(/^mk: an experiment named 'quick' exists already$/m);
    expect(gitRun(dir, ['worktree', 'list']).stdout.trim().split('\n').length).toBe(1);
  });
});
