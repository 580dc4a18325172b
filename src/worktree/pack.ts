import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Ingest } from '../content/storage.js';
import { MkError } from '../errors/index.js';
import { missingParents, TAR_END, tarHeader, tarPadding } from '../formats/tar.js';

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
  /** The cache did not hold the pack before. */
  written: boolean;
  /** sha256 of each input file, in input order. */
  fileDigests: string[];
}

export { missingParents };

/**
 * Writes a deterministic tar of `files` (already sorted by name) into the cache, reading each
 * file once: the same pass hashes every file, and the cache's ingest hashes the tar as it is
 * written and names it. Parent directories are emitted before their files, as kit unpack
 * needs. Small files are read with one synchronous call each and the tar is written in 1 MiB
 * batches: per-file promise and syscall overhead, not bandwidth, is what costs with tens of
 * thousands of small files.
 */
export async function buildPack(files: PackInput[], cache: Pick<Ingest, 'ingest'>): Promise<PackResult> {
  return writePack(
    files.length,
    (i) => {
      const f = files[i]!;
      const buf = readFileSync(f.abs);
      if (buf.length !== f.size)
        throw new MkError('ECHANGED', `${f.name} changed while mk was reading it (${f.size} bytes listed, ${buf.length} read)`, {
          hint: 'run the command again once the file is no longer being written',
        });
      return { name: f.name, mode: f.mode, buf };
    },
    cache,
  );
}

/** A file whose bytes are already in memory (read out of other packs: a merge re-packing files). */
export interface MemoryPackInput {
  name: string;
  mode: number;
  bytes: Buffer;
}

/** The same deterministic tar as buildPack, from bytes in memory: the same files give the same pack. */
export async function buildPackFromMemory(files: MemoryPackInput[], cache: Pick<Ingest, 'ingest'>): Promise<PackResult> {
  return writePack(files.length, (i) => ({ name: files[i]!.name, mode: files[i]!.mode, buf: files[i]!.bytes }), cache);
}

async function writePack(count: number, read: (i: number) => { name: string; mode: number; buf: Buffer }, cache: Pick<Ingest, 'ingest'>): Promise<PackResult> {
  // The cache's ingest hashes the tar as it is written (its synchronous writes: this writer batches its own).
  const out = await cache.ingest('pack');
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pendingBytes === 0) return;
    out.writeSync(pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes));
    pending = [];
    pendingBytes = 0;
  };
  const push = (c: Buffer) => {
    if (c.length === 0) return;
    pending.push(c);
    pendingBytes += c.length;
  };
  const fileDigests: string[] = [];
  const seen = new Set<string>();
  try {
    for (let i = 0; i < count; i++) {
      const f = read(i);
      const buf = f.buf;
      fileDigests.push('sha256:' + createHash('sha256').update(buf).digest('hex'));
      for (const d of missingParents(f.name, seen)) push(tarHeader(d, 'directory', 0o755, 0));
      push(tarHeader(f.name, 'file', f.mode, buf.length));
      push(buf);
      push(tarPadding(buf.length));
      if (pendingBytes >= 1 << 20) flush();
    }
    push(TAR_END);
    flush();
  } catch (e) {
    await out.abort();
    throw e;
  }
  const { digest, size, written } = await out.commit();
  return { digest, size, written, fileDigests };
}
