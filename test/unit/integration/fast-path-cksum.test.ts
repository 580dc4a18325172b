/**
 * The pre-commit fast path compares `git ls-files -s -- '*.mk.yaml' | cksum` (the system's
 * cksum, in the shell) with the sum mk computed in process when it wrote the script: both must
 * print the same for any listing.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cksum } from '../../../src/integration/hooks/fast-path.js';

describe('cksum', () => {
  it("prints what the system's cksum prints", () => {
    const texts = ['', 'a', '100644 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\tds.mk.yaml\n', 'x'.repeat(255), 'y'.repeat(256), 'é'.repeat(70_000), '"\\303\\251.mk.yaml"\n'];
    for (const t of texts) expect(cksum(t), JSON.stringify(t.slice(0, 20))).toBe(execFileSync('cksum', { input: t, encoding: 'utf8' }).trim());
  });
});
