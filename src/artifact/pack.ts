import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { MkError } from '../errors/index.js';

export interface PackInput {
  /** Absolute path of the file to read. */
  abs: string;
  /** Entry name in the tar: the path from the repository root, forward slashes. */
  name: string;
  mode: number;
  /** Size seen when the file was listed: a different size when read means it is changing. */
  size: number;
}

export interface PackResult {
  digest: string;
  size: number;
  /** sha256 of each input file, in input order. */
  fileDigests: string[];
}

/** Fixed tar metadata: packs depend on names, modes and bytes only. */
const EPOCH = new Date(0);

export function tarHeader(name: string, type: 'file' | 'directory', mode: number, size: number): tar.Header {
  return { name, type, mode, size, uid: 0, gid: 0, uname: '', gname: '', mtime: EPOCH, linkname: '', devmajor: 0, devminor: 0 };
}

/** The parent directories of `name` not yet in `seen`, outermost first (kit needs them before files). */
export function missingParents(name: string, seen: Set<string>): string[] {
  const parts = name.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const d = parts.slice(0, i).join('/');
    if (!seen.has(d)) {
      seen.add(d);
      out.push(d);
    }
  }
  return out;
}

/**
 * Writes a deterministic tar of `files` (already sorted by name) to `outPath`, reading each
 * file once: the same pass hashes every file and the tar itself. Parent directories are
 * emitted before their files, as kit unpack needs. Reads run a few files ahead to keep the
 * disk busy while this thread hashes.
 */
export async function buildPack(files: PackInput[], outPath: string): Promise<PackResult> {
  const pack = tar.pack();
  const tarHash = createHash('sha256');
  let tarSize = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      tarHash.update(chunk);
      tarSize += chunk.length;
      cb(null, chunk);
    },
  });
  const done = pipeline(pack, counter, createWriteStream(outPath, { flags: 'wx', mode: 0o444 }));
  const fileDigests: string[] = [];
  const seen = new Set<string>();
  const AHEAD = 8;
  const reads: Array<Promise<Buffer>> = [];
  for (let i = 0; i < Math.min(AHEAD, files.length); i++) reads.push(readFile(files[i]!.abs));
  try {
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      const buf = await reads[i]!;
      if (i + AHEAD < files.length) reads.push(readFile(files[i + AHEAD]!.abs));
      if (buf.length !== f.size) throw new MkError('ECHANGED', `${f.name} changed while mk was reading it (${f.size} bytes listed, ${buf.length} read)`, { hint: 'run the command again once the file is no longer being written' });
      fileDigests.push('sha256:' + createHash('sha256').update(buf).digest('hex'));
      for (const d of missingParents(f.name, seen)) pack.entry(tarHeader(d, 'directory', 0o755, 0));
      pack.entry(tarHeader(f.name, 'file', f.mode, buf.length), buf);
    }
    pack.finalize();
    await done;
  } catch (e) {
    pack.destroy();
    await done.catch(() => undefined);
    await Promise.allSettled(reads);
    throw e;
  }
  return { digest: 'sha256:' + tarHash.digest('hex'), size: tarSize, fileDigests };
}
