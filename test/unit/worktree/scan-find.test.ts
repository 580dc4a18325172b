/**
 * A folder whose stamp no longer holds is scanned from the output `find` already gave for its
 * signature (no stat call per file): that scan must be exactly the one Node's lstat walk gives,
 * to the stat cache's comparison (inode, size, mtimeMs, ctimeMs, mode), or every file would be
 * hashed again, or worse, an edit missed. (test/e2e/core/scan-find.test.ts: mk status on it.)
 */
import { chmodSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanDir, scanFromFind } from '../../../src/worktree/scan.js';
import { findSignatureAsync } from '../../../src/hashing/stamps.js';
import { tempDir } from '../../support/repo.js';

describe('scanning from find output', () => {
  const dir = tempDir();
  const dirPath = dir.dir;
  afterAll(() => dir.cleanup());

  it('gives what the lstat walk gives: paths, sizes, modes, skipped links, mk temp files, times to the nanosecond', async () => {
    const root = join(dirPath, 'tree');
    mkdirSync(join(root, 'a b/c'), { recursive: true });
    mkdirSync(join(root, 'empty'), { recursive: true });
    writeFileSync(join(root, 'a b/c/with space.txt'), 'x');
    writeFileSync(join(root, 'a b/c/ünï.bin'), Buffer.alloc(1234, 7));
    writeFileSync(join(root, 'top'), '');
    writeFileSync(join(root, 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(root, 'run.sh'), 0o755);
    writeFileSync(join(root, 'a b/.data.bin.mk-tmp-123-0badc0de'), 'partial');
    symlinkSync('/etc/passwd', join(root, 'link'));
    // Whole seconds, fractions, and ctimes the kernel sets to the nanosecond.
    utimesSync(join(root, 'top'), 1_700_000_000, 1_700_000_000);
    utimesSync(join(root, 'a b/c/with space.txt'), 1_700_000_000.5, 1_700_000_001.25);
    const sig = await findSignatureAsync(root);
    expect(sig?.findOutput).toBeDefined();
    const fromFind = scanFromFind(root, sig!.findOutput!);
    const walked = scanDir(root);
    expect(fromFind).toBeDefined();
    const pick = (r: ReturnType<typeof scanDir>) => ({
      files: r.files.map((f) => ({ path: f.path, abs: f.abs, size: f.size, mode: f.mode, ino: f.stat.ino, st: [f.stat.size, f.stat.mtimeMs, f.stat.ctimeMs, f.stat.mode] })),
      skipped: [...r.skipped].sort(),
      temps: [...r.temps].sort(),
    });
    expect(pick(fromFind!)).toEqual(pick(walked));
    expect(fromFind!.files.map((f) => f.path)).toEqual(['a b/c/with space.txt', 'a b/c/ünï.bin', 'run.sh', 'top']);
    expect(fromFind!.skipped).toEqual(['link']);
  });

  it('refuses output it cannot parse (the caller then walks the folder)', () => {
    expect(scanFromFind('/x', Buffer.from('f 1 2 3.0 4.0 644 a\0f 1 2'))).toBeUndefined();
    expect(scanFromFind('/x', Buffer.from('f 1 2 3.0 4.0 644 \0'))).toBeUndefined();
    expect(scanFromFind('/x', Buffer.from('f x 2 3.0 4.0 644 a\0'))).toBeUndefined();
  });
});
