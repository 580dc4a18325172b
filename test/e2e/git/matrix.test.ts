/**
 * Issue 12: every Git command that moves pointers, one test per row, over a repository with a
 * tracked model file and a tracked dataset folder, twice: the model through mk's Git filter (the
 * default) and beside its pointer (`mk init --no-filter`, the way before the filter). After each command the work-tree data
 * matches the pointers (the library's status says clean for every artifact), except data the
 * user changed and did not record, which is kept byte for byte and reported; and the next
 * `git commit` records only what the user changed (the pointer digests of the new commit).
 *
 * History of the template repository (every row works on a copy of it, on main at C3):
 *   main:  C1 (model M1, data/imgs I1) - C2 (imgs I2) - C3 (model M2)
 *   side:  C1 - S1 (adds the folder data/extra E1)
 *   clash: C1 - X1 (model M3)
 *   ahead: C3 - A1 (imgs I3)
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ls, status } from '../../../src/index.js';
import { tempDir } from '../../support/repo.js';
import { hasData } from '../../support/files.js';
import { env, fileSha, g, gitRun, identify, mk, mkLines, mkRun, newRepo } from './support.js';

/** The whole matrix, for a model file through the Git filter (the default) or beside its pointer (`mk init --no-filter`). */
function matrix(filter: boolean): void {
  const mode = filter ? 'model through the Git filter' : 'model beside its pointer';
  describe(mode, () => {
    let root: string;
    let cleanup: () => void;
    let T: string;
    let bare: string;
    let store: string;
    const rev: Record<string, string> = {};
    const D: Record<string, string> = {};
    let rows = 0;

    const IMGS = 'data/imgs';
    const MODEL = 'models/model.bin';
    const EXTRA = 'data/extra';

    /** Version `v` of the dataset: 24 small files; each later version changes three and adds one. */
    function writeImgs(dir: string, v: number): void {
      const d = join(dir, IMGS);
      mkdirSync(join(d, 'sub'), { recursive: true });
      for (let i = 0; i < 24 + v - 1; i++) {
        const changed = i < 3 * (v - 1);
        writeFileSync(join(d, i % 4 === 0 ? 'sub' : '', `f${String(i).padStart(2, '0')}.png`), `img ${i} ${changed ? `v${v}` : 'v1'}\n`.repeat(50));
      }
    }

    function writeModel(dir: string, v: string): void {
      mkdirSync(join(dir, 'models'), { recursive: true });
      writeFileSync(join(dir, MODEL), `weights ${v}\n`.repeat(2000));
    }

    let codeN = 0;
    /** A code change (each commit of the template changes its own file, so rows can reorder commits without conflicts). */
    function code(dir: string, file = 'code.py'): void {
      writeFileSync(join(dir, file), `step = ${++codeN}\n`);
    }

    /** Pointer digests by data path, at a revision or (default) in the work tree. */
    async function digests(dir: string, at?: string): Promise<Record<string, string>> {
      const r = await ls({ cwd: dir, rev: at });
      return Object.fromEntries(r.artifacts.map((a) => [a.path, a.digest]));
    }

    /** A copy of the template (work tree, .git, mk state), its stamps taken again (a copy has new inodes). */
    function row(): string {
      const dir = join(root, `row${++rows}`);
      cpSync(T, dir, { recursive: true, verbatimSymlinks: true });
      g(dir, 'update-index', '-q', '--refresh'); // the copy's files have new stat data
      mk(dir, 'status');
      return dir;
    }

    /**
     * The data matches the pointers: status says clean for every artifact, except those in
     * `kept` (the user's changes, reported as modified, whose file `kept[path]` still has the sha256 given).
     */
    async function expectInLine(dir: string, kept: Record<string, { file: string; sha: string }> = {}): Promise<void> {
      const st = await status({ cwd: dir });
      expect(st.length).toBeGreaterThan(0);
      for (const s of st) {
        const k = kept[s.path];
        if (k) {
          expect(s.workspace, `${s.path} (the user's data)`).toBe('modified');
          expect(fileSha(join(dir, k.file)), `${k.file} kept byte for byte`).toBe(k.sha);
        } else expect(s.workspace, `${s.path}: ${s.workspace}, expected clean`).toBe('clean');
      }
    }

    /**
     * The next `git commit -a` (with a code change) records only `recorded` (whose digests change)
     * and keeps every other pointer as the work tree had it; afterwards everything is in line.
     */
    async function expectNextCommit(dir: string, recorded: string[] = []): Promise<Record<string, string>> {
      const before = await digests(dir);
      code(dir);
      const c = gitRun(dir, ['commit', '-q', '-a', '-m', 'next']);
      expect(c.status, c.stderr).toBe(0);
      expect(mkLines(c).filter((l) => l.includes('held the data of another version'))).toEqual([]);
      const after = await digests(dir, 'HEAD');
      expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
      for (const [p, d] of Object.entries(after)) {
        if (recorded.includes(p)) expect(d, `${p} recorded`).not.toBe(before[p]);
        else expect(d, `${p} not recorded again`).toBe(before[p]);
      }
      await expectInLine(dir);
      return after;
    }

    /** The user edits one file of the dataset; returns what it holds now. */
    function editImgs(dir: string): { file: string; sha: string } {
      const file = `${IMGS}/f01.png`;
      writeFileSync(join(dir, file), `the user's edit ${Math.random()}\n`);
      return { file, sha: fileSha(join(dir, file)) };
    }

    beforeAll(async () => {
      process.env.GIT_CONFIG_GLOBAL = '/dev/null'; // the in-process library calls, as the CLI runs see it
      process.env.GIT_CONFIG_NOSYSTEM = '1';
      ({ dir: root, cleanup } = tempDir('mk-git-matrix-'));
      store = join(root, 'store');
      T = newRepo(join(root, 'tpl'), { filter });
      mk(T, 'remote', 'add', 'origin', store);
      writeModel(T, 'M1');
      writeImgs(T, 1);
      code(T);
      mk(T, 'add', MODEL, IMGS);
      g(T, 'add', '-A');
      g(T, 'commit', '-q', '-m', 'C1');
      g(T, 'branch', 'side');
      g(T, 'branch', 'clash');
      writeImgs(T, 2);
      code(T, 'c2.py');
      g(T, 'add', '-A');
      g(T, 'commit', '-q', '-m', 'C2: imgs I2');
      writeModel(T, 'M2');
      code(T, 'c3.py');
      g(T, 'add', '-A');
      g(T, 'commit', '-q', '-m', 'C3: model M2');
      g(T, 'switch', '-q', 'side');
      mkdirSync(join(T, EXTRA), { recursive: true });
      for (let i = 0; i < 5; i++) writeFileSync(join(T, EXTRA, `e${i}.txt`), `extra ${i}\n`);
      mk(T, 'add', EXTRA);
      writeFileSync(join(T, 'side.py'), 'side = 1\n');
      g(T, 'add', '-A');
      g(T, 'commit', '-q', '-m', 'S1: extra');
      g(T, 'switch', '-q', 'clash');
      writeModel(T, 'M3');
      code(T, 'x1.py');
      g(T, 'add', '-A');
      g(T, 'commit', '-q', '-m', 'X1: model M3');
      g(T, 'switch', '-q', 'main');
      g(T, 'switch', '-q', '-c', 'ahead');
      writeImgs(T, 3);
      code(T, 'a1.py');
      g(T, 'add', '-A');
      g(T, 'commit', '-q', '-m', 'A1: imgs I3');
      g(T, 'switch', '-q', 'main');
      for (const [k, r] of Object.entries({ C1: 'main~2', C2: 'main~1', C3: 'main', S1: 'side', X1: 'clash', A1: 'ahead' })) rev[k] = g(T, 'rev-parse', r).trim();
      D.I1 = (await digests(T, rev.C1))[IMGS]!;
      D.I2 = (await digests(T, rev.C2))[IMGS]!;
      D.I3 = (await digests(T, rev.A1))[IMGS]!;
      D.M1 = (await digests(T, rev.C1))[MODEL]!;
      D.M2 = (await digests(T, rev.C3))[MODEL]!;
      D.M3 = (await digests(T, rev.X1))[MODEL]!;
      D.E1 = (await digests(T, rev.S1))[EXTRA]!;
      expect(new Set(Object.values(D)).size).toBe(7);
      mk(T, 'push', '--no-modelkit', 'main', 'side', 'clash', 'ahead');
      bare = join(root, 'remote.git');
      g(root, 'clone', '-q', '--bare', T, bare);
      await expectInLine(T);
    });
    afterAll(() => cleanup?.());

    describe(`every git command leaves the data matching the pointers (${mode})`, () => {
      it('commit -a, data only: stops once (git counts it empty), the same command records the data', async () => {
        const R = row();
        editImgs(R);
        expect(gitRun(R, ['commit', '-q', '-a', '-m', 'data']).status).toBe(1);
        const c = gitRun(R, ['commit', '-q', '-a', '-m', 'data']);
        expect(c.status, c.stderr).toBe(0);
        expect((await digests(R, 'HEAD'))[IMGS]).not.toBe(D.I2);
        expect((await digests(R, 'HEAD'))[MODEL]).toBe(D.M2);
        await expectInLine(R);
      });

      it('commit -a, data and code: one commit records the data', async () => {
        const R = row();
        editImgs(R);
        await expectNextCommit(R, [IMGS]);
      });

      it('commit <paths>: only the named artifact is recorded; the other keeps its changed data, reported', async () => {
        const R = row();
        editImgs(R);
        writeModel(R, 'user');
        const model = { file: MODEL, sha: fileSha(join(R, MODEL)) };
        code(R);
        const c = gitRun(R, ['commit', '-q', '-m', 'by path', '--', 'code.py', `${IMGS}.mk.yaml`]);
        expect(c.status, c.stderr).toBe(0);
        // A filtered model is Git's own: git leaves it out by itself (and git status shows it modified).
        if (!filter) expect(mkLines(c).some((l) => l.startsWith(`mk: ${MODEL} has changed data, left out of this commit`))).toBe(true);
        const head = await digests(R, 'HEAD');
        expect(head[IMGS]).not.toBe(D.I2);
        expect(head[MODEL]).toBe(D.M2);
        await expectInLine(R, { [MODEL]: model });
      });

      it('commit --amend: changed data goes into the amended commit', async () => {
        const R = row();
        editImgs(R);
        const c = gitRun(R, ['commit', '-q', '--amend', '--no-edit', '-a']);
        expect(c.status, c.stderr).toBe(0);
        expect(g(R, 'rev-parse', 'HEAD~1').trim()).toBe(rev.C2);
        expect((await digests(R, 'HEAD'))[IMGS]).not.toBe(D.I2);
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('mk add, then git add -A and git commit: the staged pointer is committed as it is', async () => {
        const R = row();
        editImgs(R);
        mk(R, 'add', IMGS);
        const staged = (await digests(R))[IMGS];
        g(R, 'add', '-A');
        g(R, 'commit', '-q', '-m', 'add');
        expect((await digests(R, 'HEAD'))[IMGS]).toBe(staged);
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('mk mv of the folder: data renamed (no copy), pointer, folder marker and Kitfile entry follow, staged', async () => {
        const R = row();
        const ino = execFileSync('stat', ['-c', '%i', join(R, IMGS, 'f01.png')], { encoding: 'utf8' });
        const r = mkRun(R, ['mv', IMGS, 'data/pics']);
        expect(r.status, r.stderr).toBe(0);
        expect(existsSync(join(R, IMGS))).toBe(false);
        expect(execFileSync('stat', ['-c', '%i', join(R, 'data/pics/f01.png')], { encoding: 'utf8' })).toBe(ino);
        expect(g(R, 'status', '--porcelain').split('\n').filter(Boolean).sort()).toEqual(['M  Kitfile', `R  ${IMGS}.mk.yaml -> data/pics.mk.yaml`, `R  ${IMGS}/.gitignore -> data/pics/.gitignore`]);
        expect(readFileSync(join(R, 'Kitfile'), 'utf8')).toContain('path: data/pics');
        expect(readFileSync(join(R, 'Kitfile'), 'utf8')).not.toContain(IMGS);
        // The stamp moved with the folder: it is clean without hashing it again.
        expect(JSON.parse(readFileSync(join(R, '.git/mk/stamps.json'), 'utf8'))['data/pics']?.[0]).toBe(D.I2);
        g(R, 'commit', '-q', '-m', 'mv');
        expect((await digests(R, 'HEAD'))['data/pics']).toBe(D.I2);
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('mk mv of the model file', async () => {
        const R = row();
        const r = mkRun(R, ['mv', MODEL, 'models/final.bin']);
        expect(r.status, r.stderr).toBe(0);
        g(R, 'commit', '-q', '--no-verify', '-m', 'mv'); // mk mv staged everything itself: no hook needed
        expect((await digests(R, 'HEAD'))['models/final.bin']).toBe(D.M2);
        expect((await digests(R, 'HEAD'))[MODEL]).toBeUndefined();
        // Beside its pointer the data is git-ignored; through the filter Git tracks the file itself.
        expect(gitRun(R, ['check-ignore', '-q', 'models/final.bin']).status).toBe(filter ? 1 : 0);
        // Git stores the pointer at the new path, never the bytes (the exact-path .gitattributes line moved with the file).
        if (filter) expect(Number(g(R, 'cat-file', '-s', 'HEAD:models/final.bin').trim())).toBeLessThan(1024);
        if (filter) expect(readFileSync(join(R, '.gitattributes'), 'utf8')).toMatch(/^\/models\/final\.bin filter=mk/m);
        // The Kitfile entry moved with it, in the mv itself (a commit whose hook takes the fast path must not leave it behind).
        expect(g(R, 'show', 'HEAD:Kitfile')).toContain('path: models/final.bin');
        expect(g(R, 'show', 'HEAD:Kitfile')).not.toContain(`path: ${MODEL}`);
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('mk mv of a path git tracks (not a pointer-tracked artifact): git mv', async () => {
        const R = row();
        const r = mkRun(R, ['mv', 'code.py', 'main.py']);
        expect(r.status, r.stderr).toBe(0);
        expect(g(R, 'status', '--porcelain')).toBe('R  code.py -> main.py\n');
      });

      it('mk rm: the pointer goes, the data stays; the commit no longer tracks it', async () => {
        const R = row();
        mk(R, 'rm', IMGS);
        g(R, 'commit', '-q', '-m', 'rm');
        expect(Object.keys(await digests(R, 'HEAD'))).toEqual([MODEL]);
        expect(existsSync(join(R, IMGS, 'f01.png'))).toBe(true);
        await expectInLine(R);
        await expectNextCommit(R);
      });

      for (const mode of ['--hard', '--merge', '--keep']) {
        it(`reset ${mode} HEAD~2: the data goes back with the pointers; the next commit records nothing`, async () => {
          const R = row();
          const r = gitRun(R, ['reset', '-q', mode, 'HEAD~2']);
          expect(r.status, r.stderr).toBe(0);
          expect(await digests(R)).toEqual({ [IMGS]: D.I1, [MODEL]: D.M1 });
          await expectInLine(R);
          await expectNextCommit(R);
        });
      }

      it('reset --hard discards the changes the user made to tracked data, as git does for files, and says so', async () => {
        const R = row();
        editImgs(R);
        const r = gitRun(R, ['reset', '-q', '--hard', 'HEAD~2']);
        expect(r.status, r.stderr).toBe(0);
        expect(mkLines(r)).toContain(`mk: discarded your unsaved changes to ${IMGS}, as git does for files`);
        expect(await digests(R)).toEqual({ [IMGS]: D.I1, [MODEL]: D.M1 });
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('reset (keeping the work tree) keeps the changes the user made to tracked data, says so in one line, and exits 0', async () => {
        const R = row();
        const kept = editImgs(R);
        const r = gitRun(R, ['reset', '-q', '--keep', 'HEAD~1']);
        expect(r.status, r.stderr).toBe(0);
        // Said whenever mk runs: here the model beside its pointer moved (a reset that moves no pointer does not start mk).
        if (!filter)
          expect(mkLines(r).filter((l) => l.includes('unsaved'))).toEqual([
            `mk: kept your unsaved changes to ${IMGS} (record them with 'mk add' or a commit; 'mk checkout --force -- <path>' drops them)`,
          ]);
        expect(fileSha(join(R, kept.file))).toBe(kept.sha);
      });

      it('reset --hard with no hook running (the issue): status says stale, the next commit restores the data instead of recording it', async () => {
        const R = row();
        g(R, '-c', 'core.hooksPath=/dev/null', 'reset', '-q', '--hard', 'HEAD~2');
        // A filtered model needs no hook: Git's own checkout smudged it.
        expect((await status({ cwd: R })).map((x) => [x.path, x.workspace]).sort()).toEqual([
          [IMGS, 'stale'],
          [MODEL, filter ? 'clean' : 'stale'],
        ]);
        expect(mk(R, 'status')).toMatch(/stale \(pointer changed by git; run mk checkout\)\s+data\/imgs/);
        code(R);
        const c = gitRun(R, ['commit', '-q', '-a', '-m', 'docs']);
        expect(c.status, c.stderr).toBe(0);
        expect(mkLines(c)).toContain(`mk: ${IMGS} held the data of another version than its pointer (git changed the pointer): restored the pointer's data, nothing recorded`);
        expect(await digests(R, 'HEAD')).toEqual({ [IMGS]: D.I1, [MODEL]: D.M1 });
        await expectInLine(R);
      });

      it("reset --hard with no hook running, then a user edit: the edit is the user's, recorded by the next commit", async () => {
        const R = row();
        g(R, '-c', 'core.hooksPath=/dev/null', 'reset', '-q', '--hard', 'HEAD~2');
        const kept = editImgs(R);
        expect((await status({ cwd: R })).map((x) => [x.path, x.workspace]).sort()).toEqual([
          [IMGS, 'modified'],
          [MODEL, filter ? 'clean' : 'stale'],
        ]);
        code(R);
        const c = gitRun(R, ['commit', '-q', '-a', '-m', 'edit']);
        expect(c.status, c.stderr).toBe(0);
        const head = await digests(R, 'HEAD');
        expect(head[MODEL]).toBe(D.M1); // stale: restored, not recorded
        expect([D.I1, D.I2]).not.toContain(head[IMGS]); // the user's edit on top of I2's files
        expect(fileSha(join(R, kept.file))).toBe(kept.sha);
        await expectInLine(R);
      });

      for (const mode of ['--soft', '--mixed']) {
        it(`reset ${mode} HEAD~2: the work-tree pointers stay, so does the data; the next commit records them again`, async () => {
          const R = row();
          g(R, 'reset', '-q', mode, 'HEAD~2');
          // Through the filter the model's pointer lives in the index: --mixed puts C1's there, and
          // the work tree's M2 bytes are a change git status shows (the next commit -a records it).
          const inIndex = filter && mode === '--mixed';
          expect(await digests(R)).toEqual({ [IMGS]: D.I2, [MODEL]: inIndex ? D.M1 : D.M2 });
          await expectInLine(R, inIndex ? { [MODEL]: { file: MODEL, sha: fileSha(join(R, MODEL)) } } : {});
          const after = await expectNextCommit(R, inIndex ? [MODEL] : []);
          expect(after).toEqual({ [IMGS]: D.I2, [MODEL]: D.M2 });
        });
      }

      it('checkout <rev> -- <pointer>: the data follows the checked-out pointer', async () => {
        const R = row();
        g(R, 'checkout', rev.C1!, '--', `${IMGS}.mk.yaml`);
        expect((await digests(R))[IMGS]).toBe(D.I1);
        await expectInLine(R);
        await expectNextCommit(R);
        expect((await digests(R, 'HEAD'))[IMGS]).toBe(D.I1);
      });

      it('restore --source=<rev> <pointer>: the data follows', async () => {
        const R = row();
        g(R, 'restore', `--source=${rev.C1}`, `${IMGS}.mk.yaml`);
        expect((await digests(R))[IMGS]).toBe(D.I1);
        await expectInLine(R);
        await expectNextCommit(R);
        expect((await digests(R, 'HEAD'))[IMGS]).toBe(D.I1);
      });

      it('switch: to a branch with another folder and back', async () => {
        const R = row();
        g(R, 'switch', '-q', 'side');
        expect(await digests(R)).toEqual({ [IMGS]: D.I1, [MODEL]: D.M1, [EXTRA]: D.E1 });
        await expectInLine(R);
        g(R, 'switch', '-q', 'main');
        expect(existsSync(join(R, EXTRA))).toBe(false);
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('merge, fast-forward', async () => {
        const R = row();
        g(R, 'merge', '-q', '--ff-only', 'ahead');
        expect((await digests(R))[IMGS]).toBe(D.I3);
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('merge, three-way, each side changed other artifacts', async () => {
        const R = row();
        g(R, 'merge', '-q', '--no-edit', 'side');
        expect(await digests(R)).toEqual({ [IMGS]: D.I2, [MODEL]: D.M2, [EXTRA]: D.E1 });
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('merge with a conflict on the model file: resolved with checkout --theirs, mk checkout, commit', async () => {
        const R = row();
        const m = gitRun(R, ['merge', '--no-edit', 'clash']);
        expect(m.status).not.toBe(0);
        expect(mkLines(m).some((l) => l.includes('both branches changed the tracked artifact models/model.bin'))).toBe(true);
        if (filter) {
          // Git's own sides: checkout --theirs smudges their model, git add cleans it again.
          g(R, 'checkout', '--theirs', '--', MODEL);
          g(R, 'add', MODEL);
          g(R, 'commit', '-q', '--no-edit');
        } else {
          g(R, 'checkout', '--theirs', '--', `${MODEL}.mk.yaml`);
          g(R, 'add', `${MODEL}.mk.yaml`);
          const early = gitRun(R, ['commit', '--no-edit']);
          expect(early.status).not.toBe(0); // the work tree still holds our model: recording it would undo the resolution
          mk(R, 'checkout');
          g(R, 'commit', '-q', '--no-edit');
        }
        expect((await digests(R, 'HEAD'))[MODEL]).toBe(D.M3);
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('rebase: side onto main', async () => {
        const R = row();
        g(R, 'switch', '-q', 'side');
        g(R, 'rebase', '-q', 'main');
        expect(await digests(R)).toEqual({ [IMGS]: D.I2, [MODEL]: D.M2, [EXTRA]: D.E1 });
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('rebase -i (GIT_SEQUENCE_EDITOR) dropping the commit that changed the folder', async () => {
        const R = row();
        const r = gitRun(R, ['rebase', '-q', '-i', 'HEAD~2'], { GIT_SEQUENCE_EDITOR: "sed -i '1s/^pick/drop/'" });
        expect(r.status, r.stderr).toBe(0);
        expect(await digests(R)).toEqual({ [IMGS]: D.I1, [MODEL]: D.M2 });
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('cherry-pick: the picked data arrives; the next commit does not undo the pick', async () => {
        const R = row();
        g(R, 'switch', '-q', 'side');
        g(R, 'cherry-pick', rev.C2!);
        expect((await digests(R))[IMGS]).toBe(D.I2);
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('revert: the reverted data comes back', async () => {
        const R = row();
        g(R, 'revert', '--no-edit', rev.C2!);
        expect((await digests(R))[IMGS]).toBe(D.I1);
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('stash push / pop with data saved by mk add', async () => {
        const R = row();
        editImgs(R);
        mk(R, 'add', IMGS);
        const saved = (await digests(R))[IMGS]!;
        code(R);
        g(R, 'stash', '-q');
        expect((await digests(R))[IMGS]).toBe(D.I2);
        await expectInLine(R);
        g(R, 'stash', 'pop', '-q');
        expect((await digests(R))[IMGS]).toBe(saved);
        await expectInLine(R);
        const after = await expectNextCommit(R);
        expect(after[IMGS]).toBe(saved);
      });

      it('pull --rebase: a local commit replayed on the remote branch', async () => {
        const R = row();
        g(R, 'remote', 'add', 'up', bare);
        code(R);
        g(R, 'commit', '-q', '-a', '-m', 'local');
        g(R, 'pull', '-q', '--rebase', 'up', 'ahead');
        expect((await digests(R))[IMGS]).toBe(D.I3);
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('am: a patch that changes the folder pointer', async () => {
        const R = row();
        const patch = g(R, 'format-patch', '-1', '--stdout', rev.C2!);
        g(R, 'switch', '-q', 'side');
        const r = spawnGit(R, ['am', '-q'], patch);
        expect(r.status, r.stderr).toBe(0);
        expect((await digests(R))[IMGS]).toBe(D.I2);
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('worktree add: the new worktree gets its data', async () => {
        const R = row();
        const W = join(root, `wt${rows}`);
        g(R, 'worktree', 'add', '-q', W, 'side');
        expect(await digests(W)).toEqual({ [IMGS]: D.I1, [MODEL]: D.M1, [EXTRA]: D.E1 });
        await expectInLine(W);
        await expectInLine(R);
        await expectNextCommit(W);
      });

      it('clean -fdx: the data is gone (reported as deleted, never recorded); mk checkout brings it back', async () => {
        const R = row();
        g(R, 'clean', '-q', '-fdx');
        // git clean deletes ignored files: the folder, and the model too when it lives beside its pointer.
        expect(Object.fromEntries((await status({ cwd: R })).map((s) => [s.path, s.workspace]))).toEqual({ [IMGS]: 'deleted', [MODEL]: filter ? 'clean' : 'deleted' });
        mk(R, 'checkout');
        await expectInLine(R);
        await expectNextCommit(R);
      });

      it('mk clone (git clone, mk install, mk pull)', async () => {
        const dir = join(root, `clone${++rows}`);
        const r = mkRun(root, ['clone', bare, dir]);
        expect(r.status, r.stderr).toBe(0);
        identify(dir);
        expect(await digests(dir)).toEqual({ [IMGS]: D.I2, [MODEL]: D.M2 });
        await expectInLine(dir);
        await expectNextCommit(dir);
      });

      it('git clone without mk: pointers only; mk install and mk pull bring the data', async () => {
        const dir = join(root, `clone${++rows}`);
        g(root, 'clone', '-q', bare, dir);
        identify(dir);
        expect(hasData(join(dir, IMGS))).toBe(false); // the folder's marker only (Git's file)
        mk(dir, 'install');
        mk(dir, 'pull');
        await expectInLine(dir);
        await expectNextCommit(dir);
      });

      it('git clone --depth 1, then mk install and mk pull', async () => {
        const dir = join(root, `clone${++rows}`);
        g(root, 'clone', '-q', '--depth', '1', `file://${bare}`, dir);
        identify(dir);
        mk(dir, 'install');
        mk(dir, 'pull');
        await expectInLine(dir);
        await expectNextCommit(dir);
      });

      it('git clone with sparse-checkout of the models folder (and .mk): only that artifact', async () => {
        const dir = join(root, `clone${++rows}`);
        g(root, 'clone', '-q', '--sparse', bare, dir);
        identify(dir);
        g(dir, 'sparse-checkout', 'set', 'models', '.mk'); // mk's settings must be in the cone
        mk(dir, 'install');
        mk(dir, 'pull');
        expect(existsSync(join(dir, IMGS))).toBe(false);
        expect((await status({ cwd: dir })).map((s) => s.path)).toEqual([MODEL]);
        await expectInLine(dir);
      });
    });
  });
}

matrix(true);
matrix(false);

function spawnGit(cwd: string, args: string[], input: string): { status: number; stderr: string } {
  try {
    execFileSync('git', args, { cwd, input, encoding: 'utf8', env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
    return { status: 0, stderr: '' };
  } catch (e) {
    const x = e as { status?: number; stderr?: string };
    return { status: x.status ?? -1, stderr: x.stderr ?? '' };
  }
}
