/**
 * How often mk is started by Git's hooks. `git switch` runs the reference-transaction hook
 * (HEAD moved) and then post-checkout: when the first one already put the data in place, the
 * post-checkout shim sees it (mk's record of the pointers in place is newer than Git's index and
 * lists the index's pointers) and does not start mk again. Every case the record cannot vouch
 * for still starts mk: a file checkout, a checkout that does not move HEAD, a switch whose
 * pointers did not change (large files Git smudged are settled by post-checkout).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, sha256 } from '../../support/files.js';
import { makeRepo, mk, tempDir } from '../../support/repo.js';
import { g, gitRun } from './support.js';

describe('mk starts once per git switch', () => {
  let repo: { dir: string; cleanup: () => void };
  const marks = tempDir('mk-marks-');
  const log = join(marks.dir, 'runs.log');
  const preload = join(marks.dir, 'mark.cjs');
  const p = (rel: string) => join(repo.dir, rel);
  // Every mk process the hooks start appends its arguments (NODE_OPTIONS --require runs first in each).
  const env = () => ({ NODE_OPTIONS: `--require ${preload}` });
  const runs = (): string[] => {
    let t = '';
    try {
      t = readFileSync(log, 'utf8');
    } catch {
      /* none */
    }
    rmSync(log, { force: true });
    return t
      .split('\n')
      .filter((l) => l.includes(' hook '))
      .map((l) => l.slice(l.indexOf(' hook ') + 1));
  };

  beforeAll(() => {
    writeFileSync(preload, `require('fs').appendFileSync(${JSON.stringify(log)}, process.argv.slice(1).join(' ') + '\\n');\n`);
    repo = makeRepo();
    mk(repo.dir, 'install');
    for (let i = 0; i < 30; i++) put(p(`ds/f${i}.bin`), `v1 file ${i}`);
    mk(repo.dir, 'add', 'ds');
    g(repo.dir, 'commit', '-qm', 'v1');
    g(repo.dir, 'tag', 'v1');
    put(p('ds/f3.bin'), 'v2 file 3');
    mk(repo.dir, 'add', 'ds');
    g(repo.dir, 'commit', '-qm', 'v2');
    writeFileSync(p('code.py'), 'print(1)\n');
    g(repo.dir, 'add', 'code.py');
    g(repo.dir, 'commit', '-qm', 'code only');
    runs();
  });
  afterAll(() => {
    repo.cleanup();
    marks.cleanup();
  });

  it('a switch that moves the pointers: mk starts once (in reference-transaction when git reports the move), and the data follows', () => {
    const r = gitRun(repo.dir, ['checkout', '-q', 'v1'], env());
    expect(r.status, r.stderr).toBe(0);
    expect(runs()).toEqual(['hook reference-transaction committed']);
    expect(readFileSync(p('ds/f3.bin'), 'utf8')).toBe('v1 file 3');
    const back = gitRun(repo.dir, ['checkout', '-q', 'main'], env());
    expect(back.status, back.stderr).toBe(0);
    // Attaching HEAD to a branch again is a symbolic-ref update, which git (before 2.45) does not
    // report to reference-transaction: post-checkout does the work, and mk still starts once.
    expect(runs()).toHaveLength(1);
    expect(sha256(readFileSync(p('ds/f3.bin')))).toBe(sha256(Buffer.from('v2 file 3')));
  });

  it('a switch between commits with the same pointers: reference-transaction does not start mk, post-checkout does', () => {
    expect(gitRun(repo.dir, ['checkout', '-q', 'HEAD~1'], env()).status).toBe(0);
    expect(runs()).toEqual([`hook post-checkout ${g(repo.dir, 'rev-parse', 'main').trim()} ${g(repo.dir, 'rev-parse', 'HEAD').trim()} 1`]);
    expect(gitRun(repo.dir, ['checkout', '-q', 'main'], env()).status).toBe(0);
    runs();
  });

  it('a checkout that does not move HEAD still starts mk (it restores data that went missing)', () => {
    rmSync(p('ds'), { recursive: true });
    const r = gitRun(repo.dir, ['checkout', '-q', '-b', 'side'], env());
    expect(r.status, r.stderr).toBe(0);
    expect(runs()).toEqual(expect.arrayContaining([expect.stringMatching(/^hook post-checkout /)]));
    expect(readFileSync(p('ds/f3.bin'), 'utf8')).toBe('v2 file 3');
    expect(gitRun(repo.dir, ['checkout', '-q', 'main'], env()).status).toBe(0);
    runs();
  });

  it('a file checkout of a pointer starts mk in post-checkout, and the data follows', () => {
    const r = gitRun(repo.dir, ['checkout', 'v1', '--', 'ds.mk.yaml'], env());
    expect(r.status, r.stderr).toBe(0);
    expect(runs()).toEqual([expect.stringMatching(/^hook post-checkout .* 0$/)]);
    expect(readFileSync(p('ds/f3.bin'), 'utf8')).toBe('v1 file 3');
    g(repo.dir, 'checkout', 'main', '--', 'ds.mk.yaml');
    runs();
  });
});
