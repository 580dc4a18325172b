/**
 * Refusals are not bugs. A config of the wrong shape, a ModelKit whose manifest or config is
 * damaged or hostile, a crafted or incomplete Git history and a full disk each get one line
 * that says what happened (and a hint), a meaningful exit status, and never "internal error:
 * this is a bug in mk". Nothing is left half-written.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corruptBlobs, put, randomBytesFrom, rng, tempLeftovers } from '../../support/files.js';
import { expectMkError, git, gitEnv, makeRepo, mk, mkRun, tempDir } from '../../support/repo.js';

const sha = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const dirs: Array<() => void> = [];
afterAll(() => dirs.forEach((c) => c()));

describe('a .mk/config.yaml of the wrong shape', () => {
  it('names the setting in one line, for every section', () => {
    const repo = makeRepo();
    dirs.push(repo.cleanup);
    const cases: Array<[string, RegExp]> = [
      ['storage: null', /storage: expected a mapping/],
      ['checkout: 5', /checkout: expected a mapping/],
      ['checkout: {lnk: copy}', /unknown setting 'checkout\.lnk'/],
      ['modelkits: null', /modelkits: expected a mapping/],
      ['modelkits: {publish: "yes"}', /modelkits\.publish: expected true or false/],
      ['remotes: {a: null}', /remotes\.a: expected a mapping/],
      ['remotes: {a: {url: /x, concurrency: -3}}', /remotes\.a\.concurrency: expected a whole number/],
      ['remotes: {a: {url: /x, upload: sometimes}}', /remotes\.a\.upload: expected monolithic, chunked or auto/],
      ['default_remote: [1]', /default_remote: expected text/],
      ['auto_fetch: 1', /auto_fetch: expected true or false/],
    ];
    for (const [yaml, expected] of cases) {
      writeFileSync(join(repo.dir, '.mk/config.yaml'), `version: 1\n${yaml}\n`);
      expectMkError(mkRun(repo.dir, ['status']), expected);
    }
  });
});

describe('a damaged or hostile ModelKit in a layout', () => {
  const box = tempDir('mk-hostile-layout-');
  dirs.push(box.cleanup);
  const layout = join(box.dir, 'layout');
  const env = { MK_CACHE_DIR: join(box.dir, 'cache') };
  const blobs = join(layout, 'blobs', 'sha256');
  const tags: Array<{ mediaType: string; digest: string; size: number; annotations: Record<string, string> }> = [];

  const blob = (b: Buffer | string) => {
    const buf = Buffer.from(b);
    writeFileSync(join(blobs, sha(buf).slice(7)), buf);
    return { digest: sha(buf), size: buf.length };
  };
  const tag = (name: string, manifest: Buffer | string) => {
    const m = blob(manifest);
    tags.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': name } });
    writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: tags }));
  };
  const kit = (config: unknown, layers: unknown[] = []) => {
    const c = blob(typeof config === 'string' ? config : JSON.stringify(config));
    return JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.kitops.modelkit.config.v1+json', ...c }, layers });
  };

  beforeAll(() => {
    mkdirSync(blobs, { recursive: true });
    writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const data = blob('hello');
    tag('not-json', 'this is not json');
    tag('layers-not-list', kit({ manifestVersion: '1.0.0' }).replace('"layers":[]', '"layers":"x"'));
    tag('layer-size', kit({ manifestVersion: '1.0.0' }, [{ mediaType: 'application/vnd.kitops.modelkit.dataset.v1.tar', digest: data.digest, size: -1 }]));
    tag('layer-digest', kit({ manifestVersion: '1.0.0' }, [{ mediaType: 'application/vnd.kitops.modelkit.dataset.v1.tar', digest: 'sha256:../../etc', size: 5 }]));
    tag('annotation-object', kit({ manifestVersion: '1.0.0' }, [{ mediaType: 'application/vnd.kitops.modelkit.dataset.v1.raw', ...data, annotations: { 'org.cncf.model.filepath': { x: 1 } } }]));
    tag('config-not-json', kit('{{{'));
    tag('config-array', kit([1, 2]));
    tag('datasets-text', kit({ manifestVersion: '1.0.0', datasets: 'all of them' }));
    tag('path-number', kit({ manifestVersion: '1.0.0', datasets: [{ name: 'd', path: 5 }] }));
    tag('parts-object', kit({ manifestVersion: '1.0.0', model: { name: 'm', path: 'm.bin', parts: { a: 1 } } }));
    tag('config-missing', JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.kitops.modelkit.config.v1+json', digest: sha('absent'), size: 6 }, layers: [] }));
    tag('schema-1', JSON.stringify({ schemaVersion: 1, config: {}, layers: [] }));
  });

  const cases: Array<[string, RegExp]> = [
    ['not-json', /not JSON/],
    ['layers-not-list', /layers must be a list/],
    ['layer-size', /layers\[0\]\.size must be a whole number/],
    ['layer-digest', /layers\[0\]\.digest is not a sha256 digest/],
    ['annotation-object', /layers\[0\]\.annotations must map names to text/],
    ['config-not-json', /config of .*: not JSON/],
    ['config-array', /config of .*: not a JSON object/],
    ['datasets-text', /datasets must be a list/],
    ['path-number', /datasets\[0\]\.path must be text/],
    ['parts-object', /model\.parts must be a list/],
    ['config-missing', /not in/],
    ['schema-1', /schemaVersion is not 2/],
  ];

  it('inspect and unpack refuse each in one line, and unpack writes nothing', () => {
    for (const [name, expected] of cases) {
      const ref = `oci:${layout}:${name}`;
      expectMkError(mkRun(box.dir, ['modelkit', 'inspect', ref], env), expected);
      const target = join(box.dir, `out-${name}`);
      expectMkError(mkRun(box.dir, ['modelkit', 'unpack', ref, '-d', target], env), expected);
      expect(existsSync(target) ? readdirSync(target) : [], name).toEqual([]);
    }
  });

  it('an index.json that is not an OCI index is refused in one line', () => {
    writeFileSync(join(layout, 'index.json'), '[');
    expectMkError(mkRun(box.dir, ['modelkit', 'inspect', `oci:${layout}:not-json`], env), /index\.json: not a valid OCI index/);
  });
});

describe('a crafted or incomplete Git history', () => {
  let repo: { dir: string; cleanup: () => void };
  beforeAll(() => {
    repo = makeRepo();
    put(join(repo.dir, 'model.bin'), randomBytesFrom(rng(1), 5000));
    mk(repo.dir, 'add', 'model.bin');
    git(repo.dir, 'commit', '-qm', 'one');
  });
  afterAll(() => repo.cleanup());

  /** A commit whose root tree has one more entry, named `name` (written with --literally: git itself would refuse it). */
  function commitWithEntry(name: string): string {
    const blobOid = git(repo.dir, 'hash-object', '-w', '--stdin').trim();
    void blobOid;
    const content = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo.dir, input: 'pwned\n', encoding: 'utf8' }).trim();
    const entries = git(repo.dir, 'ls-tree', 'HEAD')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [meta, path] = l.split('\t') as [string, string];
        const [mode, , oid] = meta.split(' ') as [string, string, string];
        return { mode, oid, path };
      });
    entries.push({ mode: '100644', oid: content, path: name });
    entries.sort((a, b) => (a.path < b.path ? -1 : 1));
    const body = Buffer.concat(entries.map((e) => Buffer.concat([Buffer.from(`${e.mode} ${e.path}\0`), Buffer.from(e.oid, 'hex')])));
    const tree = spawnSync('git', ['hash-object', '-t', 'tree', '--literally', '-w', '--stdin'], { cwd: repo.dir, input: body, encoding: 'utf8' }).stdout.trim();
    return execFileSync('git', ['commit-tree', tree, '-p', 'HEAD', '-m', 'crafted'], { cwd: repo.dir, encoding: 'utf8', env: gitEnv() }).trim();
  }

  it('a tree entry no checkout may write (.., .git) is refused in one line by build, checkout and ls', () => {
    for (const name of ['..', '.git', '.GIT']) {
      const c = commitWithEntry(name);
      // isomorphic-git refuses some such names itself, mk the rest: either way one line, naming the tree.
      for (const args of [
        ['modelkit', 'build', c],
        ['checkout', c],
        ['ls', c],
      ])
        expectMkError(mkRun(repo.dir, args), /has an entry no checkout may write|cannot read tree [0-9a-f]{12}: .*unsafe/);
    }
  });

  it('a missing object (a damaged or partial clone) is a git error naming it', () => {
    const c = git(repo.dir, 'rev-parse', 'HEAD').trim();
    const oid = git(repo.dir, 'rev-parse', 'HEAD:model.bin.mk.yaml').trim();
    const copy = tempDir('mk-damaged-');
    dirs.push(copy.cleanup);
    execFileSync('cp', ['-a', `${repo.dir}/.`, copy.dir]);
    rmSync(join(copy.dir, '.git', 'objects', oid.slice(0, 2), oid.slice(2)));
    for (const args of [
      ['ls', c],
      ['modelkit', 'build', c],
      ['checkout', c],
    ])
      expectMkError(mkRun(copy.dir, args), new RegExp(`cannot read blob ${oid.slice(0, 12)}: it is not in this repository`));
  });
});

describe('a full disk', () => {
  const box = tempDir('mk-full-disk-');
  dirs.push(box.cleanup);
  const mnt = join(box.dir, 'small');
  beforeAll(() => {
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`this test mounts a 2 MiB tmpfs (needs root, as the README's test command runs): ${m.stderr}`);
  });
  afterAll(() => {
    spawnSync('umount', [mnt]);
  });

  it('mk add says so in one line (exit 74), writes no pointer, and leaves a sound cache', () => {
    const repo = makeRepo();
    dirs.push(repo.cleanup);
    const env = { MK_CACHE_DIR: join(mnt, 'cache') };
    put(join(repo.dir, 'filler.bin'), randomBytesFrom(rng(2), 1200 << 10));
    expect(mkRun(repo.dir, ['add', 'filler.bin'], env).status).toBe(0);
    put(join(repo.dir, 'big.bin'), randomBytesFrom(rng(3), 1200 << 10));
    const r = mkRun(repo.dir, ['add', 'big.bin'], env);
    expectMkError(r, /^mk: no space left on the device/);
    expect(r.status).toBe(74);
    expect(existsSync(join(repo.dir, 'big.bin.mk.yaml'))).toBe(false);
    expect(corruptBlobs(env.MK_CACHE_DIR)).toEqual([]);
    expect(tempLeftovers(env.MK_CACHE_DIR)).toEqual([]);
    expect(git(repo.dir, 'diff', '--cached', '--name-only').split('\n')).not.toContain('big.bin.mk.yaml');
    // Space comes back: the same command works.
    rmSync(join(env.MK_CACHE_DIR, 'blobs'), { recursive: true });
    expect(mkRun(repo.dir, ['add', 'big.bin'], env).status).toBe(0);
  });
});

describe('a file where a folder must go', () => {
  it('unpack into a file, or under one, is one line (exit 73), not a crash', () => {
    const repo = makeRepo();
    dirs.push(repo.cleanup);
    put(join(repo.dir, 'm.bin'), randomBytesFrom(rng(4), 1000));
    mk(repo.dir, 'add', 'm.bin');
    git(repo.dir, 'commit', '-qm', 'one');
    put(join(repo.dir, 'afile'), 'x');
    for (const d of ['afile', 'afile/sub']) {
      const r = mkRun(repo.dir, ['modelkit', 'unpack', 'HEAD', '-d', d]);
      expectMkError(r, /^mk: a file is where a folder must be \(mkdir .*afile/);
      expect(r.status).toBe(73);
    }
  });
});
