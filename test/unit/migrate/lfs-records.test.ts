/**
 * What `mk migrate --from-lfs` reads and rewrites: Git LFS pointers (git-lfs docs/spec.md: only
 * exact pointers, nothing that merely looks like one) and .gitattributes lines (LFS's
 * attributes given to mk, patterns and everything else kept byte for byte).
 */
import { describe, expect, it } from 'vitest';
import { parseLfsPointer } from '../../../src/formats/lfs-pointer.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { attributesFromLfs, filterMatcher, lfsAttributesToMk } from '../../../src/repo/gitattributes.js';

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

describe('Git LFS lines of nested .gitattributes move to the root file (mk reads only that one)', () => {
  const files = new Map([
    ['.gitattributes', '*.bin filter=lfs diff=lfs merge=lfs -text\n*.md text\n'],
    ['data/.gitattributes', '*.dat filter=lfs diff=lfs merge=lfs -text lockable\n/top.csv filter=lfs diff=lfs merge=lfs -text\nraw/*.parquet filter=lfs diff=lfs merge=lfs -text\n*.txt eol=lf\n'],
    ['data/deep dir/.gitattributes', '# weights\n*.pt filter=lfs diff=lfs merge=lfs -text\n'],
    ['other/.gitattributes', '*.json text\n'],
  ]);
  const paths = [
    'a.bin',
    'x/a.bin',
    'data/a.dat',
    'data/s/b.dat',
    'data/top.csv',
    'data/s/top.csv',
    'data/raw/p.parquet',
    'data/s/raw/p.parquet',
    'data/deep dir/w.pt',
    'data/deep dir/s/w.pt',
    'data/w.pt',
    'c.dat',
    'other/o.json',
  ];

  /** Which paths git itself gives filter=<name> under a set of .gitattributes files. */
  function gitFilter(set: Map<string, string>): Map<string, string> {
    const dir = mkdtempSync(join(tmpdir(), 'mk-attr-unit-'));
    try {
      execFileSync('git', ['init', '-q', dir]);
      for (const [p, t] of set) {
        mkdirSync(dirname(join(dir, p)), { recursive: true });
        writeFileSync(join(dir, p), t);
      }
      const out = execFileSync('git', ['check-attr', '-z', '--stdin', 'filter'], { cwd: dir, input: paths.join('\0') + '\0', encoding: 'utf8' }).split('\0');
      const m = new Map<string, string>();
      for (let i = 0; i + 2 < out.length; i += 3) m.set(out[i]!, out[i + 2]!);
      return m;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("git sends the same paths to mk afterwards as it sent to Git LFS before, and mk's own matcher agrees", () => {
    const after = attributesFromLfs(files);
    expect([...after.keys()].sort()).toEqual(['.gitattributes', 'data/.gitattributes', 'data/deep dir/.gitattributes']);
    expect(after.get('data/.gitattributes')).toBe(
      '# Git LFS lines moved to the root .gitattributes by mk migrate --from-lfs\n*.dat -text lockable\n/top.csv -text\nraw/*.parquet -text\n*.txt eol=lf\n',
    );
    const merged = new Map([...files, ...after]);
    const before = gitFilter(files);
    const now = gitFilter(merged);
    const mkSees = filterMatcher(after.get('.gitattributes'));
    for (const p of paths) {
      expect(now.get(p), p).toBe(before.get(p) === 'lfs' ? 'mk' : before.get(p));
      expect(mkSees(p), p).toBe(before.get(p) === 'lfs');
    }
    expect([...before.values()].filter((v) => v === 'lfs').length).toBe(8);
    // a second run finds nothing more to do
    expect(attributesFromLfs(merged).size).toBe(0);
  });
});
