/**
 * The verbs called in process, as a library user calls them (functions with `cwd`, results as
 * data, failures as MkError codes): real git in temporary repositories, a local OCI layout as
 * the remote, no bin/mk, no hooks, no registry. The CLI's own behaviour (output, exit codes,
 * hooks, Git's filter) is the e2e tier's.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { add, checkout, diff, gc, get, init, isMkError, ls, modelkitBuild, move, pull, push, remoteAdd, remoteList, remove, status, verify } from '../../../src/index.js';
import { put, randomBytesFrom, rng, sha256File, snapshotTree } from '../../support/files.js';
import { git, tempDir } from '../../support/repo.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isMkError(e) ? e.code : `not an MkError: ${String(e)}`;
  }
}

describe('the verbs, in process', () => {
  const t = tempDir('mk-verbs-');
  const A = join(t.dir, 'alice');
  const B = join(t.dir, 'bob');
  const store = join(t.dir, 'store');
  const a = (rel: string) => join(A, rel);
  const b = (rel: string) => join(B, rel);
  const rand = rng(31);
  const dataset = () => snapshotTree(a('data/images'));
  let first = '';
  let second = '';
  let img2 = Buffer.alloc(0);
  afterAll(() => t.cleanup());

  beforeAll(async () => {
    git(t.dir, 'init', '-q', '-b', 'main', A);
    put(a('train.py'), 'print("train")\n');
    await init({ cwd: A, filter: false });
  });

  it('add: a folder and a file go to the cache, pointers beside them, staged', async () => {
    for (let i = 0; i < 40; i++) put(a(`data/images/c${i % 4}/img-${i}.png`), randomBytesFrom(rand, 500 + i * 37));
    put(a('models/model.bin'), randomBytesFrom(rand, 20_000));
    const added = await add(['data/images', 'models/model.bin'], { cwd: A });
    expect(added.map((x) => [x.path, x.pointer.type, x.changed])).toEqual([
      ['data/images', 'dir', true],
      ['models/model.bin', 'file', true],
    ]);
    expect(added[0]!.pointer.files).toBe(40);
    // The folder's marker (data/images/.gitignore, Git's file) keeps its data out of Git.
    expect(git(A, 'diff', '--cached', '--name-only').split('\n')).toEqual(expect.arrayContaining(['data/images.mk.yaml', 'data/images/.gitignore', 'models/model.bin.mk.yaml']));
    expect(git(A, 'check-ignore', 'data/images/c0/img-0.png', 'models/model.bin').split('\n').filter(Boolean)).toEqual(['data/images/c0/img-0.png', 'models/model.bin']);
    // Adding again changes nothing.
    expect((await add(['data/images'], { cwd: A }))[0]!.changed).toBe(false);
  });

  it('add sweeps the temporary files a killed mk left for the folder, its marker inside it included', async () => {
    // A pid no process has (above the kernel's pid_max), as a SIGKILLed mk leaves.
    const dead = ['data/.images.mk-tmp-4194399-0badc0de', 'data/.images.mk.yaml.mk-tmp-4194399-0badc0de', 'data/images/..gitignore.mk-tmp-4194399-0badc0de'];
    for (const f of dead) put(a(f), 'partial');
    const live = `data/images/..gitignore.mk-tmp-${process.pid}-0badc0de`; // a running mk's: left alone
    put(a(live), 'being written');
    expect((await add(['data/images'], { cwd: A }))[0]!.changed).toBe(false);
    for (const f of dead) expect(existsSync(a(f)), f).toBe(false);
    expect(existsSync(a(live))).toBe(true);
    rmSync(a(live));
  });

  it('status: new, then committed and clean; an edit is modified, naming the file', async () => {
    expect((await status({ cwd: A })).map((s) => [s.path, s.workspace, s.commit])).toEqual([
      ['data/images', 'clean', 'new'],
      ['models/model.bin', 'clean', 'new'],
    ]);
    git(A, 'add', '-A');
    git(A, 'commit', '-qm', 'first');
    first = git(A, 'rev-parse', 'HEAD').trim();
    expect((await status({ cwd: A })).map((s) => [s.path, s.workspace, s.commit, s.cached])).toEqual([
      ['data/images', 'clean', 'committed', true],
      ['models/model.bin', 'clean', 'committed', true],
    ]);
    writeFileSync(a('data/images/c1/img-5.png'), 'edited');
    const [ds] = await status({ cwd: A, paths: ['data/images'] });
    expect(ds!.workspace).toBe('modified');
    expect(ds!.changes).toEqual([expect.objectContaining({ path: 'c1/img-5.png', change: 'modified' })]);
  });

  it('checkout: refuses to overwrite the unsaved edit; with force, restores the committed bytes', async () => {
    const before = readFileSync(a('data/images/c1/img-5.png'));
    expect(await codeOf(checkout({ cwd: A }))).toBe('EUNSAVED');
    expect(readFileSync(a('data/images/c1/img-5.png'))).toEqual(before);
    const r = await checkout({ cwd: A, force: true });
    expect(r.artifacts.find((x) => x.path === 'data/images')).toMatchObject({ action: 'restored', written: 1 });
    expect((await status({ cwd: A })).every((s) => s.workspace === 'clean')).toBe(true);
    // A deleted folder comes back whole.
    const want = dataset();
    rmSync(a('data/images'), { recursive: true });
    await checkout({ cwd: A });
    expect(dataset()).toEqual(want);
  });

  it('diff: the files added, modified and removed between two commits, and against the work tree', async () => {
    put(a('data/images/c0/new.png'), randomBytesFrom(rand, 700));
    img2 = readFileSync(a('data/images/c2/img-2.png'));
    rmSync(a('data/images/c2/img-2.png'));
    put(a('models/model.bin'), randomBytesFrom(rand, 20_001));
    const worktree = await diff({ cwd: A });
    expect(worktree.summary).toMatchObject({ artifacts: 2, added: 1, removed: 1, modified: 1 });
    await add(['data/images', 'models/model.bin'], { cwd: A });
    git(A, 'commit', '-qam', 'second');
    second = git(A, 'rev-parse', 'HEAD').trim();
    const d = await diff({ cwd: A, from: first, to: second });
    expect(d.artifacts.map((x) => [x.path, x.change, x.files.map((f) => [f.path, f.change])])).toEqual([
      [
        'data/images',
        'modified',
        [
          ['data/images/c0/new.png', 'added'],
          ['data/images/c2/img-2.png', 'removed'],
        ],
      ],
      ['models/model.bin', 'modified', [['models/model.bin', 'modified']]],
    ]);
    expect(await diff({ cwd: A, from: second, to: second })).toMatchObject({ artifacts: [], summary: { artifacts: 0 } });
  });

  it('ls: the artifacts of a revision', async () => {
    const listed = await ls({ cwd: A, rev: first });
    expect(listed.artifacts.map((x) => [x.path, x.type])).toEqual([
      ['data/images', 'dir'],
      ['models/model.bin', 'file'],
    ]);
  });

  it('push to a local layout remote, then pull into a plain git clone: the same bytes', async () => {
    await remoteAdd('origin', store, { cwd: A });
    expect(remoteList({ cwd: A }).map((r) => r.name)).toEqual(['origin']);
    git(A, 'commit', '-qam', 'remote');
    const pushed = await push({ cwd: A, revs: [first, 'HEAD'] });
    expect(pushed.copied).toBeGreaterThan(0);
    expect(pushed.modelkits.length).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(store, 'index.json'))).toBe(true);
    // Pushed again: nothing to send.
    expect((await push({ cwd: A })).copied).toBe(0);

    git(t.dir, 'clone', '-q', A, B);
    await init({ cwd: B, filter: false });
    expect(existsSync(b('models/model.bin'))).toBe(false);
    const r = await pull({ cwd: B });
    expect(r.fetch.copied).toBeGreaterThan(0);
    expect(snapshotTree(b('data/images'))).toEqual(dataset());
    expect(sha256File(b('models/model.bin'))).toBe(sha256File(a('models/model.bin')));
    expect((await status({ cwd: B })).map((s) => s.workspace)).toEqual(['clean', 'clean']);
  });

  it("get: one file of an old revision, fetched from the remote into a path of the caller's choosing", async () => {
    mkdirSync(join(t.dir, 'out'));
    const out = join(t.dir, 'out', 'img-2.png');
    const r = await get('data/images/c2/img-2.png', { cwd: B, rev: first, out });
    expect(r).toMatchObject({ type: 'file', files: 1, commit: first, artifact: 'data/images' });
    expect(readFileSync(out).equals(img2)).toBe(true);
    expect(await codeOf(get('data/images/c2/img-2.png', { cwd: B, rev: second, out: join(t.dir, 'out', 'gone.png') }))).toBe('ENOTFOUND');
  });

  it('the ModelKit of a commit: built from the commit alone, the same in both clones, verified against the remote', async () => {
    const head = git(A, 'rev-parse', 'HEAD').trim();
    const inA = await modelkitBuild({ cwd: A, rev: head });
    const inB = await modelkitBuild({ cwd: B, rev: head });
    expect(inB.manifest.digest).toBe(inA.manifest.digest);
    const v = await verify(head, { cwd: A });
    expect(v).toMatchObject({ ok: true, commit: head, expected: inA.manifest.digest, actual: inA.manifest.digest });
    expect(v.blobs.every((x) => x.ok)).toBe(true);
  });

  it('move and remove: the pointer follows, the data goes only when asked', async () => {
    const moved = await move('models/model.bin', 'models/renamed.bin', { cwd: A });
    expect(moved).toMatchObject({ from: 'models/model.bin', to: 'models/renamed.bin', by: 'mk' });
    expect(existsSync(a('models/renamed.bin.mk.yaml'))).toBe(true);
    expect(existsSync(a('models/model.bin'))).toBe(false);
    const removed = await remove(['models/renamed.bin'], { cwd: A });
    expect(removed.map((x) => [x.path, x.dataRemoved])).toEqual([['models/renamed.bin', false]]);
    expect(existsSync(a('models/renamed.bin.mk.yaml'))).toBe(false);
    expect(existsSync(a('models/renamed.bin'))).toBe(true);
  });

  it('gc: removes only what a remote keeps or nothing needs; a dry run removes nothing', async () => {
    git(A, 'add', '-A');
    git(A, 'commit', '-qm', 'model gone');
    const dry = await gc({ cwd: A, dryRun: true });
    expect(dry.dryRun).toBe(true);
    const blobs = () => snapshotTree(a('.git/mk/cache/blobs'));
    const before = blobs();
    expect(dry.removed.length).toBeGreaterThan(0);
    expect(blobs()).toEqual(before);
    const real = await gc({ cwd: A });
    expect(real.removed.map((x) => x.digest).sort()).toEqual(dry.removed.map((x) => x.digest).sort());
    // What HEAD needs is still here: a deleted folder still comes back without a remote.
    rmSync(a('data/images'), { recursive: true });
    await checkout({ cwd: A });
    expect(dataset()).toEqual(snapshotTree(b('data/images')));
  });
});
