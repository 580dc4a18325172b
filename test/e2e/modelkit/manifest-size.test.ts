/**
 * Registries cap a manifest at about 4 MiB. A ModelKit has one layer per pack or raw file,
 * so what keeps big datasets publishable is the grouping: a real 20,000-file dataset stays far
 * inside it (a synthetic 1,000,000-file one, planned only: test/unit/formats/manifest-size.test.ts).
 */
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Descriptor } from '../../../src/content/descriptor.js';
import { rng } from '../../support/files.js';
import { git, makeRepo, mk, mkJson } from '../../support/repo.js';

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

describe('a 20,000-file dataset', () => {
  let repo: { dir: string; cleanup: () => void };
  let built: { digest: string; size: number; layers: Descriptor[] };

  beforeAll(() => {
    repo = makeRepo();
    const rand = rng(20_000);
    const root = join(repo.dir, 'data/images');
    const made = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const dir = join(root, `class_${String(i % 50).padStart(2, '0')}`, `batch_${(i >> 6) % 8}`);
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      const b = Buffer.alloc(64 + Math.floor(rand() * 449), i & 0xff);
      b.writeUInt32LE(i, 0); // every file distinct
      writeFileSync(join(dir, `img_${String(i).padStart(5, '0')}.bin`), b);
    }
    mk(repo.dir, 'add', 'data/images');
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-q', '-m', '20k files');
    built = mkJson(repo.dir, 'modelkit', 'build');
  });
  afterAll(() => repo?.cleanup());

  it('with the default settings: a few layers, a manifest of about a KiB', () => {
    const manifest = readFileSync(join(repo.dir, '.git/mk/cache/blobs/sha256', built.digest.slice(7)));
    expect(manifest.length).toBe(built.size);
    console.log(`20,000 files, default pack target: ${built.layers.length} layers, manifest ${kib(built.size)}`);
    expect(built.size).toBeLessThan(64 * 1024);
    expect(JSON.parse(manifest.toString()).layers).toHaveLength(built.layers.length);
  });

  it('stays small with the smallest pack target mk allows (64 KiB)', () => {
    writeFileSync(join(repo.dir, '.mk/config.yaml'), readFileSync(join(repo.dir, '.mk/config.yaml'), 'utf8') + 'storage:\n  pack_target: 64KiB\n');
    mk(repo.dir, 'add', 'data/images');
    git(repo.dir, 'commit', '-q', '-am', 'smaller packs');
    const small = mkJson(repo.dir, 'modelkit', 'build');
    console.log(`20,000 files, 64 KiB pack target: ${small.layers.length} layers, manifest ${kib(small.size)}`);
    expect(small.layers.length).toBeGreaterThan(built.layers.length);
    expect(small.size).toBeLessThan(256 * 1024);
  });
});
