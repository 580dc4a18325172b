import { writeSync, writevSync } from 'node:fs';
import { MkError } from '../../errors/index.js';
import { invariant } from '../../errors/invariant.js';
import { afterWritten } from '../../util/buffers.js';

/**
 * Git's pkt-line framing (gitprotocol-common(5)): a 4-digit hex length that counts itself,
 * then the payload; `0000` is a flush packet. Payloads are at most 65516 bytes.
 */
export const MAX_PKT_DATA = 65516;
const FLUSH = Buffer.from('0000');
/** Content is handed to the pipe in writes of about this many bytes. */
const WRITE_BATCH = 1 << 20;

function protocolError(what: string): MkError {
  return new MkError('EPROTOCOL', `git filter protocol: ${what}`, { hint: 'git and mk disagree on the filter protocol; check that filter.mk.process runs this mk' });
}

/**
 * Reads packets from a byte stream (git's pipe). Content is handed out as views into the
 * chunks read, never copied; only headers spanning two chunks are joined.
 */
export class PktReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(input: AsyncIterable<Buffer | string>) {
    this.it = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** Ensures `n` bytes are buffered; false when the stream ended first. */
  private async need(n: number): Promise<boolean> {
    while (this.buffered < n) {
      if (this.ended) return false;
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return this.buffered >= n;
      }
      const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      if (b.length) {
        this.chunks.push(b);
        this.buffered += b.length;
      }
    }
    return true;
  }

  /** Takes `n` buffered bytes as one or more views. */
  private take(n: number): Buffer[] {
    const out: Buffer[] = [];
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      if (c.length <= n) {
        out.push(c);
        this.chunks.shift();
        n -= c.length;
      } else {
        out.push(c.subarray(0, n));
        this.chunks[0] = c.subarray(n);
        n = 0;
      }
    }
    return out;
  }

  /** The next packet's payload as views, null for a flush packet, undefined at the end of the stream. */
  async packetParts(): Promise<Buffer[] | null | undefined> {
    if (!(await this.need(4))) {
      if (this.buffered === 0) return undefined;
      throw protocolError('the stream ended inside a packet header');
    }
    const head = Buffer.concat(this.take(4)).toString('latin1');
    if (!/^[0-9a-f]{4}$/.test(head)) throw protocolError(`bad packet header ${JSON.stringify(head)}`);
    const len = parseInt(head, 16);
    if (len === 0) return null;
    if (len < 4 || len > MAX_PKT_DATA + 4) throw protocolError(`bad packet length ${len}`);
    if (!(await this.need(len - 4))) throw protocolError('the stream ended inside a packet');
    return this.take(len - 4);
  }

  /** A text packet (its trailing newline removed), null for flush, undefined at the end. */
  async text(): Promise<string | null | undefined> {
    const p = await this.packetParts();
    if (p === null || p === undefined) return p;
    return Buffer.concat(p).toString('utf8').replace(/\n$/, '');
  }

  /** `key=value` lines up to the next flush packet; undefined at the end of the stream. */
  async keyValues(): Promise<Map<string, string> | undefined> {
    const out = new Map<string, string>();
    for (;;) {
      const t = await this.text();
      if (t === undefined) {
        if (out.size === 0) return undefined;
        throw protocolError('the stream ended inside a list');
      }
      if (t === null) return out;
      const eq = t.indexOf('=');
      if (eq < 0) throw protocolError(`expected key=value, got ${JSON.stringify(t.slice(0, 80))}`);
      out.set(t.slice(0, eq), t.slice(eq + 1));
    }
  }

  /** The lines of a list up to the next flush packet (the handshake). */
  async lines(): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const t = await this.text();
      if (t === undefined) throw protocolError('the stream ended inside a list');
      if (t === null) return out;
      out.push(t);
    }
  }

  /** Content packets up to the next flush, as views (no copies). */
  async *content(): AsyncIterable<Buffer> {
    for (;;) {
      const p = await this.packetParts();
      if (p === undefined) throw protocolError('the stream ended inside content');
      if (p === null) return;
      yield* p;
    }
  }
}

/** Encodes one packet (tests and small answers). */
export function encodePacket(payload: Buffer | string): Buffer {
  const b = typeof payload === 'string' ? Buffer.from(payload) : payload;
  invariant(b.length <= MAX_PKT_DATA, `packet payload of at most ${MAX_PKT_DATA} bytes`);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
}

/** Writes packets to a file descriptor (git's pipe), blocking: git reads our answer only after it sent its request. */
export class PktWriter {
  constructor(private readonly fd: number) {}

  private write(b: Buffer): void {
    let off = 0;
    while (off < b.length) {
      try {
        off += writeSync(this.fd, b, off, b.length - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
      }
    }
  }

  text(line: string): void {
    this.write(encodePacket(line + '\n'));
  }

  flush(): void {
    this.write(FLUSH);
  }

  /** Content of any length, split into packets, written in batches (one system call for many packets). */
  data(b: Uint8Array): void {
    const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    let batch: Buffer[] = [];
    let bytes = 0;
    for (let off = 0; off < buf.length; off += MAX_PKT_DATA) {
      const part = buf.subarray(off, Math.min(off + MAX_PKT_DATA, buf.length));
      batch.push(Buffer.from((part.length + 4).toString(16).padStart(4, '0')), part);
      bytes += part.length + 4;
      if (bytes >= WRITE_BATCH) {
        this.writev(batch);
        batch = [];
        bytes = 0;
      }
    }
    if (batch.length) this.writev(batch);
  }

  private writev(parts: Buffer[]): void {
    let rest = parts;
    while (rest.length) {
      let n: number;
      try {
        n = writevSync(this.fd, rest);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
        continue;
      }
      rest = afterWritten(rest, n);
    }
  }

  /** A status list (`status=...`), terminated by a flush packet. */
  status(s: 'success' | 'error' | 'abort' | 'delayed'): void {
    this.text(`status=${s}`);
    this.flush();
  }
}
