/**
 * Pointer files are text in Git: a bad merge truncates one, a newer mk writes version 99,
 * a hand edit breaks a digest. Every command that meets such a pointer says which file is
 * wrong in one line (and what to do), exits non-zero, and loses nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asRecord, put, randomBytesFrom, rng, sha256File, snapshotTree } from '../../support/files.js';
import { copyRepo, expectMkError, git, makeRepo, mk, mkJson, mkRun } from '../../support/repo.js';

/** [name, how to break a good pointer, expected error, check every command (else status and checkout only)] */
const BREAKERS: Array<[string, (good: string) => string, RegExp, boolean?]> = [
  ['truncated in the middle', (g) => g.slice(0, Math.floor(g.length * 0.6)), /ds\.mk\.yaml: invalid mk pointer: /, true],
  ['truncated to its comment line', (g) => g.split('\n')[0]!, /ds\.mk\.yaml: invalid mk pointer: it does not start with 'mk: <version>'/],
  ['an unknown format version (mk: 99)', (g) => g.replace(/^mk: 1$/m, 'mk: 99'), /ds\.mk\.yaml: invalid mk pointer: unsupported format version 99/, true],
  ['a bad digest', (g) => g.replace(/^digest: sha256:([0-9a-f]{10})/m, 'digest: sha256:XYZ'), /ds\.mk\.yaml: invalid mk pointer: digest must be 'sha256:'/, true],
  ['a digest of another algorithm', (g) => g.replace(/^digest: sha256:/m, 'digest: md5:'), /ds\.mk\.yaml: invalid mk pointer: digest/],
  ['a negative size', (g) => g.replace(/^size: \d+$/m, 'size: -5'), /ds\.mk\.yaml: invalid mk pointer: size must be/],
  ['an unknown key', (g) => g + 'url: http://example.com/x\n', /ds\.mk\.yaml: invalid mk pointer: unknown key 'url'/],
  ['broken YAML', (g) => g.replace(/^kind: dataset$/m, 'kind: [dataset'), /ds\.mk\.yaml: invalid mk pointer: not valid YAML/],
  ['a duplicated key', (g) => g + 'size: 1\n', /ds\.mk\.yaml: invalid mk pointer: /],
  ['too large to be a pointer', (g) => g + `description: "${'x'.repeat(5000)}"\n`, /ds\.mk\.yaml: invalid mk pointer: larger than 4096 bytes/],
];

describe('a malformed pointer gets a one-line error naming the file, and nothing is lost', () => {
  let repo: { dir: string; cleanup: () => void };
  let good: string;
  const p = (rel: string) => join(repo.dir, rel);

  let base: { dir: string; cleanup: () => void };
  beforeAll(() => {
    repo = base = makeRepo();
    for (let i = 0; i < 20; i++) put(p(`ds/f${i}.txt`), `row ${i}\n`);
    put(p('model.bin'), randomBytesFrom(rng(5), 20_000));
    mk(repo.dir, 'add', 'ds', 'model.bin');
    git(repo.dir, 'commit', '-qm', 'data');
    good = readFileSync(p('ds.mk.yaml'), 'utf8');
  });
  afterAll(() => base.cleanup());
  beforeEach(() => {
    repo = copyRepo(base.dir);
  });
  afterEach(() => repo.cleanup());

  it.each(BREAKERS)('in the work tree: %s', (_name, breakIt, expected, everyCommand) => {
    const bad = breakIt(good);
    writeFileSync(p('ds.mk.yaml'), bad);
    // Some work-tree data changes that a careless command could clobber.
    put(p('ds/f0.txt'), 'edited, not saved\n');
    const dsBefore = snapshotTree(p('ds'));
    const modelBefore = sha256File(p('model.bin'));

    const commands = everyCommand ? [['status'], ['checkout'], ['checkout', '--force'], ['checkout', 'HEAD'], ['diff'], ['ls'], ['gc']] : [['status'], ['checkout', '--force']];
    for (const args of commands) {
      const line = expectMkError(mkRun(repo.dir, args), expected);
      expect(line, args.join(' ')).toMatch(/^mk: ds\.mk\.yaml: /);
    }
    const r = mkRun(repo.dir, ['status']);
    expect(r.stderr).toMatch(/^hint: restore it with 'git checkout -- ds\.mk\.yaml' or re-create it with 'mk add'$/m);

    // Nothing was touched: the data, the other artifact, the bad pointer itself, the cache.
    expect(asRecord(snapshotTree(p('ds')))).toEqual(asRecord(dsBefore));
    expect(sha256File(p('model.bin'))).toBe(modelBefore);
    expect(readFileSync(p('ds.mk.yaml'), 'utf8')).toBe(bad);
    // Other artifacts are still served when named.
    expect(mkJson(repo.dir, 'status', 'model.bin').artifacts.map((s: any) => s.workspace)).toEqual(['clean']);

    if (!everyCommand) return;
    // Both ways out that the hint names work.
    git(repo.dir, 'checkout', '--', 'ds.mk.yaml');
    expect(mkJson(repo.dir, 'status', 'ds').artifacts[0].workspace).toBe('modified');
    writeFileSync(p('ds.mk.yaml'), bad);
    const added = mkJson(repo.dir, 'add', 'ds').artifacts;
    expect(added[0].changed).toBe(true);
    expect(mkJson(repo.dir, 'status', 'ds').artifacts[0]).toMatchObject({ workspace: 'clean', commit: 'changed', kind: 'dataset', files: 20 });
  });

  it('in a commit: checkout, diff and ls of that revision name the file and the commit', () => {
    writeFileSync(p('ds.mk.yaml'), good.replace(/^mk: 1$/m, 'mk: 99'));
    git(repo.dir, 'commit', '-qam', 'written by a future mk');
    const bad = git(repo.dir, 'rev-parse', 'HEAD').trim().slice(0, 12);
    git(repo.dir, 'checkout', '-q', 'HEAD~1', '--', 'ds.mk.yaml'); // the work tree is fine again
    const dsBefore = snapshotTree(p('ds'));
    for (const args of [
      ['checkout', 'HEAD'],
      ['checkout', 'HEAD', '--', 'ds'],
      ['diff', 'HEAD~1', 'HEAD'],
      ['ls', 'HEAD'],
      ['gc', '--all-commits'],
    ]) {
      const r = mkRun(repo.dir, args);
      expectMkError(r, `ds.mk.yaml at ${bad}: invalid mk pointer: unsupported format version 99`);
      // The hint must be something a user can run or do (not 'git checkout -- ds.mk.yaml at <commit>').
      expect(r.stderr, args.join(' ')).not.toMatch(/^hint: .* at [0-9a-f]{12}/m);
    }
    expect(asRecord(snapshotTree(p('ds')))).toEqual(asRecord(dsBefore));
    expect(readFileSync(p('ds.mk.yaml'), 'utf8')).toBe(good);
    // The other artifact of that commit can still be restored.
    put(p('model.bin'), 'scratch');
    mk(repo.dir, 'checkout', '--force', 'HEAD', '--', 'model.bin');
    expect(mkJson(repo.dir, 'status', 'model.bin').artifacts[0].workspace).toBe('clean');
  });

  it('a directory named like a pointer is not taken for one', () => {
    put(p('odd/x.mk.yaml/inner.txt'), 'a directory named like a pointer');
    git(repo.dir, 'add', 'odd');
    expect(mkJson(repo.dir, 'status').artifacts.map((s: any) => s.path)).toEqual(['ds', 'model.bin']);
  });
});
