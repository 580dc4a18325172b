/**
 * The two-level directory manifest (docs/spec/dir-manifest.md): a root naming the layers and
 * file-list blobs of ~1,024 files each. What it promises: an exact round trip, one changed
 * file rewrites one list, version 1 roots still read, and a tampered root or list is refused.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assembleDirManifest, decodeDirRoot, encodeDirManifest, type DirManifest, type FileEntry } from '../../../src/formats/dir-manifest.js';
import { MediaType } from '../../../src/content/media-types.js';

const sha = (s: string) => 'sha256:' + createHash('sha256').update(s).digest('hex');

/** n small files in packs of 40, plus one raw file in the middle. */
function manifestOf(n: number, tweak?: (f: FileEntry) => FileEntry): DirManifest {
  const files: FileEntry[] = [];
  const layers: DirManifest['layers'] = [];
  for (let i = 0; i < n; i++) {
    if (i % 40 === 0) layers.push({ format: 'tar', digest: sha(`pack${i / 40}`), size: 1000 });
    const f: FileEntry = { path: `d${String(i % 7)}/f${String(i).padStart(6, '0')}.bin`, mode: i % 11 ? 0o644 : 0o755, size: i, digest: sha(`file${i}`), layer: layers.length - 1 };
    files.push(tweak ? tweak(f) : f);
  }
  layers.push({ format: 'raw', digest: sha('big'), size: 1 << 24 });
  files.push({ path: 'big.bin', mode: 0o644, size: 1 << 24, digest: sha('big'), layer: layers.length - 1 });
  return { files, layers };
}

function roundTrip(m: DirManifest) {
  const enc = encodeDirManifest(m);
  const lists = new Map(enc.lists.map((l) => [l.digest, l.bytes]));
  const root = decodeDirRoot(enc.root, 'test');
  return { enc, root, back: assembleDirManifest(root, (d) => lists.get(d)!, 'test') };
}

const sortByPath = (fs: FileEntry[]) => [...fs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

describe('directory manifest v2', () => {
  it('round-trips exactly: every file, mode, size, digest and layer', () => {
    const m = manifestOf(5000);
    const { enc, root, back } = roundTrip(m);
    expect(back.files).toEqual(sortByPath(m.files));
    expect(back.layers.map((l) => [l.format, l.digest, l.size])).toEqual(m.layers.map((l) => [l.format, l.digest, l.size]));
    expect(root.version).toBe(2);
    expect(JSON.parse(enc.root.toString()).mediaType).toBe(MediaType.mkDirectory);
    // About 1,024 files per list, never more than 2,048.
    expect(enc.lists.length).toBeGreaterThanOrEqual(2);
    expect(enc.lists.length).toBeLessThanOrEqual(12);
    for (const l of enc.lists) expect(JSON.parse(l.bytes.toString()).files.length).toBeLessThanOrEqual(2048 + 40);
    // Deterministic: the same input gives the same bytes.
    expect(encodeDirManifest(manifestOf(5000)).rootDigest).toBe(enc.rootDigest);
  });

  it('one changed file rewrites one file list; the others are the same blobs', () => {
    const a = encodeDirManifest(manifestOf(5000));
    const b = encodeDirManifest(manifestOf(5000, (f) => (f.size === 2503 ? { ...f, digest: sha('edited') } : f)));
    const before = new Set(a.lists.map((l) => l.digest));
    const after = b.lists.map((l) => l.digest);
    expect(after.filter((d) => !before.has(d)).length).toBe(1);
    expect(b.lists.length).toBe(a.lists.length);
    expect(b.rootDigest).not.toBe(a.rootDigest);
  });

  it('version 1 roots (one flat file list) are still read', () => {
    const files = [
      ['a.txt', '644', 1, sha('a'), 0],
      ['b/c.bin', '755', 2, sha('c'), 1],
    ];
    const v1 = Buffer.from(
      JSON.stringify({
        mediaType: MediaType.mkDirectoryV1,
        version: 1,
        layers: [
          { format: 'tar', digest: sha('p'), size: 10 },
          { format: 'raw', digest: sha('c'), size: 2 },
        ],
        files,
      }),
    );
    const root = decodeDirRoot(v1, 'v1');
    const m = assembleDirManifest(
      root,
      () => {
        throw new Error('v1 has no lists');
      },
      'v1',
    );
    expect(m.files.map((f) => [f.path, f.mode, f.layer])).toEqual([
      ['a.txt', 0o644, 0],
      ['b/c.bin', 0o755, 1],
    ]);
  });

  it('a tampered root or list is refused', () => {
    const { enc } = roundTrip(manifestOf(3000));
    const lists = new Map(enc.lists.map((l) => [l.digest, l.bytes]));
    const rootJson = JSON.parse(enc.root.toString());
    const attempt =
      (root: unknown, listBytes = (d: string) => lists.get(d)!) =>
      () =>
        assembleDirManifest(decodeDirRoot(Buffer.from(JSON.stringify(root)), 't'), listBytes, 't');
    // A pack claims one file more than its list holds / one fewer (the list then holds a file nobody claims).
    const more = structuredClone(rootJson);
    more.layers[0].files += 1;
    expect(attempt(more)).toThrow(/holds fewer files|claims/);
    const fewer = structuredClone(rootJson);
    fewer.layers[0].files -= 1;
    expect(attempt(fewer)).toThrow(/no pack claims/);
    // A pack pointing at a list that does not exist.
    const dangling = structuredClone(rootJson);
    dangling.layers[0].list = 99;
    expect(attempt(dangling)).toThrow(/bad pack entry/);
    // A list that repeats a path another list has.
    const first = JSON.parse(lists.get(rootJson.lists[0].digest)!.toString());
    const second = JSON.parse(lists.get(rootJson.lists[1].digest)!.toString());
    second.files[0] = [first.files[0][0], ...second.files[0].slice(1)];
    const dup = Buffer.from(JSON.stringify(second));
    expect(attempt(rootJson, (d) => (d === rootJson.lists[1].digest ? dup : lists.get(d)!))).toThrow(/listed twice/);
    // An escaping path inside a list.
    const evil = structuredClone(first);
    evil.files[0][0] = '../../escape';
    expect(attempt(rootJson, (d) => (d === rootJson.lists[0].digest ? Buffer.from(JSON.stringify(evil)) : lists.get(d)!))).toThrow();
    // Not a manifest at all / unknown version.
    expect(() => decodeDirRoot(Buffer.from('{"mediaType":"x","version":3}'), 't')).toThrow(/not an mk directory manifest/);
  });

  it('version 1 roots get the same checks as version 2: order, duplicates, file-and-folder, raw layers, modes, sizes', () => {
    const layers = [
      { format: 'tar', digest: sha('p'), size: 10 },
      { format: 'raw', digest: sha('c'), size: 2 },
    ];
    const v1 =
      (files: unknown[], ls: unknown[] = layers) =>
      () =>
        assembleDirManifest(decodeDirRoot(Buffer.from(JSON.stringify({ mediaType: MediaType.mkDirectoryV1, version: 1, layers: ls, files })), 'v1'), () => Buffer.alloc(0), 'v1');
    const ok = [
      ['a.txt', '644', 1, sha('a'), 0],
      ['b/c.bin', '755', 2, sha('c'), 1],
    ];
    expect(v1(ok)().files).toHaveLength(2);
    expect(v1([ok[1], ok[0]])().files.map((f) => f.path)).toEqual(['a.txt', 'b/c.bin']); // sorted, as v2
    expect(v1([...ok, ['a.txt', '644', 3, sha('a2'), 0]])).toThrow(/a\.txt is listed twice/);
    expect(v1([...ok, ['a.txt/inner', '644', 3, sha('i'), 0]])).toThrow(/a\.txt is both a file and a folder/);
    expect(v1([ok[0], ['b/c.bin', '755', 2, sha('other'), 1]])).toThrow(/does not match the raw layer/);
    expect(v1([ok[0], ok[1], ['b/d.bin', '644', 2, sha('c'), 1]])).toThrow(/does not match the raw layer|raw layer holds 2 files/);
    expect(v1([['a.txt', '4755', 1, sha('a'), 0], ok[1]])).toThrow(/bad file mode "4755"/);
    expect(v1(ok, [{ format: 'tar', digest: sha('p'), size: -1 }, layers[1]])).toThrow(/bad layer entry/);
    expect(v1([ok[1]])).toThrow(/holds no file/);
    expect(v1([['.GIT/hooks/pre-commit', '755', 1, sha('a'), 0], ok[1]])).toThrow(/inside '\.git'/);
  });
});
