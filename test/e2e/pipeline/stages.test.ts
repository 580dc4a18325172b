/**
 * mk repro on small shell pipelines: what runs with -s, --downstream and a foreach group; a
 * failing stage stops the run (exit 1, its status in the message) and keeps the stages before it; every
 * malformed pipeline is one line; an output mk tracks that holds unsaved changes is not
 * deleted unless --force; a pipeline file mk cannot read leaves `mk status` working.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectMkError, git, makeRepo, mk, mkJson, mkRun } from '../../support/repo.js';

const PIPE = `stages:
  a:
    cmd: cat in.txt > a.txt && echo a >> trace
    deps: [in.txt]
    outs: [a.txt]
  b:
    cmd: cat a.txt a.txt > b.txt && echo b >> trace
    deps: [a.txt]
    outs: [b.txt]
  c:
    foreach: [x, y]
    do:
      cmd: cat b.txt > c-\${item}.txt && echo c-\${item} >> trace
      deps: [b.txt]
      outs:
      - c-\${item}.txt
`;

describe('mk repro: targets, failures and refusals', () => {
  let r: { dir: string; cleanup: () => void };
  const trace = () => {
    const f = join(r.dir, 'trace');
    const t = existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
    writeFileSync(f, '');
    return t;
  };
  const write = (rel: string, text: string) => writeFileSync(join(r.dir, rel), text);

  beforeEach(() => {
    r = makeRepo();
    write('in.txt', 'one\n');
    write('dvc.yaml', PIPE);
    write('.gitignore', 'trace\n');
  });
  afterEach(() => r.cleanup());

  it('runs what a target needs; -s the target alone; --downstream what follows; a foreach group by its name', () => {
    expect(mkRun(r.dir, ['repro', 'b']).status).toBe(0);
    expect(trace()).toEqual(['a', 'b']);
    expect(mkRun(r.dir, ['repro', 'c@y']).status).toBe(0);
    expect(trace()).toEqual(['c-y']);
    const st = mkJson<{ stages: unknown[] }>(r.dir, 'status');
    expect(st.stages).toEqual([{ stage: 'c@x', stale: true, frozen: false, reasons: ['never run: not in dvc.lock'] }]);
    write('in.txt', 'two\n');
    expect(mkRun(r.dir, ['repro', '-s', 'b']).status).toBe(0);
    expect(trace()).toEqual([]); // b's own inputs did not change, and a is not run with -s
    expect(mkRun(r.dir, ['repro', 'a', '--downstream']).status).toBe(0);
    expect(trace()).toEqual(['a', 'b', 'c-x', 'c-y']);
    expect(mkRun(r.dir, ['repro', 'c']).status).toBe(0);
    expect(trace()).toEqual([]);
    const dag = mkJson<{ edges: Array<{ from: string; to: string; paths: string[] }> }>(r.dir, 'dag');
    expect(dag.edges).toEqual([
      { from: 'a', to: 'b', paths: ['a.txt'] },
      { from: 'b', to: 'c@x', paths: ['b.txt'] },
      { from: 'b', to: 'c@y', paths: ['b.txt'] },
    ]);
  });

  it("a failing stage stops the run (ESTAGE, exit 1, the command's status in the message); the stages before it are recorded", () => {
    write('dvc.yaml', PIPE.replace('cat a.txt a.txt > b.txt', 'exit 3'));
    const res = mkRun(r.dir, ['repro']);
    expect(res.status).toBe(1);
    expectMkError(res, "stage 'b' failed: 'exit 3 && echo b >> trace' exited with status 3");
    expect(trace()).toEqual(['a']);
    expect(readFileSync(join(r.dir, 'dvc.lock'), 'utf8')).toMatch(/^ {2}a:\n/m);
    expect(readFileSync(join(r.dir, 'dvc.lock'), 'utf8')).not.toMatch(/^ {2}b:\n/m);
    expect(git(r.dir, 'diff', '--cached', '--name-only')).toContain('dvc.lock');
  });

  it('a stage that does not write its output is an error', () => {
    write('dvc.yaml', PIPE.replace('cat in.txt > a.txt && ', ''));
    expectMkError(mkRun(r.dir, ['repro', 'a']), "stage 'a' did not write its output 'a.txt'");
  });

  const broken: Array<[string, string, string]> = [
    ['a cycle', 'stages:\n  a: {cmd: x, deps: [b.out], outs: [a.out]}\n  b: {cmd: y, deps: [a.out], outs: [b.out]}\n', 'the pipeline has a cycle: a -> b -> a'],
    ['overlapping outputs', 'stages:\n  a: {cmd: x, outs: [d]}\n  b: {cmd: y, outs: [d/f]}\n', "overlapping outputs: 'd' (stage 'a') holds 'd/f' (stage 'b')"],
    ['bad YAML', 'stages:\n  a: [\n', 'dvc.yaml:'],
    ['an unknown stage', PIPE, "no stage named 'nope'"],
  ];
  for (const [what, yaml, msg] of broken)
    it(`refuses ${what} in one line`, () => {
      write('dvc.yaml', yaml);
      expectMkError(mkRun(r.dir, ['repro', ...(what === 'an unknown stage' ? ['nope'] : [])]), msg);
    });

  it('without a dvc.yaml, says so; with no stages, there is nothing to do', () => {
    write('dvc.yaml', 'stages: {}\n');
    expect(mk(r.dir, 'repro')).toContain('Every stage is up to date');
    rmSync(join(r.dir, 'dvc.yaml'));
    expectMkError(mkRun(r.dir, ['repro']), 'no dvc.yaml in this repository');
  });

  it('a pipeline file mk cannot read is a warning in mk status, which still lists the artifacts', () => {
    expect(mkRun(r.dir, ['repro']).status).toBe(0);
    write('dvc.yaml', 'stages:\n  a: [\n');
    const st = mkRun(r.dir, ['status']);
    expect(st.status).toBe(0);
    expect(st.stdout).toContain('a.txt');
    expect(st.stderr).toMatch(/^warning: pipeline: dvc\.yaml:\d+: not valid YAML/m);
  });

  it('a bad .mk/config.yaml, which both the artifacts and the stages read, is one error in mk status, not an error and a warning', () => {
    write('.mk/config.yaml', readFileSync(join(r.dir, '.mk/config.yaml'), 'utf8') + 'no_such_key: 1\n');
    const st = mkRun(r.dir, ['status']);
    expectMkError(st, 'no_such_key');
    expect(st.stderr).not.toContain('warning: pipeline');
  });

  it('an output mk tracks that holds unsaved changes is not deleted, unless --force', () => {
    expect(mkRun(r.dir, ['repro']).status).toBe(0);
    trace();
    write('a.txt', 'my own edit\n');
    write('in.txt', 'three\n');
    const res = mkRun(r.dir, ['repro', 'a']);
    expectMkError(res, "running stage 'a' would delete a.txt, which holds changes that neither dvc.lock nor mk's cache records");
    expect(readFileSync(join(r.dir, 'a.txt'), 'utf8')).toBe('my own edit\n');
    expect(trace()).toEqual([]);
    expect(mkRun(r.dir, ['repro', 'a', '--force']).status).toBe(0);
    expect(readFileSync(join(r.dir, 'a.txt'), 'utf8')).toBe('three\n');
    expect(trace()).toEqual(['a']);
  });
});
