/**
 * File names come from anyone (a dataset downloaded from the internet, a teammate's commit):
 * what mk prints about them can never drive the user's terminal (escape sequences, 8-bit C1
 * controls) or forge lines (an error is one line, whatever the name). And a reader that goes
 * away early (`mk diff | head -1`) ends nothing in a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put } from '../../support/files.js';
import { buildProgram } from '../../../src/cli/main.js';
import { expectMkError, git, gitEnv, makeRepo, mk, MK_BIN, mkRun, tempDir } from '../../support/repo.js';

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('hostile file names in output', () => {
  let repo: { dir: string; cleanup: () => void };
  const esc = '\u001b]0;pwned\u0007\u001b[2J';
  const c1 = '\u009b31m';
  beforeAll(() => {
    repo = makeRepo();
    put(join(repo.dir, 'ds', 'plain.txt'), 'a');
    put(join(repo.dir, 'ds', `${esc}title.txt`), 'b');
    mk(repo.dir, 'add', 'ds');
    git(repo.dir, 'commit', '-qm', 'ds');
    put(join(repo.dir, 'ds', `${c1}red.txt`), 'c');
    put(join(repo.dir, 'ds', `${esc}title.txt`), 'b2');
  });
  afterAll(() => repo.cleanup());

  it('status, diff and ls print escapes, never the raw control characters', () => {
    for (const args of [['status', '-v'], ['diff'], ['ls'], ['status', '-v', '--json'], ['diff', '--json']]) {
      const r = mkRun(repo.dir, args);
      expect(r.status, r.stderr).toBe(0);
      expect(RAW_CONTROL.test(r.stdout), `${args.join(' ')}: ${JSON.stringify(r.stdout)}`).toBe(false);
    }
    expect(mkRun(repo.dir, ['diff']).stdout).toContain('\\x1b]0;pwned\\x07\\x1b[2Jtitle.txt');
    expect(JSON.parse(mkRun(repo.dir, ['diff', '--json']).stdout).artifacts[0].files.map((f: { path: string }) => f.path)).toContain(`ds/${c1}red.txt`);
  });

  it('an error about such a name is still one line, escaped', () => {
    const r = mkRun(repo.dir, ['rm', `not-tracked-${esc}\nmk: forged line`]);
    const line = expectMkError(r, 'is not tracked by mk');
    expect(RAW_CONTROL.test(r.stderr)).toBe(false);
    expect(line).toContain('\\nmk: forged line');
  });
});

describe('a reader that goes away', () => {
  it('mk diff | head -1: no EPIPE stack trace, mk finishes with its own status', () => {
    const repo = makeRepo();
    try {
      for (let i = 0; i < 3000; i++) put(join(repo.dir, 'ds', `f${i}.txt`), `v1 ${i}`);
      mk(repo.dir, 'add', 'ds');
      git(repo.dir, 'commit', '-qm', 'ds');
      for (let i = 0; i < 3000; i++) put(join(repo.dir, 'ds', `f${i}.txt`), `v2 ${i}`);
      const r = spawnSync('bash', ['-c', `${JSON.stringify(process.execPath)} ${JSON.stringify(MK_BIN)} diff | head -1; echo "mk=\${PIPESTATUS[0]}" >&2`], {
        cwd: repo.dir,
        encoding: 'utf8',
        env: gitEnv(),
      });
      expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr.trim()).toBe('mk=0');
    } finally {
      repo.cleanup();
    }
  });
});

describe('--json: one object, always', () => {
  /** Every command (and subcommand) that has --json, by its full name. */
  const withJson = (): string[] => {
    const names: string[] = [];
    const walk = (c: Command, prefix: string) => {
      for (const s of c.commands) {
        const name = `${prefix}${s.name()}`;
        if (s.options.some((o) => o.long === '--json')) names.push(name);
        walk(s, `${name} `);
      }
    };
    walk(buildProgram(), '');
    return names;
  };

  it('mk(1) (docs/commands/mk.md) lists exactly the commands that have --json', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../docs/commands/mk.md', import.meta.url)), 'utf8');
    const para = /have `--json`:\n([\s\S]*?)\.\n/.exec(readme)![1]!;
    const listed = [...para.matchAll(/`([a-z ]+)`/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual(withJson().sort());
  });

  it('each prints an object (lists under a key), never a bare array', () => {
    const repo = makeRepo();
    const store = tempDir('mk-store-');
    try {
      const d = repo.dir;
      put(join(d, 'ds', 'a.txt'), 'a');
      put(join(d, 'm.bin'), 'weights');
      const outputs: Array<[string, string]> = [];
      const json = (...args: string[]) => {
        const r = mkRun(d, [...args, '--json']);
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
        outputs.push([args.join(' '), r.stdout]);
        return JSON.parse(r.stdout);
      };
      expect(json('add', 'ds', 'm.bin').artifacts.map((a: { path: string }) => a.path)).toEqual(['ds', 'm.bin']);
      mk(d, 'remote', 'add', 'origin', join(store.dir, 'layout'));
      git(d, 'commit', '-qm', 'data');
      expect(json('status').artifacts).toHaveLength(2);
      expect(json('ls').artifacts).toHaveLength(2);
      expect(json('remote', 'list').remotes).toEqual([{ name: 'origin', url: join(store.dir, 'layout'), default: true }]);
      json('push');
      json('fetch');
      json('pull');
      expect(json('status', '--remote').artifacts).toHaveLength(2);
      json('checkout');
      json('diff');
      json('verify', 'HEAD');
      json('modelkit', 'build');
      expect(json('modelkit', 'list').modelkits).toHaveLength(1);
      json('modelkit', 'inspect', 'HEAD');
      json('get', 'm.bin', '-o', join(store.dir, 'out.bin'));
      json('gc', '--dry-run');
      json('migrate', '--dry-run');
      json('init');
      json('mv', 'm.bin', 'model.bin');
      expect(json('rm', 'ds').artifacts.map((a: { path: string }) => a.path)).toEqual(['ds']);
      for (const [what, text] of outputs) {
        const v = JSON.parse(text);
        expect(typeof v === 'object' && v !== null && !Array.isArray(v), `${what}: ${text.slice(0, 80)}`).toBe(true);
      }
    } finally {
      repo.cleanup();
      store.cleanup();
    }
  });
});
