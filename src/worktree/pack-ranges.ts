import { createHash, type Hash } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FetchOptions, Fetcher } from '../content/storage.js';
import { MediaType } from '../content/media-types.js';
import { coalesce, packSpans, type PackSpan } from './pack-offsets.js';
import { tmpName } from '../util/fs.js';

/** A file wanted out of a pack: its entry name, where it goes, and what it must hash to. */
export interface RangeWant {
  name: string;
  dest: string;
  mode: number;
  digest: string;
  size: number;
}

export interface RangeReadResult {
  /** Files written, verified. */
  placed: RangeWant[];
  /** Files whose bytes did not match at the derived offset (a pack mk did not lay out): to be read from the whole pack. */
  unmatched: RangeWant[];
  /** Range requests made. */
  requests: number;
  /** Bytes received, those dropped by a registry that ignored Range included. */
  bytes: number;
}

/** Spans closer than this are read in one request (the headers and padding between are dropped). */
const GAP = 64 * 1024;

/**
 * Reads only the wanted files' bytes out of a pack the local cache lacks, from `from` (a
 * registry: HTTP Range; an OCI layout: a read at the offset). The offsets come from the pack's
 * full file list (`all`: entry names and sizes, in pack order), as mk's pack writer lays them
 * out. Each file is hashed as it is written to a temp file beside its destination and renamed
 * into place only if it matches its digest; one that does not is returned in `unmatched`.
 */
export async function readPackRanges(from: Fetcher, pack: { digest: string; size: number }, all: Array<{ name: string; size: number }>, wants: RangeWant[]): Promise<RangeReadResult> {
  const byName = new Map(wants.map((w) => [w.name, w]));
  const spans = packSpans(all).filter((s) => byName.has(s.name));
  const result: RangeReadResult = { placed: [], unmatched: [], requests: 0, bytes: 0 };
  const desc = { mediaType: MediaType.octet, digest: pack.digest, size: pack.size };
  for (const group of coalesce(spans, GAP)) {
    if (group.end > pack.size) {
      // The file list does not fit this pack: not laid out by mk's writer.
      result.unmatched.push(...group.spans.map((s) => byName.get(s.name)!));
      continue;
    }
    // A registry store reports the bytes it dropped before the range (one that ignores Range).
    const opts: FetchOptions & { onSkipped: (n: number) => void } = { range: { start: group.start, end: group.end }, onSkipped: (n) => (result.bytes += n) };
    const body = group.end > group.start ? await from.fetch(desc, opts) : [];
    if (group.end > group.start) result.requests++;
    const writer = new SpanWriter(group.spans, group.start, byName, result);
    try {
      for await (const c of body) {
        result.bytes += c.length;
        writer.write(Buffer.from(c.buffer, c.byteOffset, c.length));
      }
      writer.finish();
    } finally {
      writer.abort();
    }
  }
  return result;
}

/** Writes the spans of one range read as its bytes stream past (offsets from the pack's start). */
class SpanWriter {
  private i = 0;
  private pos: number;
  private fd: number | undefined;
  private tmp = '';
  private hash: Hash | undefined;
  private written = 0;

  constructor(
    private readonly spans: PackSpan[],
    start: number,
    private readonly byName: Map<string, RangeWant>,
    private readonly result: RangeReadResult,
  ) {
    this.pos = start;
  }

  write(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && this.i < this.spans.length) {
      const s = this.spans[this.i]!;
      if (this.pos < s.start) {
        const skip = Math.min(s.start - this.pos, chunk.length - off);
        off += skip;
        this.pos += skip;
        continue;
      }
      if (this.fd === undefined) this.open(s);
      const n = Math.min(s.start + s.size - this.pos, chunk.length - off);
      const part = chunk.subarray(off, off + n);
      this.hash!.update(part);
      let w = 0;
      while (w < part.length) w += writeSync(this.fd!, part, w, part.length - w);
      this.written += n;
      off += n;
      this.pos += n;
      if (this.pos === s.start + s.size) this.close(s);
    }
  }

  /** Empty files at the end of the range have no bytes to wait for. */
  finish(): void {
    while (this.i < this.spans.length) {
      const s = this.spans[this.i]!;
      if (s.size !== 0 || this.pos < s.start) break;
      this.open(s);
      this.close(s);
    }
    // A body that ended early leaves the rest unmatched (read again from the whole pack).
    for (; this.i < this.spans.length; this.i++) this.result.unmatched.push(this.byName.get(this.spans[this.i]!.name)!);
  }

  abort(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      rmSync(this.tmp, { force: true });
      this.fd = undefined;
    }
  }

  private open(s: PackSpan): void {
    const want = this.byName.get(s.name)!;
    mkdirSync(dirname(want.dest), { recursive: true });
    this.tmp = tmpName(want.dest);
    this.fd = openSync(this.tmp, 'wx', 0o600);
    this.hash = createHash('sha256');
    this.written = 0;
  }

  private close(s: PackSpan): void {
    const want = this.byName.get(s.name)!;
    closeSync(this.fd!);
    this.fd = undefined;
    const got = 'sha256:' + this.hash!.digest('hex');
    if (got === want.digest && this.written === want.size) {
      chmodSync(this.tmp, want.mode);
      renameSync(this.tmp, want.dest);
      this.result.placed.push(want);
    } else {
      rmSync(this.tmp, { force: true });
      this.result.unmatched.push(want);
    }
    this.i++;
  }
}
