/**
 * One rule, asked from every entry point. A tracked folder is put in each of five states —
 * clean, edited by the user, mk's own half-placed data (a placement killed half-way, noted in
 * the journal), stale (git moved the pointer without the data) and restored in part (`mk pull
 * -- <path inside>`) — and then each entry point meets it: `mk status`, `mk checkout`, the
 * post-checkout, post-merge, post-rewrite, reference-transaction and pre-commit hooks (through
 * the git commands that run them, none of which changes the folder's pointer), and the merge
 * driver (a conflicting folder merge, which places the merged files that do not conflict).
 *
 * The judgement (src/worktree/judge.ts) is the same everywhere, and each entry point acts on it:
 *   state       status       data that follows its pointer?         the user's?
 *   clean       clean        (nothing to do)                        -
 *   edited      modified     no: kept, never overwritten            yes: recorded by a commit
 *   half-placed interrupted  yes: the placement is finished         no
 *   stale       stale        yes: restored, never recorded          no
 *   partial     partial      no: left as restored, never recorded   no
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRecord, put, randomBytesFrom, rng, snapshotTree } from '../../support/files.js';
import { copyRepo, tempDir } from '../../support/repo.js';
import { g, gitRun, mk, mkLines, mkRun, newRepo, type Run } from './support.js';
import { MK_BIN } from '../../support/repo.js';

const IMGS = 'data/imgs';
let root: { dir: string; cleanup: () => void };
let base: string;
let snapA: string;
const tree: Record<string, Record<string, unknown>> = {};
const rand = rng(77);
const digestOf = (dir: string, rev = 'HEAD') => /digest: (\S+)/.exec(g(dir, 'show', `${rev}:${IMGS}.mk.yaml`))![1]!;
const imgs = (dir: string) => asRecord(snapshotTree(join(dir, IMGS)));

function writeImgs(dir: string, which: number[], salt: string): void {
  for (const i of which) put(join(dir, IMGS, `${i < 25 ? 'a' : 'b'}/f${String(i).padStart(2, '0')}.bin`), Buffer.concat([Buffer.from(salt), randomBytesFrom(rand, 3000)]));
}

beforeAll(() => {
  root = tempDir('mk-one-rule-');
  base = newRepo(join(root.dir, 'base'));
  mk(base, 'remote', 'add', 'origin', join(root.dir, 'store'));
  writeImgs(base, [...Array(50).keys()], 'A');
  put(join(base, 'train.py'), 'print(0)\n');
  mk(base, 'add', IMGS);
  g(base, 'add', '-A');
  g(base, 'commit', '-qm', 'C1: imgs A');
  tree.A = imgs(base);
  snapA = join(root.dir, 'A');
  cpSync(join(base, IMGS), snapA, { recursive: true });
  g(base, 'branch', 'clash');
  writeImgs(base, [0, 1, 2, 3, 30, 31], 'B');
  rmSync(join(base, IMGS, 'b/f48.bin'));
  mk(base, 'add', IMGS);
  g(base, 'commit', '-qm', 'C2: imgs B');
  tree.B = imgs(base);
  // clash: imgs changed on another line (f00 differently: a conflict; f40 too: merged in).
  g(base, 'switch', '-q', 'clash');
  writeImgs(base, [0, 40], 'X');
  mk(base, 'add', IMGS);
  g(base, 'commit', '-qm', 'X: imgs changed on clash');
  // side: code only, on top of C2. work: the branch every trial starts on (a code commit on C2).
  g(base, 'switch', '-q', '-c', 'side', 'main');
  put(join(base, 'side.py'), 'print(1)\n');
  g(base, 'add', '-A');
  g(base, 'commit', '-qm', 'S: code');
  g(base, 'switch', '-q', '-c', 'work', 'main');
  put(join(base, 'work.py'), 'print(2)\n');
  g(base, 'add', '-A');
  g(base, 'commit', '-qm', 'W: code');
  expect(imgs(base)).toEqual(tree.B);
  mk(base, 'push');
}, 300_000);

afterAll(() => root?.cleanup());

type State = 'clean' | 'edited' | 'half-placed' | 'stale' | 'partial';

/** Puts the folder of a fresh copy in `state`; returns what the folder holds then. */
function build(state: State, dir: string): void {
  if (state === 'edited') {
    writeFileSync(join(dir, IMGS, 'a/f05.bin'), 'the user edited this\n');
    writeFileSync(join(dir, IMGS, 'a/mine.txt'), 'and added this\n');
  } else if (state === 'half-placed') {
    // What a placement of B over A killed half-way leaves: some files of B, the rest still A's, and the journal.
    for (const f of ['a/f00.bin', 'a/f01.bin', 'b/f30.bin']) cpSync(join(snapA, f), join(dir, IMGS, f));
    cpSync(join(snapA, 'b/f48.bin'), join(dir, IMGS, 'b/f48.bin'));
    const from = digestOf(dir, 'main~1');
    writeFileSync(join(dir, '.git/mk/placing.json'), JSON.stringify({ [IMGS]: { from: [from], to: digestOf(dir), type: 'dir' } }));
  } else if (state === 'stale') {
    // mk placed A (checkout of C1's folder), then git put B's pointer back without a hook.
    mk(dir, 'checkout', '--force', 'main~1', '--', IMGS);
    g(dir, '-c', 'core.hooksPath=/dev/null', 'checkout', 'HEAD', '--', `${IMGS}.mk.yaml`);
    expect(imgs(dir)).toEqual(tree.A);
  } else if (state === 'partial') {
    // The data goes (the folder's marker, Git's file, stays), then one part comes back.
    for (const sub of ['a', 'b']) rmSync(join(dir, IMGS, sub), { recursive: true });
    mk(dir, 'pull', '--', `${IMGS}/a`);
  }
}

const STATUS: Record<State, string> = { clean: 'clean', edited: 'modified', 'half-placed': 'interrupted', stale: 'stale', partial: 'partial' };

function statusOf(dir: string): string {
  const r = mkRun(dir, ['status', '--json']);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout).artifacts.find((a: { path: string }) => a.path === IMGS).workspace;
}

/** What the folder holds after an entry point: B (the pointer's data), the user's edits, or the part restored. */
function expectFollows(state: State, dir: string, what: string): void {
  if (state === 'edited') {
    expect(readFileSync(join(dir, IMGS, 'a/f05.bin'), 'utf8'), `${what}: the user's edit`).toBe('the user edited this\n');
    expect(readFileSync(join(dir, IMGS, 'a/mine.txt'), 'utf8'), `${what}: the user's file`).toBe('and added this\n');
    expect(statusOf(dir), what).toBe('modified');
  } else if (state === 'partial') {
    expect(
      Object.keys(imgs(dir)).every((p) => p.startsWith('a/')),
      `${what}: only the part restored`,
    ).toBe(true);
    expect(statusOf(dir), what).toBe('partial');
  } else {
    expect(imgs(dir), `${what}: the pointer's data`).toEqual(tree.B);
    expect(statusOf(dir), what).toBe('clean');
  }
}

/** Runs git with mk's hooks forced to start mk (no shim fast path): the hook really judges. */
function gitHooked(dir: string, args: string[]): Run {
  return gitRun(dir, args, { MK_BIN: `${process.execPath} ${MK_BIN}` });
}

const STATES: State[] = ['clean', 'edited', 'half-placed', 'stale', 'partial'];

describe('one rule: every entry point judges a folder the same way', () => {
  for (const state of STATES) {
    describe(state, () => {
      const trial = (name: string, body: (dir: string) => void) =>
        it(name, { timeout: 120_000 }, () => {
          const w = copyRepo(base);
          try {
            gitRun(w.dir, ['update-index', '-q', '--refresh']); // a copy's files have new stat data
            build(state, w.dir);
            expect(statusOf(w.dir), `mk status of a ${state} folder`).toBe(STATUS[state]);
            body(w.dir);
          } finally {
            w.cleanup();
          }
        });

      trial('mk checkout', (dir) => {
        const r = mkRun(dir, ['checkout']);
        if (state === 'edited') expect(r.stderr).toMatch(/^mk: unsaved changes would be overwritten: data\/imgs\/a\/f05\.bin, data\/imgs\/a\/mine\.txt$/m);
        else expect(r.status, r.stderr).toBe(0);
        expectFollows(state, dir, 'mk checkout');
      });

      trial('post-checkout (git switch -c)', (dir) => {
        const r = gitHooked(dir, ['switch', '-q', '-c', 'other']);
        expect(r.status, r.stderr).toBe(0);
        if (state === 'edited') expect(mkLines(r).join('\n')).toMatch(/kept your unsaved changes to data\/imgs/);
        expectFollows(state, dir, 'post-checkout');
      });

      trial('post-merge (git merge of a code-only branch)', (dir) => {
        const r = gitHooked(dir, ['merge', '-q', '--no-edit', 'side']);
        expect(r.status, r.stderr).toBe(0);
        expectFollows(state, dir, 'post-merge');
      });

      trial('post-rewrite (git rebase onto a code-only branch)', (dir) => {
        const r = gitHooked(dir, ['rebase', '-q', 'side']);
        expect(r.status, r.stderr).toBe(0);
        expectFollows(state, dir, 'post-rewrite');
      });

      trial('reference-transaction (git reset --keep to a commit with the same pointer)', (dir) => {
        const r = gitHooked(dir, ['reset', '-q', '--keep', 'HEAD~1']);
        expect(r.status, r.stderr).toBe(0);
        expectFollows(state, dir, 'reference-transaction');
      });

      trial('pre-commit (git commit)', (dir) => {
        const before = digestOf(dir);
        const r = gitHooked(dir, ['commit', '-q', '--allow-empty', '-m', 'next']);
        expect(r.status, r.stderr).toBe(0);
        // The user's data is recorded; nothing else ever is.
        if (state === 'edited') expect(digestOf(dir)).not.toBe(before);
        else expect(digestOf(dir)).toBe(before);
        if (state !== 'edited') expectFollows(state, dir, 'pre-commit');
        else expect(statusOf(dir)).toBe('clean');
      });

      trial('merge driver (a folder merge with a conflict places the files that merge)', (dir) => {
        const r = gitHooked(dir, ['merge', '--no-edit', 'clash']);
        expect(r.status).not.toBe(0); // f00 changed on both sides
        expect(mkLines(r).join('\n')).toMatch(/data\/imgs\/a\/f00\.bin: ours modified it, theirs modified it/);
        const f40 = readFileSync(join(dir, IMGS, 'b/f40.bin'), 'latin1').slice(0, 1);
        if (state === 'edited') {
          // The user's data: nothing placed over it.
          expect(mkLines(r).join('\n')).toMatch(/holds unsaved changes: the merged files were not placed/);
          expect(f40).toBe('A');
          expect(readFileSync(join(dir, IMGS, 'a/f05.bin'), 'utf8')).toBe('the user edited this\n');
        } else if (state === 'partial') {
          // Not the user's: mk places the merge (the files it needs are cached here).
          expect(f40).toBe('X');
        } else {
          // mk's data (clean, stale, or half-placed): the change from clash is placed, the conflicting file holds ours.
          expect(f40).toBe('X');
          expect(readFileSync(join(dir, IMGS, 'a/f00.bin'), 'latin1').slice(0, 1)).toBe('B');
        }
      });
    });
  }
});
