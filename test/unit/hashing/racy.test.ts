/**
 * Racy stat data: a file changed within the current timestamp tick may change again without
 * its stat data showing it. The window follows the filesystem's timestamp granularity.
 */
import { lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isRacy, racyWindowMs } from '../../../src/hashing/racy.js';
import { StatCache } from '../../../src/hashing/stat-cache.js';
import { tempDir } from '../../support/repo.js';

describe('racy stat data', () => {
  it('sub-second timestamps: 100 ms; whole-second ones: 2 s', () => {
    expect(racyWindowMs({ mtimeMs: 1_700_000_000_123.456, ctimeMs: 1_700_000_000_123.456 })).toBe(100);
    expect(racyWindowMs({ mtimeMs: 1_700_000_000_000, ctimeMs: 1_700_000_002_000 })).toBe(2000);
    const fine = { mtimeMs: 1_700_000_000_123.5, ctimeMs: 1_700_000_000_200.25 };
    expect(isRacy(fine, fine.ctimeMs + 99)).toBe(true);
    expect(isRacy(fine, fine.ctimeMs + 101)).toBe(false);
    const coarse = { mtimeMs: 1_700_000_000_000, ctimeMs: 1_700_000_000_000 };
    expect(isRacy(coarse, coarse.mtimeMs + 1500)).toBe(true);
    expect(isRacy(coarse, coarse.mtimeMs + 2500)).toBe(false);
  });

  it('the stat cache trusts an entry hashed after the window, and not one hashed within it', () => {
    const t = tempDir();
    try {
      const f = join(t.dir, 'a.bin');
      writeFileSync(f, 'x');
      const st = lstatSync(f);
      const newest = Math.max(st.mtimeMs, st.ctimeMs);
      const c = new StatCache(t.dir);
      c.record('a.bin', st, 'sha256:' + '1'.repeat(64), newest + 1);
      expect(c.lookup('a.bin', st)).toBeUndefined();
      c.record('a.bin', st, 'sha256:' + '1'.repeat(64), newest + racyWindowMs(st) + 1);
      expect(c.lookup('a.bin', st)).toBe('sha256:' + '1'.repeat(64));
      // Once the file changes, its stat data no longer matches.
      writeFileSync(f, 'yy');
      expect(c.lookup('a.bin', lstatSync(f))).toBeUndefined();
    } finally {
      t.cleanup();
    }
  });
});
