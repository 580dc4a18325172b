/**
 * mk status after an edit in a stamped folder: the folder is scanned from the output `find`
 * gave for its signature (test/unit/worktree/scan-find.test.ts holds that scan to Node's lstat
 * walk), and exactly the edited file is reported.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo, mk } from '../../support/repo.js';

describe('scanning from find output', () => {
  it('mk status after an edit in a stamped folder reports exactly that file (scanned from the output find gave for the signature)', () => {
    const repo = makeRepo();
    try {
      for (let i = 0; i < 50; i++) {
        mkdirSync(join(repo.dir, 'ds', `d${i % 5}`), { recursive: true });
        writeFileSync(join(repo.dir, 'ds', `d${i % 5}`, `f${i}.bin`), `file ${i}`);
      }
      mk(repo.dir, 'add', 'ds');
      expect(mk(repo.dir, 'status')).toMatch(/clean, new\s+ds/);
      writeFileSync(join(repo.dir, 'ds/d3/f13.bin'), 'changed');
      const out = mk(repo.dir, 'status', '-v');
      expect(out).toMatch(/modified, new\s+ds \(1 file changed\)/);
      expect(out).toMatch(/modified\s+ds\/d3\/f13\.bin/);
    } finally {
      repo.cleanup();
    }
  });
});
