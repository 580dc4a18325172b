/**
 * Failures that used to end as `internal error` (exit 70) or in another tool's words, each now
 * one line with its own code: YAML alias bombs in a pointer, the config and the Kitfile; params
 * and metrics files of hundreds of thousands of keys; `mk install` beside a foreign hook whose
 * `.pre-mk` place is taken; unknown options (mk's one line, exit 2, not commander's). And the
 * error contract of `--json`: `{"error": {"code", "message", "hint"}}` on stdout, nothing on
 * stderr, the same exit status as without it.
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync, chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put } from '../../support/files.js';
import { expectMkError, git, gitEnv, makeRepo, mk, mkRun, type MkRun } from '../../support/repo.js';
import { spawnSync } from 'node:child_process';

/** A YAML document whose aliases multiply it 9^8 times (a "billion laughs"). */
const BOMB = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`), ''].join('\n');

/** The --json error object, checked: on stdout, nothing on stderr, the exit status given. */
function jsonError(r: MkRun, exit: number): { code: string; message: string; hint: string | null } {
  expect(r.status, r.stdout + r.stderr).toBe(exit);
  expect(r.stderr).toBe('');
  const j = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string | null } };
  expect(Object.keys(j)).toEqual(['error']);
  expect(Object.keys(j.error).sort()).toEqual(['code', 'hint', 'message']);
  expect(j.error.message).not.toMatch(/internal error/);
  return j.error;
}

describe('one line with a proper code, where there was an internal error', () => {
  let repo: { dir: string; cleanup: () => void };
  const p = (rel: string) => join(repo.dir, rel);
  beforeAll(() => {
    repo = makeRepo();
    put(p('data/ds/a.txt'), 'a');
    mk(repo.dir, 'add', 'data/ds');
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', 'one');
  });
  afterAll(() => repo?.cleanup());

  it('a YAML alias bomb in a pointer: EPOINTER', () => {
    const pointer = p('data/ds.mk.yaml');
    const good = readFileSync(pointer, 'utf8');
    writeFileSync(pointer, good + BOMB);
    try {
      const r = mkRun(repo.dir, ['status']);
      expect(expectMkError(r)).toMatch(/^mk: data\/ds\.mk\.yaml: invalid mk pointer: .*YAML aliases/);
      expect(jsonError(mkRun(repo.dir, ['status', '--json']), r.status).code).toBe('EPOINTER');
    } finally {
      writeFileSync(pointer, good);
    }
  });

  it('a YAML alias bomb in .mk/config.yaml: ECONFIG', () => {
    const config = p('.mk/config.yaml');
    const good = readFileSync(config, 'utf8');
    writeFileSync(config, good + 'bomb:\n' + BOMB.replace(/^/gm, '  '));
    try {
      const r = mkRun(repo.dir, ['status']);
      expect(expectMkError(r)).toMatch(/^mk: .*\.mk\/config\.yaml: (line \d+: )?.*(YAML aliases|expand too far)/);
      expect(jsonError(mkRun(repo.dir, ['status', '--json']), r.status).code).toBe('ECONFIG');
    } finally {
      writeFileSync(config, good);
    }
  });

  it('a YAML alias bomb in the Kitfile: EKITFILE', () => {
    const kitfile = p('Kitfile');
    const good = readFileSync(kitfile, 'utf8');
    // model.parameters takes any YAML: the bomb is in a place the schema allows. The commit's Kitfile is the one read.
    writeFileSync(kitfile, `manifestVersion: "1.0"\npackage:\n  name: bomb\nmodel:\n  name: m\n  parameters:\n${BOMB.replace(/^(?=.)/gm, '    ')}`);
    git(repo.dir, 'commit', '-qam', 'bomb');
    try {
      const r = mkRun(repo.dir, ['modelkit', 'build']);
      expect(expectMkError(r)).toMatch(/^mk: Kitfile(:\d+)?: .*(YAML aliases|expand too far)/);
      expect(jsonError(mkRun(repo.dir, ['modelkit', 'build', '--json']), r.status).code).toBe('EKITFILE');
    } finally {
      git(repo.dir, 'reset', '-q', '--hard', 'HEAD~1');
      expect(readFileSync(kitfile, 'utf8')).toBe(good);
    }
  });

  it('params and metrics files with 300,000 keys: one note naming the file and the bound, no crash', () => {
    const r2 = makeRepo();
    try {
      const q = (rel: string) => join(r2.dir, rel);
      writeFileSync(q('.mk/config.yaml'), readFileSync(q('.mk/config.yaml'), 'utf8') + 'params: [params.yaml]\nmetrics: [metrics.json]\n');
      writeFileSync(q('params.yaml'), 'lr: 0.1\n');
      writeFileSync(q('metrics.json'), '{"acc": 0.5}\n');
      git(r2.dir, 'add', '-A');
      git(r2.dir, 'commit', '-qm', 'small');
      const keys = Array.from({ length: 300_000 }, (_, i) => i);
      writeFileSync(q('params.yaml'), keys.map((i) => `p${i}: ${i}`).join('\n') + '\n');
      writeFileSync(q('metrics.json'), JSON.stringify(Object.fromEntries(keys.map((i) => [`m${i}`, i]))));
      git(r2.dir, 'commit', '-qam', 'huge');
      for (const args of [
        ['params', 'diff', 'HEAD~1'],
        ['metrics', 'diff', 'HEAD~1'],
        ['exp', 'show'],
        ['report', '--md'],
      ]) {
        const r = mkRun(r2.dir, args);
        expect(r.status, `mk ${args.join(' ')}: ${r.stderr}`).toBe(0);
        expect(r.stdout + r.stderr).not.toMatch(/internal error/);
      }
      const pd = mkRun(r2.dir, ['params', 'diff', 'HEAD~1']);
      expect(pd.stderr + pd.stdout).toMatch(/params\.yaml: .*holds more than 10000 values/);
      const md = mkRun(r2.dir, ['metrics', 'diff', 'HEAD~1']);
      expect(md.stderr + md.stdout).toMatch(/metrics\.json: .*holds more than 10000 values/);
    } finally {
      r2.cleanup();
    }
  });

  it('mk install beside a foreign hook whose .pre-mk place is taken: EHOOK, what to do instead, nothing touched', () => {
    const r3 = makeRepo();
    try {
      const hooks = join(r3.dir, '.git', 'hooks');
      mkdirSync(hooks, { recursive: true });
      writeFileSync(join(hooks, 'post-merge'), '#!/bin/sh\necho theirs\n');
      writeFileSync(join(hooks, 'post-merge.pre-mk'), '#!/bin/sh\necho older\n');
      chmodSync(join(hooks, 'post-merge'), 0o755);
      const before = readdirSync(hooks).sort();
      const r = mkRun(r3.dir, ['install']);
      expect(expectMkError(r)).toMatch(/^mk: the post-merge hook \(.*\) is another tool's, and post-merge\.pre-mk, where mk keeps such a hook, is taken too; nothing was installed$/);
      expect(r.stderr).toMatch(/^hint: merge post-merge into post-merge\.pre-mk by hand/m);
      expect(r.stderr).not.toMatch(/bug in mk/);
      expect(readdirSync(hooks).sort()).toEqual(before);
      expect(readFileSync(join(hooks, 'post-merge'), 'utf8')).toBe('#!/bin/sh\necho theirs\n');
    } finally {
      r3.cleanup();
    }
  });
});

describe('a track: pattern mk cannot write into .gitattributes', () => {
  it('is named with what to write instead: by mk install and when a commit changes the config, not dropped in silence', () => {
    const r = makeRepo({ init: false });
    try {
      mk(r.dir, 'init'); // keeps files through the Git filter: track: patterns become .gitattributes lines
      mk(r.dir, 'install');
      const config = join(r.dir, '.mk/config.yaml');
      writeFileSync(config, readFileSync(config, 'utf8').replace('track:\n', 'track:\n  - "!scratch.onnx"\n  - "my model.bin"\n'));
      const inst = mkRun(r.dir, ['install']);
      expect(inst.status, inst.stderr).toBe(0);
      expect(inst.stderr).toContain("warning: track: pattern '!scratch.onnx' cannot be written into .gitattributes, which has no negative patterns");
      expect(inst.stderr).toContain(
        "warning: track: pattern 'my model.bin' holds white space, which a .gitattributes pattern cannot: the files it names are not kept through mk's Git filter; write '?' for each space ('my?model.bin')",
      );
      // The commit that changes track: says so too (the pre-commit hook).
      git(r.dir, 'add', '.mk/config.yaml');
      const c = spawnSync('git', ['commit', '-qm', 'track more'], { cwd: r.dir, encoding: 'utf8', env: gitEnv() });
      expect(c.status, c.stderr).toBe(0);
      expect(c.stderr).toContain("mk: warning: track: pattern 'my model.bin' holds white space");
      // The patterns it could write are there.
      expect(readFileSync(join(r.dir, '.gitattributes'), 'utf8')).toMatch(/^\*\.onnx filter=mk/m);
    } finally {
      r.cleanup();
    }
  });
});

describe('usage errors and --json errors', () => {
  let repo: { dir: string; cleanup: () => void };
  beforeAll(() => {
    repo = makeRepo();
  });
  afterAll(() => repo?.cleanup());

  it("an unknown option is mk's one line, exit 2, with the command's help to read", () => {
    const r = mkRun(repo.dir, ['status', '--bogus']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("mk: unknown option '--bogus'\nhint: see 'mk status --help'\n");
    const nested = mkRun(repo.dir, ['modelkit', 'unpack', 'x', '--filterr', 'model']);
    expect(nested.status).toBe(2);
    expect(nested.stderr).toMatch(/^mk: unknown option '--filterr'( \(Did you mean --filter\?\))?\nhint: see 'mk modelkit unpack --help'\n$/);
    const cmd = mkRun(repo.dir, ['stauts']);
    expect(cmd.status).toBe(2);
    expect(cmd.stderr).toMatch(/^mk: unknown command 'stauts'( \(Did you mean status\?\))?\nhint: see 'mk --help'\n$/);
    const missing = mkRun(repo.dir, ['add']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^mk: missing required argument 'path'\nhint: see 'mk add --help'\n$/);
    const e = jsonError(mkRun(repo.dir, ['status', '--json', '--bogus']), 2);
    expect(e).toEqual({ code: 'EUSAGE', message: "unknown option '--bogus'", hint: "see 'mk status --help'" });
  });

  it('--json: an error is one JSON object on stdout with its code, message and hint, and the same exit status', () => {
    const plain = mkRun(repo.dir, ['status', 'nosuch']);
    const line = expectMkError(plain);
    const e = jsonError(mkRun(repo.dir, ['status', 'nosuch', '--json']), plain.status);
    expect(e.code).toBe('ENOTTRACKED');
    expect(`mk: ${e.message}`).toBe(line);
    // A path after -- is a path, not the option.
    const asPath = mkRun(repo.dir, ['status', '--', '--json']);
    expect(asPath.stdout).toBe('');
    expect(asPath.stderr).toMatch(/^mk: --json is not tracked by mk/);
    expect(existsSync(join(repo.dir, '--json'))).toBe(false);
  });
});
