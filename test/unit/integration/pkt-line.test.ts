/**
 * Git's pkt-line framing, as mk's filter process reads and writes it: lengths count their
 * own four bytes, `0000` is a flush, payloads are at most 65516 bytes, and content split
 * across reads of any size comes out whole.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePacket, MAX_PKT_DATA, PktReader, PktWriter } from '../../../src/integration/filter/pkt-line.js';
import { tempDir } from '../../support/repo.js';

const tmp = tempDir('mk-pkt-');
afterAll(() => tmp.cleanup());

async function* chunked(b: Buffer, size: number): AsyncIterable<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

describe('pkt-line', () => {
  it('encodes lengths that count the header, and flush as 0000', () => {
    expect(encodePacket('git-filter-client\n').toString()).toBe('0016git-filter-client\n');
    expect(encodePacket('').toString()).toBe('0004');
    expect(() => encodePacket(Buffer.alloc(MAX_PKT_DATA + 1))).toThrow(/invariant failed: packet payload of at most/);
  });

  it('reads lists, key=value requests and content split across reads of any size', async () => {
    const content = Buffer.alloc(200_000);
    for (let i = 0; i < content.length; i++) content[i] = (i * 7) & 0xff;
    const parts: Buffer[] = [encodePacket('git-filter-client\n'), encodePacket('version=2\n'), Buffer.from('0000')];
    parts.push(encodePacket('command=clean\n'), encodePacket('pathname=a b/c.onnx\n'), Buffer.from('0000'));
    for (let i = 0; i < content.length; i += MAX_PKT_DATA) parts.push(encodePacket(content.subarray(i, i + MAX_PKT_DATA)));
    parts.push(Buffer.from('0000'));
    const stream = Buffer.concat(parts);
    for (const size of [5, 4096, 65536, stream.length]) {
      const r = new PktReader(chunked(stream, size));
      expect(await r.lines()).toEqual(['git-filter-client', 'version=2']);
      const req = await r.keyValues();
      expect(req?.get('command')).toBe('clean');
      expect(req?.get('pathname')).toBe('a b/c.onnx');
      const got: Buffer[] = [];
      for await (const c of r.content()) got.push(c);
      expect(Buffer.concat(got).equals(content)).toBe(true);
      expect(await r.keyValues()).toBeUndefined(); // the end of the stream
    }
  });

  it('refuses a bad header, a length below 4 or above the maximum, and a stream cut inside a packet', async () => {
    await expect(new PktReader(chunked(Buffer.from('zzzz'), 4)).lines()).rejects.toThrow(/bad packet header/);
    await expect(new PktReader(chunked(Buffer.from('0002'), 4)).lines()).rejects.toThrow(/bad packet length/);
    await expect(new PktReader(chunked(Buffer.from('fff5'), 4)).lines()).rejects.toThrow(/bad packet length/);
    await expect(new PktReader(chunked(Buffer.from('0010abc'), 4)).lines()).rejects.toThrow(/ended inside a packet/);
  });

  it('writes content in packets of at most 65516 bytes, then the status lists', async () => {
    const file = join(tmp.dir, 'out');
    const fd = openSync(file, 'w');
    const w = new PktWriter(fd);
    const content = Buffer.alloc(MAX_PKT_DATA * 2 + 10, 1);
    w.text('status=success');
    w.flush();
    w.data(content);
    w.flush();
    w.flush();
    closeSync(fd);
    const r = new PktReader(chunked(readFileSync(file), 1000));
    expect((await r.keyValues())?.get('status')).toBe('success');
    const sizes: number[] = [];
    for (;;) {
      const p = await r.packetParts();
      if (p === null || p === undefined) break;
      sizes.push(p.reduce((n, b) => n + b.length, 0));
    }
    expect(sizes).toEqual([MAX_PKT_DATA, MAX_PKT_DATA, 10]);
    expect((await r.keyValues())?.size).toBe(0);
  });
});
