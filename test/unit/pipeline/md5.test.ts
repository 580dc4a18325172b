/**
 * DVC's digests: a file's md5, DVC 2.x's dos2unix md5, and a folder's md5 over the JSON list
 * of its files exactly as Python writes it (sorted by path, non-ASCII escaped); the values are
 * the ones DVC 3.67 and CPython compute. Unchanged folders are answered from one listing.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dirMd5, isTextBlock, Md5Hasher, md5File } from '../../../src/pipeline/md5.js';
import { tempDir } from '../../support/repo.js';

describe("DVC's md5s", () => {
  const t = tempDir('mk-md5-');
  afterAll(() => t.cleanup());

  it('a folder digest is the md5 of the JSON list of its files (the value DVC wrote for these two files)', () => {
    expect(
      dirMd5([
        { rel: 'f2', md5: '009520053b00386d1173f3988c55d192' },
        { rel: 'f1', md5: '401b30e3b8b5d629635a5c613cdb7919' },
      ]),
    ).toBe('54f89e45f3b8fcb9aedaad597bbdf612.dir');
  });

  it('sorts paths as Python does and escapes them as json.dumps does', () => {
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const files = [
      { rel: 'dé/ü.txt', md5: md5('é\n') },
      { rel: 'a-b/c', md5: md5('a') },
      { rel: 'a/b', md5: md5('b') },
      { rel: 'we"ird\\name', md5: md5('q') },
    ];
    expect(dirMd5(files)).toBe('daf18e13fb08e9424fb0b7eccce5720f.dir'); // CPython: json.dumps(sorted list, sort_keys=True)
  });

  it("DVC 2's md5 reads CRLF as LF in text, and leaves binary alone", () => {
    const text = join(t.dir, 'crlf.txt');
    writeFileSync(text, 'a\r\nb\r\n');
    expect(md5File(text)).toBe('59b0d7772f0561efb95518f3cb8abc60');
    expect(md5File(text, true)).toBe('dd8c6a395b5dd36c56d23275028f526c');
    const bin = join(t.dir, 'bin');
    writeFileSync(bin, Buffer.from([0, 13, 10, 1]));
    expect(md5File(bin, true)).toBe(md5File(bin));
    expect(isTextBlock(Buffer.from('plain text\n'))).toBe(true);
    expect(isTextBlock(Buffer.from([1, 2, 3, 4, 200, 201, 65]))).toBe(false);
  });

  it('hashes a folder, answers again from its listing, and sees a change (leaving .git, .dvc and .dvcignore matches out)', async () => {
    const root = join(t.dir, 'repo');
    mkdirSync(join(root, 'd', 'sub', '.git'), { recursive: true });
    mkdirSync(join(root, 'd', '.dvc'), { recursive: true });
    writeFileSync(join(root, 'd', 'f1'), 'x\n');
    writeFileSync(join(root, 'd', 'sub', 'f2'), 'y\n');
    writeFileSync(join(root, 'd', 'sub', '.git', 'HEAD'), 'ref\n');
    writeFileSync(join(root, 'd', '.dvc', 'config'), '');
    writeFileSync(join(root, 'd', 'skip.tmp'), 'skip');
    const old = Date.now() / 1000 - 60; // older than any racy window
    for (const f of ['f1', 'sub/f2', 'skip.tmp']) utimesSync(join(root, 'd', f), old, old);
    const stateDir = join(t.dir, 'state');
    mkdirSync(stateDir);
    const h = new Md5Hasher(root, stateDir, (rel) => rel.endsWith('.tmp'), 'tmp');
    const a = await h.hash('d');
    expect(a).toEqual({
      md5: dirMd5([
        { rel: 'f1', md5: '401b30e3b8b5d629635a5c613cdb7919' },
        { rel: 'sub/f2', md5: '009520053b00386d1173f3988c55d192' },
      ]),
      size: 4,
      nfiles: 2,
      isdir: true,
    });
    h.save();
    const again = new Md5Hasher(root, stateDir, (rel) => rel.endsWith('.tmp'), 'tmp');
    expect(await again.hash('d')).toEqual(a);
    writeFileSync(join(root, 'd', 'sub', 'f2'), 'z\n');
    const changed = new Md5Hasher(root, stateDir, (rel) => rel.endsWith('.tmp'), 'tmp');
    expect((await changed.hash('d'))!.md5).not.toBe(a!.md5);
    expect(await changed.hash('nothere')).toBeUndefined();
    expect(await changed.hash('d/f1')).toEqual({ md5: '401b30e3b8b5d629635a5c613cdb7919', size: 2, isdir: false });
  });
});
