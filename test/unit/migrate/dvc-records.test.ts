/**
 * What `mk migrate --from-dvc` reads from a DVC repository: `.dvc` files, `dvc.lock` with the
 * stages' wdir from `dvc.yaml`, `.dir` listings (hostile paths refused), and DVC's md5 in both
 * its 3.x (raw bytes) and 2.x (md5-dos2unix) forms. The dos2unix vectors were computed with
 * dvc-data 3.x (`fobj_md5(..., name='md5-dos2unix')`, per chunk) and DVC 2's per-file rule.
 */
import { describe, expect, it } from 'vitest';
import { parseDirListing, readDvcFile, readDvcLock, stageFolders } from '../../../src/formats/dvc.js';
import { DvcMd5, dvcMatches } from '../../../src/hashing/dvc-md5.js';

describe('.dvc files', () => {
  it('reads file and folder outputs, relative to the .dvc file, with DVC 3 and DVC 2 records told apart', () => {
    const r = readDvcFile('outs:\n- md5: 6fdb5336fce0dbfd669f83065f107551.dir\n  size: 27\n  nfiles: 2\n  hash: md5\n  path: images\n', 'data/images.dvc');
    expect(r.outs).toEqual([{ path: 'data/images', md5: '6fdb5336fce0dbfd669f83065f107551', dir: true, size: 27, nfiles: 2, legacy: false, exec: false, source: 'data/images.dvc' }]);
    const old = readDvcFile('outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  path: ../raw.csv\n', 'data/raw.csv.dvc');
    expect(old.outs[0]).toMatchObject({ path: 'raw.csv', legacy: true, dir: false });
    expect(old.complete).toBe(true);
  });

  it('leaves out what mk cannot take over, and says why', () => {
    const cases: Array<[string, RegExp]> = [
      ['outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  path: ../../etc/x\n', /outside the repository/],
      ['outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  path: /abs/x\n', /outside the repository/],
      ['outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  path: .git/hooks/x\n', /outside the repository/],
      ['outs:\n- etag: abc\n  path: s3://b/x\n', /outside the repository/],
      ['outs:\n- md5: xyz\n  path: x\n', /not 32 hex/],
      ['outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  hash: blake3\n  path: x\n', /md5 only/],
      ['outs:\n- path: x\n  files: []\n', /cloud-versioned/],
      ['deps:\n- path: data.xml\n  repo: {url: "https://x/y"}\nouts:\n- md5: b1946ac92492d2347c6235b4d2611184\n  path: data.xml\n', /imported/],
    ];
    for (const [text, why] of cases) {
      const r = readDvcFile(text, 'x.dvc');
      expect(r.outs, text).toEqual([]);
      expect(r.skipped[0]!.reason, text).toMatch(why);
      expect(r.complete).toBe(false);
    }
    expect(() => readDvcFile('nothing: here\n', 'x.dvc')).toThrow(/no 'outs'/);
  });
});

describe('dvc.lock', () => {
  const yaml = 'stages:\n  gen:\n    wdir: ..\n    cmd: x\n  train:\n    foreach: [a, b]\n    do:\n      wdir: models\n      cmd: y\n  odd:\n    wdir: ${w}\n    cmd: z\n';

  it("takes each stage's wdir from dvc.yaml (foreach stages included) and leaves cache: false outputs to Git", () => {
    expect(stageFolders(yaml, 'sub/dvc.yaml')).toEqual(
      new Map([
        ['gen', ''],
        ['train', 'sub/models'],
      ]),
    );
    const lock =
      "schema: '2.0'\nstages:\n  gen:\n    cmd: x\n    outs:\n    - path: gen.txt\n      hash: md5\n      md5: b2f5ff47436671b6e533d8dc3614845d\n      size: 1\n" +
      '  train@a:\n    cmd: y\n    outs:\n    - path: m.pkl\n      hash: md5\n      md5: b2f5ff47436671b6e533d8dc3614845d\n' +
      '  odd:\n    cmd: z\n    outs:\n    - path: o\n      md5: b2f5ff47436671b6e533d8dc3614845d\n';
    const r = readDvcLock(lock, 'sub/dvc.lock', yaml);
    expect(r.outs.map((o) => [o.path, o.stage])).toEqual([
      ['gen.txt', 'gen'],
      ['sub/models/m.pkl', 'train@a'],
    ]);
    expect(r.skipped[0]).toMatchObject({ path: 'o', reason: expect.stringMatching(/working folder of stage 'odd'/) });
  });
});

describe('.dir listings', () => {
  it("reads DVC's listing and refuses paths that leave the folder or enter .git", () => {
    expect(parseDirListing('[{"md5": "5d0faf106c7db65c30249c80f8fd654e", "relpath": "a/1.png"}]', 'l')).toEqual([{ relpath: 'a/1.png', md5: '5d0faf106c7db65c30249c80f8fd654e', exec: false }]);
    for (const bad of ['../x', '/etc/passwd', 'a/../../x', '.git/config', 'a//b', 'a\\b'])
      expect(() => parseDirListing(`[{"md5": "5d0faf106c7db65c30249c80f8fd654e", "relpath": ${JSON.stringify(bad)}}]`, 'l'), bad).toThrow(/leaves the folder or enters .git/);
    expect(() => parseDirListing('{"x": 1}', 'l')).toThrow(/not a list/);
    expect(() => parseDirListing('[{"md5": "5d0faf106c7db65c30249c80f8fd654e", "relpath": "a"}, {"md5": "5d0faf106c7db65c30249c80f8fd654e", "relpath": "a"}]', 'l')).toThrow(/twice/);
  });
});

describe("DVC's md5", () => {
  function digest(data: Buffer, legacy: boolean, pieces = 7919) {
    const m = new DvcMd5(legacy);
    for (let i = 0; i < data.length; i += pieces) m.update(data.subarray(i, i + pieces));
    return m.digest();
  }

  it('DVC 3 hashes the raw bytes', () => {
    const r = digest(Buffer.from('hello\n'), false);
    expect(r).toEqual({ md5: 'b1946ac92492d2347c6235b4d2611184' });
  });

  it("DVC 2's md5-dos2unix, per file and per 1 MiB chunk (a CRLF across a chunk boundary stays), whatever the read sizes", () => {
    const a = Buffer.concat([Buffer.from('line\r\n'.repeat(200000)).subarray(0, (1 << 20) - 1), Buffer.from('\r')]);
    const b = Buffer.concat([Buffer.from('\n\x00\x01binary\r\n'), Buffer.from('text\r\n'.repeat(10))]);
    const data = Buffer.concat([a, b]);
    for (const pieces of [1000, 4 << 20, 65536]) {
      const r = digest(data, true, pieces);
      expect(r.md5).toBe('d61fb43f544ea8b9f36bbc636c48ea42');
      expect(r.dos2unixChunk).toBe('32d10adb47bc2609227a9d8b9f3f0454');
      expect(r.dos2unixFile).toBe('535e127d2cc7003587c08d7212f29ca7');
    }
    expect(dvcMatches(digest(data, true), '535e127d2cc7003587c08d7212f29ca7')).toBe(true);
    expect(dvcMatches(digest(data, false), '535e127d2cc7003587c08d7212f29ca7')).toBe(false);
  });
});
