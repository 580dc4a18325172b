/**
 * A data scientist tries a new learning rate on a branch and compares: `mk params diff` and
 * `mk metrics diff` list every key added, removed or changed between two revisions (or a
 * revision and the work tree), with the change in absolute terms and in percent; text values
 * are compared without arithmetic; a file present at one revision only is said so.
 * Params come from YAML, JSON and TOML files, nested keys flattened to `train.lr`.
 */
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectMkError, git, makeRepo, mk, mkJson, mkRun } from '../../support/repo.js';

describe('params and metrics diffs over real branches', () => {
  let repo: { dir: string; cleanup: () => void };
  const p = (rel: string) => join(repo.dir, rel);

  beforeAll(() => {
    repo = makeRepo();
    appendFileSync(p('.mk/config.yaml'), 'params: [params.yaml, train.toml, extra.json]\nmetrics: [metrics.json]\n');
    writeFileSync(p('params.yaml'), 'train:\n  lr: 0.1\n  epochs: 10\nmodel: resnet\nlayers: [1, 2]\n');
    writeFileSync(p('train.toml'), '[opt]\nname = "adam"\nbeta = 0.9\n');
    writeFileSync(p('metrics.json'), JSON.stringify({ acc: 0.8, loss: 0.5, eval: { f1: 0.7 }, note: 'baseline' }));
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', 'baseline');
    git(repo.dir, 'checkout', '-qb', 'lr-small');
    writeFileSync(p('params.yaml'), 'train:\n  lr: 0.05\n  batch: 32\nmodel: vit\nlayers: [1, 2, 3]\n');
    rmSync(p('train.toml'));
    writeFileSync(p('extra.json'), JSON.stringify({ seed: 7 }));
    writeFileSync(p('metrics.json'), JSON.stringify({ acc: 0.85, loss: 0, eval: { f1: 0.7 }, note: 'better' }));
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', 'smaller lr');
    git(repo.dir, 'checkout', '-q', 'main');
  });
  afterAll(() => repo.cleanup());

  it('params diff main lr-small: added, removed, changed, non-numeric values, files at one side only', () => {
    const d = mkJson(repo.dir, 'params', 'diff', 'main', 'lr-small');
    expect(d.a.label).toBe('main');
    expect(d.b.commit).toMatch(/^[0-9a-f]{40}$/);
    const by = Object.fromEntries(d.changes.map((c: any) => [`${c.path}:${c.key}`, c]));
    expect(by['params.yaml:train.lr']).toMatchObject({ status: 'changed', old: 0.1, new: 0.05, change: -0.05, changePercent: -50 });
    expect(by['params.yaml:train.epochs']).toMatchObject({ status: 'removed', old: 10 });
    expect(by['params.yaml:train.epochs']).not.toHaveProperty('new');
    expect(by['params.yaml:train.batch']).toMatchObject({ status: 'added', new: 32 });
    expect(by['params.yaml:model']).toEqual({ path: 'params.yaml', key: 'model', status: 'changed', old: 'resnet', new: 'vit' });
    expect(by['params.yaml:layers']).toMatchObject({ status: 'changed', old: '[1,2]', new: '[1,2,3]' });
    expect(by['train.toml:opt.name']).toMatchObject({ status: 'removed', old: 'adam' });
    expect(by['extra.json:seed']).toMatchObject({ status: 'added', new: 7 });
    expect(Object.keys(by)).toHaveLength(8);
    expect(d.files).toEqual([
      { path: 'train.toml', old: 'ok', new: 'missing' },
      { path: 'extra.json', old: 'missing', new: 'ok' },
    ]);
  });

  it('metrics diff: a defaults to HEAD, b to the work tree; --all lists unchanged keys; the table and Markdown show old, new and change', () => {
    writeFileSync(p('metrics.json'), JSON.stringify({ acc: 0.9, loss: 0.4, eval: { f1: 0.7 }, note: 'baseline', new_metric: 1 }));
    const d = mkJson(repo.dir, 'metrics', 'diff');
    expect(d.a).toMatchObject({ label: 'HEAD' });
    expect(d.b).toEqual({ label: 'workspace' });
    const acc = d.changes.find((c: any) => c.key === 'acc');
    expect(acc).toMatchObject({ old: 0.8, new: 0.9, change: 0.1, changePercent: 12.5 });
    expect(d.changes.map((c: any) => c.key).sort()).toEqual(['acc', 'loss', 'new_metric']);
    expect(mkJson(repo.dir, 'metrics', 'diff', '--all').changes.find((c: any) => c.key === 'eval.f1')).toMatchObject({ status: 'unchanged', change: 0, changePercent: 0 });

    const text = mk(repo.dir, 'metrics', 'diff');
    expect(text.split('\n')[0]).toMatch(/^Path\s+Key\s+Old\s+New\s+Change\s+Change %$/);
    expect(text).toMatch(/metrics\.json\s+acc\s+0\.8\s+0\.9\s+\+0\.1\s+\+12\.5%/);
    const md = mk(repo.dir, 'metrics', 'diff', '--md');
    expect(md).toContain('| Path | Key | Old | New | Change | Change % |');
    expect(md).toContain('| metrics.json | acc | 0.8 | 0.9 | +0.1 | +12.5% |');
    expect(md).toContain('| metrics.json | new_metric | - | 1 | added | - |');
    // A text value with a line break stays on its row.
    writeFileSync(p('metrics.json'), JSON.stringify({ acc: 0.8, loss: 0.5, eval: { f1: 0.7 }, note: 'two\nlines' }));
    expect(mk(repo.dir, 'metrics', 'diff')).toMatch(/metrics\.json\s+note\s+baseline\s+two\\nlines\s+changed\s+-\n/);
    git(repo.dir, 'checkout', '--', 'metrics.json');
    expect(mk(repo.dir, 'metrics', 'diff')).toContain('no metrics changed between HEAD and workspace');
  });

  it('metrics show: a column per revision', () => {
    const r = mkJson(repo.dir, 'metrics', 'show', 'main', 'lr-small');
    expect(r.revisions.map((x: any) => x.revision.label)).toEqual(['main', 'lr-small']);
    expect(r.revisions[1].metrics).toEqual({ acc: 0.85, loss: 0, 'eval.f1': 0.7, note: 'better' });
    const md = mk(repo.dir, 'metrics', 'show', 'main', 'lr-small', '--md');
    expect(md).toContain('| Metric | main | lr-small |');
    expect(md).toContain('| acc | 0.8 | 0.85 |');
  });

  it('bad input: one clear line and nothing else', () => {
    writeFileSync(p('params.yaml'), 'train: [unclosed\n');
    const d = mkJson(repo.dir, 'params', 'diff');
    expect(d.files.find((f: any) => f.path === 'params.yaml')).toMatchObject({ old: 'ok', new: 'invalid', problem: expect.stringContaining('params.yaml: not valid YAML') });
    git(repo.dir, 'checkout', '--', 'params.yaml');
    expectMkError(mkRun(repo.dir, ['params', 'diff', 'no-such-branch']), "unknown revision 'no-such-branch'");
    // With --json, the error is JSON on stdout (docs/spec/errors.md), exit 2 for a usage error.
    const both = mkRun(repo.dir, ['metrics', 'diff', '--json', '--md']);
    expect(both.status).toBe(2);
    expect(JSON.parse(both.stdout).error).toMatchObject({ code: 'EUSAGE', message: expect.stringContaining('--json and --md') });
    const bare = makeRepo();
    try {
      expectMkError(mkRun(bare.dir, ['metrics', 'diff']), 'no metrics files are declared');
      appendFileSync(join(bare.dir, '.mk/config.yaml'), 'params: [../outside.yaml]\n');
      expectMkError(mkRun(bare.dir, ['params', 'diff']), "params[0]: '../outside.yaml' must be a relative path inside the repository");
    } finally {
      bare.cleanup();
    }
  });
});

describe('mk init declares the experiment files it finds', () => {
  it('params.yaml, metrics.json and the series in plots/ are declared in the new config; mk metrics show reads them at once', () => {
    const repo = makeRepo({ init: false });
    try {
      const p = (rel: string) => join(repo.dir, rel);
      writeFileSync(p('params.yaml'), 'train:\n  lr: 0.1\n');
      writeFileSync(p('metrics.json'), JSON.stringify({ acc: 0.8 }));
      mkdirSync(p('plots'));
      writeFileSync(p('plots/loss.csv'), 'step,loss\n1,0.9\n2,0.5\n');
      writeFileSync(p('notes.json'), '{}');
      const r = mkRun(repo.dir, ['init']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/declared in \.mk\/config\.yaml .*params: params\.yaml; metrics: metrics\.json; plots: plots\/loss\.csv/);
      const cfg = readFileSync(p('.mk/config.yaml'), 'utf8');
      expect(cfg).toMatch(/^params: \["params\.yaml"\]$/m);
      expect(cfg).toMatch(/^metrics: \["metrics\.json"\]$/m);
      expect(cfg).toMatch(/^plots: \["plots\/loss\.csv"\]$/m);
      expect(cfg).not.toMatch(/notes\.json/);
      const shown = mkJson(repo.dir, 'metrics', 'show');
      expect(JSON.stringify(shown)).toContain('0.8');
      // A repository with none of them gets the commented examples only.
      const bare = makeRepo({ init: false });
      try {
        expect(mkRun(bare.dir, ['init']).stdout).not.toMatch(/declared in/);
        expect(readFileSync(join(bare.dir, '.mk/config.yaml'), 'utf8')).toMatch(/^# params: /m);
      } finally {
        bare.cleanup();
      }
    } finally {
      repo.cleanup();
    }
  });
});
