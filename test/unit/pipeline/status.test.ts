/**
 * Staleness on a temp folder, with DVC's rules: a stage is stale when it never ran, its
 * command changed, a dep or a tracked param changed (or went), an output is missing or
 * differs, or it is always_changed; a frozen stage looks at its command and outputs only.
 * Each reason reads as `mk status` and `mk repro` print it.
 */
import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLock, serializeLock } from '../../../src/pipeline/lock.js';
import { hasherFor } from '../../../src/pipeline/pipeline.js';
import { parsePipeline } from '../../../src/pipeline/stages.js';
import { describeReason, ParamsReader, stageState } from '../../../src/pipeline/status.js';
import { md5File } from '../../../src/pipeline/md5.js';
import { tempDir } from '../../support/repo.js';

const PIPE = `stages:
  train:
    cmd: python train.py \${train.lr}
    deps: [train.py, data]
    params: [train.lr, train.epochs]
    outs: [model.pkl]
`;

describe('stale stages', () => {
  let t: { dir: string; cleanup: () => void };
  const w = (rel: string, text: string) => {
    mkdirSync(join(t.dir, rel, '..'), { recursive: true });
    writeFileSync(join(t.dir, rel), text);
    const old = Date.now() / 1000 - 60; // older than any racy window
    utimesSync(join(t.dir, rel), old, old);
  };
  const state = () => join(t.dir, '.state');
  const stage = (extra = '') => parsePipeline({ file: 'dvc.yaml', text: PIPE.replace('    outs:', `${extra}    outs:`), read: (p) => readFileSync(join(t.dir, p)) })[0]!;

  beforeEach(async () => {
    t = tempDir('mk-stale-');
    w('train.py', 'print(1)\n');
    w('data/a.csv', '1\n');
    w('params.yaml', 'train:\n  lr: 0.1\n  epochs: 3\n');
    w('model.pkl', 'model\n');
    mkdirSync(state());
  });
  afterEach(() => t.cleanup());

  /** The lock a run in the current state would write. */
  async function writeLock(cmd = 'python train.py 0.1'): Promise<void> {
    const data = (await hasherFor(t.dir, state()).hash('data'))!;
    const lf = readLock(join(t.dir, 'dvc.lock'), 'dvc.lock');
    lf.stages.set('train', {
      cmd,
      deps: [
        { path: 'data', md5: data.md5, size: data.size, nfiles: data.nfiles, modern: true },
        { path: 'train.py', md5: md5File(join(t.dir, 'train.py')), size: 9, modern: true },
      ],
      params: { 'params.yaml': { 'train.epochs': 3, 'train.lr': 0.1 } },
      outs: [{ path: 'model.pkl', md5: md5File(join(t.dir, 'model.pkl')), size: 6, modern: true }],
    });
    writeFileSync(join(t.dir, 'dvc.lock'), serializeLock(lf));
  }

  async function reasons(extra = ''): Promise<string[]> {
    const st = await stageState(stage(extra), readLock(join(t.dir, 'dvc.lock'), 'dvc.lock'), hasherFor(t.dir, state()), new ParamsReader(t.dir), { all: true });
    expect(st.stale).toBe(st.reasons.length > 0);
    return st.reasons.map(describeReason);
  }

  it('never run', async () => {
    expect(await reasons()).toEqual(['never run: not in dvc.lock']);
  });

  it('up to date, then each kind of change', async () => {
    await writeLock();
    expect(await reasons()).toEqual([]);
    w('data/b.csv', '2\n');
    expect(await reasons()).toEqual(['deps changed: data']);
    rmSync(join(t.dir, 'data', 'b.csv'));
    rmSync(join(t.dir, 'train.py'));
    expect(await reasons()).toEqual(['deps missing: train.py']);
    w('train.py', 'print(1)\n');
    w('params.yaml', 'train:\n  lr: 0.1\n  epochs: 4\n');
    expect(await reasons()).toEqual(['params changed: train.epochs']);
    w('params.yaml', 'train:\n  lr: 0.1\n');
    expect(await reasons()).toEqual(['param removed: train.epochs']);
    w('params.yaml', 'train:\n  lr: 0.1\n  epochs: 3.0\n'); // 3 == 3.0, as in Python
    expect(await reasons()).toEqual([]);
    rmSync(join(t.dir, 'model.pkl'));
    expect(await reasons()).toEqual(['outs missing: model.pkl']);
    w('model.pkl', 'other\n');
    expect(await reasons()).toEqual(['outs changed: model.pkl']);
  });

  it('a param that changes the command reads as both', async () => {
    await writeLock();
    w('params.yaml', 'train:\n  lr: 0.2\n  epochs: 3\n');
    expect(await reasons()).toEqual(['command changed', 'params changed: train.lr']);
  });

  it('always_changed is always stale; a frozen stage ignores its deps, not its outputs', async () => {
    await writeLock();
    expect(await reasons('    always_changed: true\n')).toEqual(['always_changed']);
    w('data/b.csv', '2\n');
    w('params.yaml', 'train:\n  lr: 0.1\n  epochs: 9\n');
    expect(await reasons('    frozen: true\n')).toEqual([]);
    rmSync(join(t.dir, 'model.pkl'));
    expect(await reasons('    frozen: true\n')).toEqual(['outs missing: model.pkl']);
  });
});
