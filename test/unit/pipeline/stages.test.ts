/**
 * dvc.yaml as DVC reads it: vars (params.yaml by default, files with keys, inline mappings,
 * stage vars), `${}` in every field, foreach over lists and mappings, matrix, mappings
 * unpacked into command flags, `\${` kept literal; and everything malformed refused in one
 * line naming the file and stage. (The commands expected here are the ones DVC 3.67 resolves
 * for the same files.)
 */
import { describe, expect, it } from 'vitest';
import { parsePipeline, type Stage } from '../../../src/pipeline/stages.js';
import { PipelineError } from '../../../src/pipeline/errors.js';

function parse(yaml: string, files: Record<string, string> = {}, file = 'dvc.yaml'): Stage[] {
  return parsePipeline({ file, text: yaml, read: (p) => (p in files ? Buffer.from(files[p]!) : undefined) });
}

const PARAMS = `train:
  lr: 0.00001
  big: 1.0e20
  whole: 3.0
  epochs: 10
  flag: true
  off: false
  name: "my model"
  layers: [64, 32]
models: [a, b]
nested:
  x: {p: 1, q: 2}
  y: {p: 3, q: 4}
`;

describe('dvc.yaml', () => {
  it('interpolates as DVC does (commands checked against DVC 3.67 on the same files)', () => {
    const stages = parse(
      `vars:
  - extra.yaml:seed,opt
  - inline: 7
stages:
  a:
    cmd: python t.py --lr \${train.lr} --big \${train.big} --w \${train.whole} --e \${train.epochs} --f \${train.flag} \${train.off} "\${train.name}" \${train.layers[1]} \${seed} \\\${literal}
    deps: [t.py]
  b:
    cmd: python t.py \${train}
    deps: [t.py]
  c:
    foreach: \${models}
    do:
      cmd: echo \${item} \${inline}
      outs:
      - out-\${item}.txt
  d:
    foreach: \${nested}
    do:
      cmd: echo \${key} \${item.p} \${item.q}
  e:
    matrix:
      m: [x, y]
      n: [1, 2.5]
    cmd: echo \${item.m} \${item.n} \${key}
  f:
    vars:
      - local: 9
    cmd:
    - echo \${local}
    - echo \${opt.name} \${opt.betas[0]}
    wdir: sub
`,
      { 'params.yaml': PARAMS, 'extra.yaml': 'seed: 42\nopt: {name: adam, betas: [0.9, 0.99]}\nunused: 1\n' },
    );
    expect(stages.map((s) => [s.address, s.cmd, s.wdir, s.outs.map((o) => o.path)])).toEqual([
      ['a', 'python t.py --lr 1e-05 --big 1e+20 --w 3.0 --e 10 --f true false "my model" 32 42 ${literal}', '.', []],
      ['b', "python t.py --lr 1e-05 --big 1e+20 --whole 3.0 --epochs 10 --flag --name 'my model' --layers 64 32", '.', []],
      ['c@a', 'echo a 7', '.', ['out-a.txt']],
      ['c@b', 'echo b 7', '.', ['out-b.txt']],
      ['d@x', 'echo x 1 2', '.', []],
      ['d@y', 'echo y 3 4', '.', []],
      ['e@x-1', 'echo x 1 x-1', '.', []],
      ['e@x-2.5', 'echo x 2.5 x-2.5', '.', []],
      ['e@y-1', 'echo y 1 y-1', '.', []],
      ['e@y-2.5', 'echo y 2.5 y-2.5', '.', []],
      ['f', ['echo 9', 'echo adam 0.9'], 'sub', []],
    ]);
  });

  it('reads deps, params (DVC forms), outs with flags, metrics, plots, frozen and always_changed; paths from the stage folder', () => {
    const [s] = parse(
      `stages:
  train:
    cmd: python train.py
    wdir: src
    deps: [train.py, ../data/features]
    params:
    - lr
    - epochs
    - other.yaml: [a.b]
    - whole.toml:
    outs:
    - ../model.pkl
    - ../cache: {persist: true, cache: false}
    metrics:
    - ../metrics.json: {cache: false}
    plots:
    - ../plots/loss.csv: {x: step, y: loss}
    frozen: true
    always_changed: true
    desc: trains
`,
    );
    expect(s!.deps).toEqual([
      { def: 'train.py', path: 'src/train.py' },
      { def: '../data/features', path: 'data/features' },
    ]);
    expect(s!.params).toEqual([
      { def: 'params.yaml', path: 'src/params.yaml', keys: ['lr', 'epochs'] },
      { def: 'other.yaml', path: 'src/other.yaml', keys: ['a.b'] },
      { def: 'whole.toml', path: 'src/whole.toml', keys: null },
    ]);
    expect(s!.outs.map((o) => [o.path, o.kind, o.cache, o.persist])).toEqual([
      ['model.pkl', 'outs', true, false],
      ['cache', 'outs', false, true],
      ['metrics.json', 'metrics', false, false],
      ['plots/loss.csv', 'plots', true, false],
    ]);
    expect([s!.frozen, s!.alwaysChanged, s!.desc]).toEqual([true, true, 'trains']);
  });

  it('names the stages of a pipeline file below the root by its path', () => {
    const [s] = parse('stages:\n  prep:\n    cmd: make\n    deps: [in]\n    outs: [out]\n', {}, 'sub/dvc.yaml');
    expect([s!.address, s!.name, s!.wdir, s!.lockFile, s!.deps[0]!.path, s!.outs[0]!.path]).toEqual(['sub/dvc.yaml:prep', 'prep', 'sub', 'sub/dvc.lock', 'sub/in', 'sub/out']);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['not YAML', 'stages:\n  a: [', /^dvc\.yaml(:\d+)?: not valid YAML/],
    ['an unknown top-level key', 'stagez: {}\n', /unknown key 'stagez'/],
    ['an unknown stage key', 'stages:\n  a:\n    cmd: x\n    dep: [y]\n', /stage 'a': unknown key 'dep'/],
    ['no command', 'stages:\n  a:\n    deps: [y]\n', /stage 'a': 'cmd' must be a command/],
    ['a missing variable', 'stages:\n  a:\n    cmd: echo ${nope}\n', /stage 'a'.cmd: could not find 'nope'/],
    ['a mapping interpolated into a path', 'vars: [{m: {a: 1}}]\nstages:\n  a:\n    cmd: x\n    deps:\n    - ${m}\n', /cannot interpolate data of type 'dict'/],
    ['a variable defined twice', 'vars: [{a: 1}, {a: 2}]\nstages:\n  s:\n    cmd: x\n', /cannot redefine 'a'/],
    ['a path outside the repository', 'stages:\n  a:\n    cmd: x\n    deps: [../../etc/passwd]\n', /'..\/..\/etc\/passwd' is outside the repository/],
    ['an absolute path', 'stages:\n  a:\n    cmd: x\n    outs: [/tmp/x]\n', /absolute paths are not supported/],
    ['a path into .git', 'stages:\n  a:\n    cmd: x\n    outs: [.git/hooks/pre-commit]\n', /inside '.git'/],
    ['a URL', 'stages:\n  a:\n    cmd: x\n    deps: [s3://bucket/x]\n', /URLs\) are not supported/],
    ['a bad stage name', 'stages:\n  a.b:\n    cmd: x\n', /'a.b' is not a valid stage name/],
    ['an output listed twice', 'stages:\n  a:\n    cmd: x\n    outs: [o, ./o]\n', /'.\/o' is listed twice/],
    ['a bad flag', 'stages:\n  a:\n    cmd: x\n    outs: [{o: {cache: maybe}}]\n', /'cache' must be true or false/],
    ['a vars file that is not there', 'vars: [nothere.yaml]\nstages: {}\n', /'nothere.yaml' does not exist/],
    ['foreach over a number', 'vars: [{n: 3}]\nstages:\n  a:\n    foreach: ${n}\n    do: {cmd: x}\n', /expected a list or a mapping/],
  ];
  for (const [what, yaml, msg] of bad)
    it(`refuses ${what} in one line`, () => {
      let err: unknown;
      try {
        parse(yaml);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PipelineError);
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).not.toContain('\n');
    });
});
