/**
 * mk's own tar writer (src/formats/tar.ts) writes exactly the bytes tar-stream 3.2.2 wrote
 * for mk's fixed metadata, the writer of every pack and ModelKit layer made before it: the
 * same names (short, split into a ustar prefix, PAX for long segments, long prefixes and
 * non-ASCII), modes, sizes on and off the 512-byte grid and over 8 GiB (base-256 size field).
 * Compared header by header over generated names, and tar by tar for the pack and layer
 * writers. tar-stream stays a dependency for reading; the golden digests
 * (golden.test.ts) pin the bytes whatever happens to it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { TAR_END, tarHeader, tarHeaderSize, tarPadding } from '../../../src/formats/tar.js';
import { openCacheStore } from '../../../src/stores/open.js';
import { buildPackFromMemory, missingParents } from '../../../src/worktree/pack.js';
import { randomBytesFrom, rng } from '../../support/files.js';
import { tempDir } from '../../support/repo.js';

const EPOCH = new Date(0);

/** The header tar-stream writes for one entry with mk's fixed metadata (the bytes before the body). */
async function tarStreamHeader(name: string, type: 'file' | 'directory', mode: number, size: number): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  pack.on('error', () => undefined);
  pack.entry({ name, type, mode, size, uid: 0, gid: 0, uname: '', gname: '', mtime: EPOCH, linkname: '', devmajor: 0, devminor: 0 });
  await new Promise((r) => setImmediate(r));
  pack.destroy();
  return Buffer.concat(chunks);
}

/** The whole tar tar-stream writes for `files` (parents first, as mk's writers emit them). */
async function tarStreamTar(files: Array<{ name: string; mode: number; bytes: Buffer }>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  const seen = new Set<string>();
  const header = (name: string, type: 'file' | 'directory', mode: number, size: number) => ({
    name,
    type,
    mode,
    size,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    mtime: EPOCH,
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  for (const f of files) {
    for (const d of missingParents(f.name, seen)) pack.entry(header(d, 'directory', 0o755, 0));
    pack.entry(header(f.name, 'file', f.mode, f.bytes.length), f.bytes);
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** Names of every shape the writer must handle, from a seeded generator. */
function names(count: number, seed: number): string[] {
  const rand = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const segment = () => {
    const len = pick([1, 2, 7, 30, 99, 100, 101, 120, 155, 156, 200]);
    const alphabet = rand() < 0.15 ? 'aéü日ß-_.' : 'abcdefghijklmnopqrstuvwxyz0123456789-_.';
    let s = '';
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
    return s.replace(/^\.+/, 'x');
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const depth = pick([1, 1, 2, 3, 5, 12, 40]);
    out.push(Array.from({ length: depth }, segment).join('/'));
  }
  return out;
}

describe("mk's tar writer", () => {
  const t = tempDir('mk-tar-writer-');
  afterAll(() => t.cleanup());

  it('writes the header tar-stream wrote, for every shape of name, mode and size', async () => {
    const sizes = [0, 1, 511, 512, 513, 8 * 1024 ** 3 - 1, 8 * 1024 ** 3, 9 * 1024 ** 3 + 7, 2 ** 40 + 3];
    const modes = [0o644, 0o755, 0o600, 0];
    const all = names(600, 25);
    for (const [i, name] of all.entries()) {
      const type = i % 7 === 0 ? 'directory' : 'file';
      const mode = modes[i % modes.length]!;
      const size = type === 'directory' ? 0 : sizes[i % sizes.length]!;
      const mine = tarHeader(name, type, mode, size);
      expect(mine.equals(await tarStreamHeader(name, type, mode, size)), `${type} ${JSON.stringify(name)} mode ${mode.toString(8)} size ${size}`).toBe(true);
      expect(tarHeaderSize(name), name).toBe(mine.length);
    }
  });

  it('writes the packs tar-stream wrote', async () => {
    for (const seed of [1, 2, 3]) {
      const rand = rng(seed);
      const files = [...new Set(names(40, seed + 100))].sort().map((name, i) => ({ name, mode: i % 5 ? 0o644 : 0o755, bytes: randomBytesFrom(rand, Math.floor(rand() * 3000)) }));
      const cacheDir = join(t.dir, `cache-${seed}`);
      const { digest } = await buildPackFromMemory(files, openCacheStore(cacheDir));
      const out = join(cacheDir, 'blobs', 'sha256', digest.slice(7));
      expect(readFileSync(out).equals(await tarStreamTar(files)), `seed ${seed}`).toBe(true);
    }
  });

  it('pads entries to the block and ends with two zero blocks', () => {
    expect([0, 1, 511, 512, 513].map((n) => tarPadding(n).length)).toEqual([0, 511, 1, 0, 511]);
    expect(TAR_END.length).toBe(1024);
    expect(TAR_END.every((b) => b === 0)).toBe(true);
  });
});
