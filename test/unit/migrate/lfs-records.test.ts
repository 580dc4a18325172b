/**
 * What `mk migrate --from-lfs` reads and rewrites: Git LFS pointers (git-lfs docs/spec.md: only
 * exact pointers, nothing that merely looks like one) and .gitattributes lines (LFS's
 * attributes given to mk, patterns and everything else kept byte for byte).
 */
import { describe, expect, it } from 'vitest';
import { parseLfsPointer } from '../../../src/formats/lfs-pointer.js';
import { lfsAttributesToMk } from '../../../src/repo/gitattributes.js';

const OID = '4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393';
const p = (s: string) => parseLfsPointer(Buffer.from(s));

describe('Git LFS pointers', () => {
  it('reads the pointer git-lfs writes, and the old hawser version', () => {
    expect(p(`version https://git-lfs.github.com/spec/v1\noid sha256:${OID}\nsize 12345\n`)).toEqual({ oid: OID, size: 12345 });
    expect(p(`version https://hawser.github.com/spec/v1\noid sha256:${OID}\nsize 0\n`)).toEqual({ oid: OID, size: 0 });
    expect(p(`version https://git-lfs.github.com/spec/v1\next-0-foo sha256:${OID}\noid sha256:${OID}\nsize 1\n`)).toEqual({ oid: OID, size: 1 });
  });

  it('anything else is not a pointer', () => {
    for (const s of [
      `version https://git-lfs.github.com/spec/v1\noid sha256:${OID}\nsize 12345`, // no final LF
      `version https://git-lfs.github.com/spec/v1\r\noid sha256:${OID}\r\nsize 12345\r\n`,
      `version https://git-lfs.github.com/spec/v2\noid sha256:${OID}\nsize 1\n`,
      `version https://git-lfs.github.com/spec/v1\noid md5:${OID.slice(0, 32)}\nsize 1\n`,
      `version https://git-lfs.github.com/spec/v1\noid sha256:${OID.toUpperCase()}\nsize 1\n`,
      `version https://git-lfs.github.com/spec/v1\nsize 1\noid sha256:${OID}\n`, // keys out of order
      `version https://git-lfs.github.com/spec/v1\noid sha256:${OID}\nsize -1\n`,
      `version https://git-lfs.github.com/spec/v1\noid sha256:${OID}\nsize 01\n`,
      `version https://git-lfs.github.com/spec/v1\noid sha256:${OID}\nsize 1\n${'x y\n'.repeat(300)}`,
      `oid sha256:${OID}\nsize 1\n`,
      '',
    ])
      expect(p(s), JSON.stringify(s)).toBeUndefined();
  });
});

describe('.gitattributes from Git LFS to mk', () => {
  it('gives filter, diff and merge to mk and keeps every other byte', () => {
    const text = '# models\n*.bin filter=lfs diff=lfs merge=lfs -text\n"data dir/*.dat"\tfilter=lfs  diff=lfs merge=lfs -text lockable\n*.txt text eol=lf\nfilter=lfs.md -text\n';
    expect(lfsAttributesToMk(text)).toBe('# models\n*.bin filter=mk diff=mk merge=mk -text\n"data dir/*.dat"\tfilter=mk  diff=mk merge=mk -text lockable\n*.txt text eol=lf\nfilter=lfs.md -text\n');
    expect(lfsAttributesToMk('*.txt text\n')).toBeUndefined();
    expect(lfsAttributesToMk('*.bin filter=lfsx\n')).toBeUndefined();
  });
});
