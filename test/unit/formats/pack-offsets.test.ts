/**
 * Where a file lies inside a pack, derived from the file list alone as the pack writer lays
 * it out (mk get reads only those bytes). Checked against real packs written by the writer:
 * short names, names split into a ustar prefix, names only PAX can hold (long segments,
 * non-ASCII), deep new folders, empty files, sizes on and off the 512-byte grid.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPackFromMemory } from '../../../src/worktree/pack.js';
import { openCacheStore } from '../../../src/stores/open.js';
import { coalesce, packSize, packSpans } from '../../../src/worktree/pack-offsets.js';
import { listsCovering } from '../../../src/worktree/dir-lookup.js';
import { assembleDirManifest, cmp, decodeDirRoot, encodeDirManifest, type FileEntry, type LayerRef } from '../../../src/formats/dir-manifest.js';
import { rng, randomBytesFrom } from '../../support/files.js';
import { tempDir } from '../../support/repo.js';

describe('pack offsets', () => {
  it('match the bytes of packs the writer produced, for every kind of name', async () => {
    const rand = rng(5);
    const long = 'x'.repeat(99);
    const names = [
      'data/a.bin',
      'data/b/empty',
      'data/b/one-block',
      `data/${long}/${long}/f.bin`, // prefix + name (ustar split)
      `data/${'y'.repeat(120)}.bin`, // one segment over 100: PAX
      `data/${'z/'.repeat(90)}deep.bin`, // prefix over 155: PAX
      'data/ü/naïve.bin', // not ASCII: PAX
      'data/ü/ß'.padEnd(40, 'q'),
      'data/zz/' + 'p'.repeat(100),
    ].sort();
    const sizes = [0, 1, 511, 512, 513, 2048, 3000, 7, 1024];
    const files = names.map((name, i) => ({ name, mode: i % 3 ? 0o644 : 0o755, bytes: randomBytesFrom(rand, sizes[i % sizes.length]!) }));
    const dir = tempDir('mk-pack-offsets-');
    try {
      const cache = openCacheStore(join(dir.dir, 'cache'));
      const r = await buildPackFromMemory(files, cache);
      const out = join(dir.dir, 'cache', 'blobs', 'sha256', r.digest.slice(7));
      const tarBytes = readFileSync(out);
      const spans = packSpans(files.map((f) => ({ name: f.name, size: f.bytes.length })));
      expect(spans.map((s) => s.name)).toEqual(names);
      files.forEach((f, i) => {
        const s = spans[i]!;
        expect(tarBytes.subarray(s.start, s.start + s.size).equals(f.bytes), f.name).toBe(true);
      });
      expect(packSize(files.map((f) => ({ name: f.name, size: f.bytes.length })))).toBe(r.size);
      expect(statSync(out).size).toBe(r.size);
    } finally {
      dir.cleanup();
    }
  });

  it('coalesce joins spans closer than the gap, in offset order', () => {
    const s = (start: number, size: number) => ({ name: String(start), start, size });
    const groups = coalesce([s(5000, 10), s(0, 100), s(600, 100), s(20000, 1)], 1024);
    expect(groups.map((g) => [g.start, g.end, g.spans.length])).toEqual([
      [0, 700, 2],
      [5000, 5010, 1],
      [20000, 20001, 1],
    ]);
  });
});

describe('file lists covering a path', () => {
  it('a binary search finds every list that holds files under a path, and reads few of them', async () => {
    // 6,000 files in packs of 40: about six file lists, in path order.
    const files: FileEntry[] = [];
    const names: string[] = [];
    for (let i = 0; i < 6000; i++) names.push(`${['a', 'b', 'b.x', 'c'][i % 4]}/d${i % 13}/f${String(i).padStart(5, '0')}`);
    names.sort(cmp);
    const layers: LayerRef[] = [];
    names.forEach((path, i) => {
      if (i % 40 === 0) layers.push({ format: 'tar', digest: `sha256:${String(i).padStart(64, '0')}`, size: 1 });
      files.push({ path, mode: 0o644, size: 1, digest: `sha256:${'1'.repeat(64)}`, layer: layers.length - 1 });
    });
    const enc = encodeDirManifest({ files, layers });
    const root = decodeDirRoot(enc.root, 'root');
    expect(root.lists.length).toBeGreaterThan(4);
    const bytes = new Map(enc.lists.map((l) => [l.digest, l.bytes]));
    for (const sub of ['a', 'b', 'b.x/d3', 'c/d12/f05999', 'c/d1', 'zz', 'b/d1/f00001']) {
      const reads: string[] = [];
      const covering = await listsCovering(root, sub, async (d) => (reads.push(d.digest), bytes.get(d.digest)!), 'root');
      const m = assembleDirManifest(root, (d) => bytes.get(d)!, 'root', covering);
      const under = (p: string) => p === sub || p.startsWith(sub + '/');
      expect(
        m.files.filter((f) => under(f.path)).map((f) => f.path),
        sub,
      ).toEqual(names.filter(under));
      expect(new Set(reads).size, sub).toBeLessThan(root.lists.length);
    }
  });
});
