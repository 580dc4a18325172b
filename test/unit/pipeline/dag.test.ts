/**
 * The graph: an edge wherever an output of one stage is, holds, or lies inside a dep of
 * another; stages in dependency order; cycles, overlapping outputs and a stage reading its own
 * output refused in one line; what `mk repro <stage>` runs with -s and --downstream.
 */
import { describe, expect, it } from 'vitest';
import { buildDag, findStages, plan } from '../../../src/pipeline/dag.js';
import { parsePipeline } from '../../../src/pipeline/stages.js';

const stages = (yaml: string) => parsePipeline({ file: 'dvc.yaml', text: yaml, read: () => undefined });
const names = (xs: Array<{ address: string }>) => xs.map((s) => s.address);

const FOUR = `stages:
  evaluate: {cmd: e, deps: [model.pkl, data/features/test.csv], metrics: [m.json]}
  train: {cmd: t, deps: [data/features], outs: [model.pkl]}
  featurize: {cmd: f, deps: [data/prepared], outs: [data/features]}
  prepare: {cmd: p, deps: [data/raw.csv], outs: [data/prepared]}
  report: {cmd: r, deps: [m.json]}
  other: {cmd: o, deps: [x], outs: [y]}
`;

describe('the stage graph', () => {
  it('orders stages after what they read, whatever order the file lists them in', () => {
    const d = buildDag(stages(FOUR));
    expect(names(d.order)).toEqual(['prepare', 'featurize', 'train', 'evaluate', 'report', 'other']);
    expect(names(d.upstream.get('evaluate')!)).toEqual(['train', 'featurize']); // a file inside an output folder links too
    expect(names(d.downstream.get('featurize')!)).toEqual(['evaluate', 'train']);
  });

  it('plans a target with what it needs, alone with -s, or with what follows with --downstream', () => {
    const d = buildDag(stages(FOUR));
    expect(names(plan(d, ['train']))).toEqual(['prepare', 'featurize', 'train']);
    expect(names(plan(d, ['train'], { single: true }))).toEqual(['train']);
    expect(names(plan(d, ['featurize'], { downstream: true }))).toEqual(['featurize', 'train', 'evaluate', 'report']);
    expect(names(plan(d, []))).toEqual(names(d.order));
  });

  it('finds foreach groups and pipeline files by name, and says which stages exist when a name is wrong', () => {
    const d = buildDag(stages('stages:\n  t:\n    foreach: [a, b]\n    do:\n      cmd: x\n      outs:\n      - o-${item}\n  u: {cmd: y}\n'));
    expect(names(findStages(d, 't'))).toEqual(['t@a', 't@b']);
    expect(names(findStages(d, 't@b'))).toEqual(['t@b']);
    expect(names(findStages(d, 'dvc.yaml'))).toEqual(['t@a', 't@b', 'u']);
    expect(() => findStages(d, 'nope')).toThrow(/no stage named 'nope'/);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['a cycle', 'stages:\n  a: {cmd: x, deps: [b.out], outs: [a.out]}\n  b: {cmd: y, deps: [a.out], outs: [b.out]}\n', /the pipeline has a cycle: a -> b -> a/],
    ['two stages writing one path', 'stages:\n  a: {cmd: x, outs: [o]}\n  b: {cmd: y, outs: [o]}\n', /output 'o' is produced by two stages: 'a' and 'b'/],
    ['an output inside another', 'stages:\n  a: {cmd: x, outs: [d]}\n  b: {cmd: y, outs: [d-x, d/f]}\n', /overlapping outputs: 'd' \(stage 'a'\) holds 'd\/f' \(stage 'b'\)/],
    ['a stage reading its own output', 'stages:\n  a: {cmd: x, deps: [d/in], outs: [d]}\n', /stage 'a' depends on its own output/],
  ];
  for (const [what, yaml, msg] of bad)
    it(`refuses ${what} in one line`, () => {
      expect(() => buildDag(stages(yaml))).toThrow(msg);
    });
});
