/**
 * Golden digests: a fixed small tree gives fixed bytes for a pack, the code layer, the
 * ModelKit config and its manifest. Reproducible ModelKits rest on these bytes: `mk verify`
 * rebuilds the ModelKit of an old commit and compares digests, and `mk get` reads byte ranges
 * of packs computed from their file lists. A change to any value below moves every digest of
 * every unchanged commit, so it must never happen by accident (a new tar writer, a
 * dependency's release, a reordered JSON key).
 *
 * If a value moves on purpose (a new format version), say so in the commit and the changelog;
 * the directory-manifest digest alone may move when that format changes, since the manifest
 * of an old commit is read back, never re-encoded.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { add, init, modelkitBuild } from '../../../src/index.js';
import { buildPack, buildPackFromMemory } from '../../../src/worktree/pack.js';
import { packSize } from '../../../src/worktree/pack-offsets.js';
import { treeLayer } from '../../../src/modelkit/tree-layer.js';
import { listTree } from '../../../src/modelkit/tree.js';
import { RepoContext } from '../../../src/repo/context.js';
import { sha256 } from '../../../src/hashing/digest.js';
import { openCacheStore } from '../../../src/stores/open.js';
import { put, randomBytesFrom, rng } from '../../support/files.js';
import { git, gitEnv, tempDir } from '../../support/repo.js';

/** The fixed tree: short names, a name split into a ustar prefix, names only PAX can hold, an empty file, exec bits, sizes on and off the 512-byte grid. */
function fixedFiles(): Array<{ name: string; mode: number; bytes: Buffer }> {
  const rand = rng(25);
  const long = 'l'.repeat(99);
  return [
    { name: 'data/images/a.png', mode: 0o644, bytes: randomBytesFrom(rand, 700) },
    { name: 'data/images/empty', mode: 0o644, bytes: Buffer.alloc(0) },
    { name: 'data/images/one-block.bin', mode: 0o644, bytes: randomBytesFrom(rand, 512) },
    { name: `data/images/${long}/${long}/split.bin`, mode: 0o644, bytes: randomBytesFrom(rand, 33) },
    { name: `data/images/${'s'.repeat(120)}.bin`, mode: 0o644, bytes: randomBytesFrom(rand, 1025) },
    { name: 'data/images/tool.sh', mode: 0o755, bytes: Buffer.from('#!/bin/sh\necho golden\n') },
    { name: 'data/images/ü/naïve.txt', mode: 0o644, bytes: Buffer.from('not ASCII\n') },
  ].sort((a, b) => (a.name < b.name ? -1 : 1));
}

const KITFILE = `manifestVersion: "1.0"
package:
  name: golden
  version: 1.0.0
  description: The golden tree of mk's reproducibility test
  license: Apache-2.0
  authors: [mk]
model:
  name: classifier
  path: models/model.bin
  parameters:
    lr: 0.01
datasets:
  - name: images
    path: data/images
code:
  - path: .
`;

const GOLDEN = {
  pack: 'sha256:7679ebc464143154eb4f1273f48f6c86efc09b49bec85fb51c1295e331679528',
  packSize: 15872,
  codeLayer: 'sha256:db866fd37457c452e59d6acad32c9084f3dd85ba01ebd94445720341fca044af',
  dirManifest: 'sha256:945b306c81b21b2001a7f956d3db859787e9956d4c2bda8ee14bde67e86426a3',
  commit: 'd7abb88c1830312a3de0df9a290cac743a9717a1',
  config: 'sha256:5da1dfc94402b02e913f6b250e6d2fa1da047f41b084f95c195a17839a957ac9',
  manifest: 'sha256:60846b057c0744948052f3460927634768fc6d43c138dd143e74541fa6f90058',
  layers: [
    // the model: a raw layer, the file's own digest
    'sha256:426e8e3d38e267e36a5931a934db7adef0982728ae74d329d739d429c9a1c412',
    // its identical copy: a one-file tar (a ModelKit lists a blob once)
    'sha256:afb27600f4bc74536c4fff94ca4d10966e522298da2c1c478ace271191846aee',
    // the code layer
    'sha256:db866fd37457c452e59d6acad32c9084f3dd85ba01ebd94445720341fca044af',
    // the dataset's one pack (the pack above)
    'sha256:7679ebc464143154eb4f1273f48f6c86efc09b49bec85fb51c1295e331679528',
  ],
};

describe('golden digests', () => {
  const t = tempDir('mk-golden-');
  const repo = join(t.dir, 'repo');
  let commit = '';
  afterAll(() => t.cleanup());

  beforeAll(async () => {
    git(t.dir, 'init', '-q', '-b', 'main', repo);
    for (const f of fixedFiles()) put(join(repo, f.name), f.bytes, f.mode);
    put(join(repo, 'models/model.bin'), randomBytesFrom(rng(7), 3000));
    put(join(repo, 'models/copy.bin'), randomBytesFrom(rng(7), 3000)); // the same bytes: a one-file tar layer
    put(join(repo, 'train.py'), 'print("train")\n');
    put(join(repo, 'scripts/run.sh'), '#!/bin/sh\npython train.py\n', 0o755);
    put(join(repo, 'Kitfile'), KITFILE);
    put(join(repo, '.mk/config.yaml'), '# the golden tree: defaults only\n');
    await init({ cwd: repo, filter: false });
    await add(['data/images', 'models/model.bin', 'models/copy.bin'], { cwd: repo });
    git(repo, 'add', '-A');
    const date = '2025-01-02T03:04:05Z';
    execFileSync('git', ['-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'golden'], { cwd: repo, env: gitEnv({ GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date }) });
    commit = git(repo, 'rev-parse', 'HEAD').trim();
  });

  it('a pack of fixed files has a fixed digest, written from disk or from memory', async () => {
    const files = fixedFiles();
    const cacheDir = join(t.dir, 'pack-cache');
    const cache = openCacheStore(cacheDir);
    const fromMemory = await buildPackFromMemory(files, cache);
    const fromDisk = await buildPack(
      files.map((f) => ({ abs: join(repo, f.name), name: f.name, mode: f.mode, size: f.bytes.length })),
      cache,
    );
    expect(fromMemory.digest).toBe(GOLDEN.pack);
    expect(fromDisk.digest).toBe(GOLDEN.pack);
    expect(fromMemory.size).toBe(GOLDEN.packSize);
    expect(packSize(files.map((f) => ({ name: f.name, size: f.bytes.length })))).toBe(GOLDEN.packSize);
    expect(sha256(readFileSync(join(cacheDir, 'blobs', 'sha256', fromDisk.digest.slice(7))))).toBe(GOLDEN.pack);
    expect(fromMemory.fileDigests).toEqual(files.map((f) => sha256(f.bytes)));
  });

  it('the commit, its code layer, its config and its manifest have fixed digests', async () => {
    expect(commit).toBe(GOLDEN.commit);
    const ctx = RepoContext.open(repo);
    const pointer = readFileSync(join(repo, 'data/images.mk.yaml'), 'utf8');
    expect(/digest: (sha256:[0-9a-f]{64})/.exec(pointer)![1]).toBe(GOLDEN.dirManifest);
    const { files } = await listTree(ctx.commonDir, commit);
    const code = files.filter((f) => !f.path.startsWith('data/images/') && !f.path.endsWith('.bin') && f.path !== 'Kitfile');
    const layer = await treeLayer(ctx.commonDir, join(t.dir, 'state'), ctx.cache, code);
    expect(layer.digest).toBe(GOLDEN.codeLayer);
    const built = await modelkitBuild({ cwd: repo });
    expect(built.config.digest).toBe(GOLDEN.config);
    expect(built.manifest.digest).toBe(GOLDEN.manifest);
    expect(built.layers.map((l) => l.digest)).toEqual(GOLDEN.layers);
    expect(built.layers.map((l) => l.digest)).toContain(GOLDEN.codeLayer);
    // The same commit built again (nothing remembered) gives the same bytes.
    writeFileSync(join(ctx.stateDir, 'tree-layers.json'), '{}');
    expect((await modelkitBuild({ cwd: repo })).manifest.digest).toBe(GOLDEN.manifest);
  });
});
