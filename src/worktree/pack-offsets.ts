import { missingParents } from './pack.js';

/** Where a file's bytes lie inside a pack: [start, start + size). */
export interface PackSpan {
  name: string;
  start: number;
  size: number;
}

const BLOCK = 512;
const pad = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/**
 * The bytes a tar header takes in a pack, exactly as the pack writer (tar-stream, see
 * writePack in pack.ts) emits it for `name` with mk's fixed metadata: one 512-byte ustar
 * block when the name fits (at most 100 bytes, or split at a '/' into a prefix of at most 155
 * and a rest of at most 100, all ASCII); otherwise a PAX record (`path=`) first: its own
 * header block, the record padded to 512, then the entry's header block.
 */
export function headerBytes(name: string): number {
  if (ustarFits(name)) return BLOCK;
  return BLOCK + pad(Buffer.byteLength(paxRecord(' path=' + name + '\n'))) + BLOCK;
}

function ustarFits(full: string): boolean {
  let name = full;
  let prefix = '';
  if (Buffer.byteLength(name) !== name.length) return false; // not ASCII: tar-stream writes PAX
  while (name.length > 100) {
    const i = name.indexOf('/');
    if (i === -1) return false;
    prefix += prefix ? '/' + name.slice(0, i) : name.slice(0, i);
    name = name.slice(i + 1);
  }
  return name.length <= 100 && prefix.length <= 155;
}

/** A PAX record: its own length in decimal, then the text (as tar-stream's addLength). */
function paxRecord(text: string): string {
  const len = Buffer.byteLength(text);
  let digits = Math.floor(Math.log(len) / Math.log(10)) + 1;
  if (len + digits >= Math.pow(10, digits)) digits++;
  return `${len + digits}${text}`;
}

/**
 * The span of every file of a pack written by mk from `files` (in the writer's order: sorted
 * by entry name), derived as the writer lays them out: before each file, the folder entries
 * of its parents not emitted yet (a header each, no body), then its header, its bytes, and
 * padding to 512. Nothing extra is recorded anywhere: the file list alone gives the offsets.
 * A pack written otherwise (another tool) gives other offsets; callers verify the bytes read
 * against the file's digest and fall back to reading the whole pack.
 */
export function packSpans(files: Array<{ name: string; size: number }>): PackSpan[] {
  const seen = new Set<string>();
  const out: PackSpan[] = [];
  let at = 0;
  for (const f of files) {
    for (const d of missingParents(f.name, seen)) at += headerBytes(d);
    at += headerBytes(f.name);
    out.push({ name: f.name, start: at, size: f.size });
    at += pad(f.size);
  }
  return out;
}

/** The end of the pack after `files`: the last entry, then two zero blocks (tar-stream's end-of-tar). */
export function packSize(files: Array<{ name: string; size: number }>): number {
  const spans = packSpans(files);
  const last = spans[spans.length - 1];
  return (last ? last.start + pad(last.size) : 0) + 2 * BLOCK;
}

/**
 * Groups spans into ranges to read: spans closer than `gap` bytes share one request (the
 * headers and padding between them are read and dropped).
 */
export function coalesce(spans: PackSpan[], gap: number): Array<{ start: number; end: number; spans: PackSpan[] }> {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const out: Array<{ start: number; end: number; spans: PackSpan[] }> = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start - last.end <= gap) {
      last.end = Math.max(last.end, s.start + s.size);
      last.spans.push(s);
    } else out.push({ start: s.start, end: s.start + s.size, spans: [s] });
  }
  return out;
}
