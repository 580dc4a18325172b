/**
 * Paths that lead out of the repository — `../`, absolute paths, symlinked folders, crafted
 * manifests and tar entries — are refused in one line, and nothing is ever written outside.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeDirManifest, type EncodedDirManifest } from '../../../src/formats/dir-manifest.js';
import { bufferSource } from '../../../src/content/storage.js';
import { MediaType } from '../../../src/content/media-types.js';
import { serializePointer } from '../../../src/formats/pointer.js';
import { OciLayoutStore } from '../../../src/stores/oci-layout/layout-store.js';
import { asRecord, cacheBlobs, exists, put, sha256, snapshotTree } from '../../support/files.js';
import { expectMkError, git, gitEnv, makeRepo, mk, mkJson, mkRun, tempDir } from '../../support/repo.js';

describe('paths that leave the repository', () => {
  let repo: { dir: string; cleanup: () => void };
  let outside: { dir: string; cleanup: () => void };
  const p = (rel: string) => join(repo.dir, rel);
  let outsideBefore: Record<string, unknown>;
  const expectOutsideUntouched = () => expect(asRecord(snapshotTree(outside.dir))).toEqual(outsideBefore);

  beforeEach(() => {
    repo = makeRepo();
    outside = tempDir('mk-outside-');
    put(join(outside.dir, 'secret.bin'), 'not yours');
    put(join(outside.dir, 'target.txt'), 'a file some symlink points to');
    outsideBefore = asRecord(snapshotTree(outside.dir));
  });
  afterEach(() => {
    repo.cleanup();
    outside.cleanup();
  });

  it("mk add refuses '../outside', an absolute path outside, '.git' and paths through a symlinked folder", () => {
    const rel = join('..', outside.dir.split('/').pop()!, 'secret.bin');
    symlinkSync(outside.dir, p('link'));
    symlinkSync(join(outside.dir, 'target.txt'), p('filelink'));
    const cases: Array<[string[], RegExp]> = [
      [['add', rel], /^mk: refusing path '\.\.\/mk-outside-\w+\/secret\.bin': it is outside the repository$/],
      [['add', join(outside.dir, 'secret.bin')], /^mk: refusing path '\/.*\/secret\.bin': it is outside the repository$/],
      [['add', '..'], /outside the repository/],
      [['add', '.git/config'], /inside '\.git'/],
      [['add', 'link/secret.bin'], /its parent folder 'link' is a symlink/],
      [['add', 'link'], /link.*symlink/],
      [['add', 'filelink'], /filelink.*symlink/],
    ];
    const blobs = cacheBlobs(p('.git/mk/cache')).size;
    const gitStatus = git(repo.dir, 'status', '--porcelain', '--untracked-files=no');
    for (const [args, re] of cases) expectMkError(mkRun(repo.dir, args), re);
    // From a subfolder, '../..' escapes too.
    put(p('sub/dir/x'), 'x');
    expectMkError(mkRun(p('sub/dir'), ['add', '../../../x']), /outside the repository/);
    expectOutsideUntouched();
    expect(cacheBlobs(p('.git/mk/cache')).size).toBe(blobs);
    expect(git(repo.dir, 'status', '--porcelain', '--untracked-files=no')).toBe(gitStatus);
    expect(exists(p('.gitignore'))).toBe(false);
    expect(readdirSync(outside.dir).sort()).toEqual(['secret.bin', 'target.txt']);
  });

  it('a committed .gitignore that is a symlink is never read or written through: add, checkout and rm refuse in one line', () => {
    put(p('model.bin'), 'weights v1');
    mk(repo.dir, 'add', 'model.bin');
    git(repo.dir, 'commit', '-qm', 'model');
    const good = git(repo.dir, 'rev-parse', 'HEAD').trim();
    // A teammate (or an attacker) commits .gitignore as a symlink to a file outside.
    rmSync(p('.gitignore'));
    symlinkSync(join(outside.dir, 'secret.bin'), p('.gitignore'));
    git(repo.dir, 'add', '.gitignore');
    git(repo.dir, 'commit', '-qm', 'gitignore is a link now');
    const status = git(repo.dir, 'status', '--porcelain');
    put(p('other.bin'), 'more weights');
    expectMkError(mkRun(repo.dir, ['add', 'other.bin']), "refusing path '.gitignore': it is a symlink");
    expect(exists(p('other.bin.mk.yaml'))).toBe(false);
    expectMkError(mkRun(repo.dir, ['checkout', good, '--', 'model.bin']), "refusing path '.gitignore': it is a symlink");
    expectMkError(mkRun(repo.dir, ['rm', 'model.bin']), "refusing path '.gitignore': it is a symlink");
    expect(exists(p('model.bin.mk.yaml'))).toBe(true);
    expect(
      git(repo.dir, 'status', '--porcelain')
        .split('\n')
        .filter((l) => !l.includes('other.bin'))
        .join('\n'),
    ).toBe(
      status
        .split('\n')
        .filter((l) => !l.includes('other.bin'))
        .join('\n'),
    );
    expect(git(repo.dir, 'diff', '--cached', '--name-only')).toBe('');
    expectOutsideUntouched();
  });

  it('a file name with a line break cannot add .gitignore patterns', () => {
    const name = 'evil\n*.py\n!keep';
    put(p(name), 'data');
    put(p('.gitignore'), '# mine\n');
    expectMkError(mkRun(repo.dir, ['add', name]), /its name has a line break/);
    expect(readFileSync(p('.gitignore'), 'utf8')).toBe('# mine\n');
    expect(readdirSync(repo.dir).filter((f) => f.endsWith('.mk.yaml'))).toEqual([]);
    // The pre-commit hook's automatic tracking refuses it too, and the commit stops.
    mk(repo.dir, 'install');
    writeFileSync(p('.mk/config.yaml'), 'version: 1\ntrack: ["evil*"]\n');
    git(repo.dir, 'add', '-A');
    const r = spawnSync('git', ['commit', '-qm', 'x'], { cwd: repo.dir, encoding: 'utf8', env: gitEnv() });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/its name has a line break/);
    expect(readFileSync(p('.gitignore'), 'utf8')).toBe('# mine\n');
  });

  it('a committed pointer that now sits under a symlinked folder is never followed', () => {
    put(p('evil/w.bin'), 'weights v1');
    put(p('evil/ds/a.txt'), 'a');
    mk(repo.dir, 'add', 'evil/w.bin', 'evil/ds');
    git(repo.dir, 'commit', '-qm', 'data under evil/');
    // The next commit replaces the folder by a symlink that points outside the repository.
    git(repo.dir, 'rm', '-rq', '--cached', 'evil');
    rmSync(p('evil'), { recursive: true });
    symlinkSync(outside.dir, p('evil'));
    git(repo.dir, 'add', 'evil');
    git(repo.dir, 'commit', '-qm', 'evil is a symlink now');
    expect(git(repo.dir, 'ls-tree', 'HEAD', 'evil')).toMatch(/^120000 /);

    for (const args of [
      ['checkout', 'HEAD~1'],
      ['checkout', '--force', 'HEAD~1'],
      ['checkout', 'HEAD~1', '--', 'evil/w.bin'],
      ['checkout', 'HEAD~1', '--', 'evil'],
    ]) {
      expectMkError(mkRun(repo.dir, args), /^mk: refusing path 'evil\/(w\.bin|ds)': its parent folder 'evil' is a symlink/);
      expectOutsideUntouched();
    }
    // The pointer files were not written through the link either, nor staged.
    expect(git(repo.dir, 'status', '--porcelain')).toBe('');

    // The same with the pointer still in the index: reading it through the link finds nothing to do.
    git(repo.dir, 'reset', '-q', '--hard', 'HEAD~1');
    rmSync(p('evil'), { recursive: true });
    symlinkSync(outside.dir, p('evil'));
    // Someone planted a pointer where the link leads.
    put(join(outside.dir, 'w.bin.mk.yaml'), git(repo.dir, 'show', 'HEAD:evil/w.bin.mk.yaml'));
    outsideBefore = asRecord(snapshotTree(outside.dir));
    for (const args of [['checkout'], ['checkout', '--force'], ['checkout', 'HEAD'], ['checkout', '--', 'evil']]) {
      expectMkError(mkRun(repo.dir, args), /^mk: refusing path 'evil\/(w\.bin|ds)': its parent folder 'evil' is a symlink/);
      expectOutsideUntouched();
    }
  });

  it('a symlinked folder inside a tracked directory is in the way: refused, and with --force replaced, never followed', () => {
    put(p('ds/a.txt'), 'a');
    put(p('ds/sub/b.txt'), 'b');
    put(p('ds/sub/deeper/c.txt'), 'c');
    put(p('ds/t.txt'), 't');
    mk(repo.dir, 'add', 'ds');
    git(repo.dir, 'commit', '-qm', 'ds');
    const committed = asRecord(snapshotTree(p('ds')));

    rmSync(p('ds/sub'), { recursive: true });
    symlinkSync(outside.dir, p('ds/sub'));
    rmSync(p('ds/t.txt'));
    symlinkSync(join(outside.dir, 'target.txt'), p('ds/t.txt'));
    const r = mkRun(repo.dir, ['checkout']);
    expectMkError(r, /^mk: unsaved changes would be overwritten: ds\/sub, ds\/t\.txt$/);
    expectOutsideUntouched();
    expect(snapshotTree(p('ds')).get('sub')!.sha).toBe('symlink');

    mk(repo.dir, 'checkout', '--force');
    expectOutsideUntouched();
    expect(asRecord(snapshotTree(p('ds')))).toEqual(committed);
    expect(mkJson(repo.dir, 'status').artifacts[0].workspace).toBe('clean');
  });

  it('a crafted directory manifest whose file paths escape is refused before anything is written', async () => {
    const store = new OciLayoutStore(p('.git/mk/cache'));
    const pack = await tarOf([['ds/ok.txt', 'fine']]);
    const packDesc = { mediaType: MediaType.octet, digest: 'sha256:' + sha256(pack), size: pack.length };
    await store.push(packDesc, bufferSource(pack));
    for (const bad of ['../../escape.txt', '/tmp/escape.txt', 'a/../../escape.txt', '.git/hooks/pre-commit', '']) {
      const manifest = encodeDirManifest({
        layers: [{ format: 'tar', digest: packDesc.digest, size: packDesc.size }],
        files: [
          { path: 'ok.txt', mode: 0o644, size: 4, digest: 'sha256:' + sha256('fine'), layer: 0 },
          { path: bad, mode: 0o644, size: 4, digest: 'sha256:' + sha256('fine'), layer: 0 },
        ],
      });
      const mdesc = await pushManifest(store, manifest);
      writeFileSync(p('ds.mk.yaml'), serializePointer({ version: 1, kind: 'dataset', type: 'dir', digest: mdesc.digest, size: 8, files: 2 }, 'ds'));
      const r = mkRun(repo.dir, ['checkout']);
      expect(r.status, bad).not.toBe(0);
      expectMkError(r);
      expect(exists(p('ds')), bad).toBe(false);
      expect(exists(join(repo.dir, '..', 'escape.txt'))).toBe(false);
      expect(exists('/tmp/escape.txt')).toBe(false);
      expect(exists(p('.git/hooks/pre-commit'))).toBe(false);
    }
  });

  it('a pack with extra entries that escape is refused by the one tar reader: one line, nothing outside, nothing the manifest does not list', async () => {
    const store = new OciLayoutStore(p('.git/mk/cache'));
    const evilName = join('ds', '..', '..', outside.dir.split('/').pop()!, 'pwned.txt').replace(/\\/g, '/');
    const pack = await tarOf([
      ['ds/ok.txt', 'fine'],
      [evilName, 'pwned'],
      [join(outside.dir, 'abs-pwned.txt'), 'pwned'],
      ['ds/../ds/ok2.txt', 'sneaky'],
    ]);
    const packDesc = { mediaType: MediaType.octet, digest: 'sha256:' + sha256(pack), size: pack.length };
    await store.push(packDesc, bufferSource(pack));
    const manifest = encodeDirManifest({
      layers: [{ format: 'tar', digest: packDesc.digest, size: packDesc.size }],
      files: [{ path: 'ok.txt', mode: 0o644, size: 4, digest: 'sha256:' + sha256('fine'), layer: 0 }],
    });
    const mdesc = await pushManifest(store, manifest);
    writeFileSync(p('ds.mk.yaml'), serializePointer({ version: 1, kind: 'dataset', type: 'dir', digest: mdesc.digest, size: 4, files: 1 }, 'ds'));
    expectMkError(mkRun(repo.dir, ['checkout']), /refusing path '.*pwned\.txt': it escapes the target directory/);
    // Files read before the bad entry are the manifest's own, verified (as after a killed checkout).
    for (const [path, st] of snapshotTree(p('ds'))) expect([path, st.sha]).toEqual(['ok.txt', sha256('fine')]);
    expectOutsideUntouched();
  });
});

/** Stores an encoded directory manifest (its file lists, then its root) in a cache. */
async function pushManifest(store: OciLayoutStore, m: EncodedDirManifest) {
  for (const l of m.lists) await store.push({ mediaType: MediaType.mkFileList, digest: l.digest, size: l.bytes.length }, bufferSource(l.bytes));
  const mdesc = { mediaType: MediaType.mkDirectory, digest: m.rootDigest, size: m.root.length };
  await store.push(mdesc, bufferSource(m.root));
  return mdesc;
}

/** A tar (as mk would build it, but with any entry names) in memory. */
async function tarOf(entries: Array<[string, string]>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of entries) pack.entry({ name, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, body);
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}
