import { Decompress } from 'fzstd';

/**
 * zstd decompression in bounded memory, on fzstd (pure JavaScript: Node 20 has no zstd of its
 * own). fzstd's streaming API decodes every block of a pushed chunk at once and hands them all
 * over before it returns, so a small chunk of a bomb (a 4-byte RLE block stands for 128 KiB)
 * would become gigabytes in one call. So the compressed stream is cut here at its frame and
 * block boundaries (RFC 8878, section 3.1) and fzstd gets one block per push: each push yields
 * at most one block (128 KiB), and the next is decoded only when the reader asks for more.
 * The cutting also refuses what no decoder should take: a window larger than zstd's own
 * default limit, an oversized block, a reserved block type, bytes after the last frame.
 */

/** The largest window accepted: zstd's own default decoding limit (window log 27, 128 MiB), which `zstd -d` applies too. */
export const MAX_WINDOW = 1 << 27;
/** Block_Maximum_Size: no block, compressed or not, regenerates more than this. */
const MAX_BLOCK = 128 << 10;

const ZSTD_MAGIC = 0xfd2fb528;

export class ZstdFormatError extends Error {}

/** Input chunks, consumed from the front without copying more than asked. */
class Queue {
  private parts: Uint8Array[] = [];
  private first = 0; // index of the first part still holding bytes
  private head = 0; // offset into parts[first]
  length = 0;

  push(c: Uint8Array): void {
    if (!c.length) return;
    if (this.first > 64 && this.first * 2 > this.parts.length) {
      this.parts = this.parts.slice(this.first);
      this.first = 0;
    }
    this.parts.push(c);
    this.length += c.length;
  }

  /** The byte at offset i (i < length; only the first few bytes are ever asked for). */
  at(i: number): number {
    let k = this.first;
    i += this.head;
    while (i >= this.parts[k]!.length) i -= this.parts[k++]!.length;
    return this.parts[k]![i]!;
  }

  /** Takes n bytes (n <= length), as one array (a view when they lie in one chunk). */
  take(n: number): Uint8Array {
    const p = this.parts[this.first]!;
    if (p.length - this.head >= n) {
      const out = p.subarray(this.head, this.head + n);
      this.drop(n);
      return out;
    }
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const q = this.parts[this.first]!;
      const k = Math.min(q.length - this.head, n - off);
      out.set(q.subarray(this.head, this.head + k), off);
      off += k;
      this.drop(k);
    }
    return out;
  }

  drop(n: number): void {
    this.length -= n;
    this.head += n;
    while (this.first < this.parts.length && this.head >= this.parts[this.first]!.length) {
      this.head -= this.parts[this.first]!.length;
      this.parts[this.first++] = EMPTY;
    }
  }
}

const EMPTY = new Uint8Array(0);

type State = { at: 'frame' } | { at: 'block'; window: number; checksum: boolean } | { at: 'checksum' } | { at: 'skip'; left: number };

/**
 * Decompresses a zstd stream (one or more frames, skippable frames ignored), yielding at most
 * one block per step. Throws ZstdFormatError (or fzstd's error) on anything malformed, and on
 * a window larger than `maxWindow`.
 */
export async function* zstdBlocks(src: AsyncIterable<Uint8Array>, maxWindow = MAX_WINDOW): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  let d = new Decompress((chunk) => {
    if (chunk.length) out.push(chunk);
  });
  const q = new Queue();
  let state: State = { at: 'frame' };
  let frames = 0;

  /** Cuts the next unit off the queue when it is complete; undefined when more input is needed. */
  const next = (): Uint8Array | null | undefined => {
    switch (state.at) {
      case 'frame': {
        if (q.length < 4) return undefined;
        const magic = (q.at(0) | (q.at(1) << 8) | (q.at(2) << 16) | (q.at(3) << 24)) >>> 0;
        if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
          // A skippable frame: its bytes are dropped here, fzstd never sees them.
          if (q.length < 8) return undefined;
          const size = (q.at(4) | (q.at(5) << 8) | (q.at(6) << 16) | (q.at(7) << 24)) >>> 0;
          q.drop(8);
          state = { at: 'skip', left: size };
          return null;
        }
        if (magic !== ZSTD_MAGIC) throw new ZstdFormatError(frames ? 'bytes after the last zstd frame' : 'not a zstd frame (wrong magic number)');
        if (q.length < 5) return undefined;
        const fhd = q.at(4);
        if (fhd & 0x08) throw new ZstdFormatError('a reserved bit is set in a frame header');
        const single = (fhd >> 5) & 1;
        const dictBytes = [0, 1, 2, 4][fhd & 3]!;
        const fcsFlag = fhd >> 6;
        const fcsBytes = fcsFlag ? 1 << fcsFlag : single;
        const headerLen = 4 + 1 + (single ? 0 : 1) + dictBytes + fcsBytes;
        if (q.length < headerLen) return undefined;
        let window: number;
        if (single) {
          let fcs = 0;
          const at = 5 + dictBytes;
          for (let i = fcsBytes - 1; i >= 0; i--) fcs = fcs * 256 + q.at(at + i);
          if (fcsBytes === 2) fcs += 256;
          window = fcs;
        } else {
          const wd = q.at(5);
          const base = 2 ** (10 + (wd >> 3));
          window = base + (base / 8) * (wd & 7);
        }
        if (window > maxWindow) throw new ZstdFormatError(`its window is ${fmt(window)}, more than the ${fmt(maxWindow)} zstd itself decodes by default`);
        frames++;
        state = { at: 'block', window, checksum: ((fhd >> 2) & 1) === 1 };
        return q.take(headerLen);
      }
      case 'block': {
        if (q.length < 3) return undefined;
        const h = q.at(0) | (q.at(1) << 8) | (q.at(2) << 16);
        const last = h & 1;
        const type = (h >> 1) & 3;
        const size = h >>> 3;
        if (type === 3) throw new ZstdFormatError('a reserved block type');
        if (size > Math.min(MAX_BLOCK, Math.max(state.window, 1))) throw new ZstdFormatError(`a block of ${size} bytes, more than a block may hold`);
        const total = 3 + (type === 1 ? 1 : size);
        if (q.length < total) return undefined;
        const unit = q.take(total);
        state = last ? (state.checksum ? { at: 'checksum' } : { at: 'frame' }) : state;
        return unit;
      }
      case 'checksum': {
        if (q.length < 4) return undefined;
        state = { at: 'frame' };
        return q.take(4);
      }
      case 'skip': {
        const n = Math.min(state.left, q.length);
        q.drop(n);
        state.left -= n;
        if (state.left === 0) state = { at: 'frame' };
        return n || state.at === 'frame' ? null : undefined;
      }
    }
  };

  for await (const chunk of src) {
    q.push(chunk);
    for (;;) {
      const unit = next();
      if (unit === undefined) break;
      if (unit === null) continue;
      d.push(unit);
      while (out.length) yield out.shift()!;
      if (state.at === 'frame') {
        // A frame ended: a fresh decoder for the next one keeps fzstd's state simple.
        d.push(new Uint8Array(0), true);
        while (out.length) yield out.shift()!;
        d = new Decompress((c) => {
          if (c.length) out.push(c);
        });
      }
    }
  }
  if (q.length || state.at !== 'frame') throw new ZstdFormatError('the zstd data ends in the middle of a frame');
}

function fmt(n: number): string {
  return n >= 1 << 20 ? `${Math.round(n / (1 << 20))} MiB` : `${n} bytes`;
}
