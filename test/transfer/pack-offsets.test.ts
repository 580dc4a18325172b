/**
 * Where a file lies inside a pack, derived from the file list alone as the pack writer lays
 * it out (mk get reads only those bytes). Checked against real packs written by the writer:
 * short names, names split into a ustar prefix, names only PAX can hold (long segments,
 * non-ASCII), deep new folders, empty files, sizes on and off the 512-byte grid.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPackFromMemory } from '../../src/artifact/pack.js';
import { coalesce, packSize, packSpans } from '../../src/artifact/pack-offsets.js';
import { rng, randomBytesFrom } from '../support/files.js';
import { tempDir } from '../support/repo.js';

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
      const out = join(dir.dir, 'p.tar');
      const r = await buildPackFromMemory(files, out);
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
