import { missingParents, TAR_BLOCK, tarHeaderSize } from '../formats/tar.js';

/** Where a file's bytes lie inside a pack: [start, start + size). */
export interface PackSpan {
  name: string;
  start: number;
  size: number;
}

const BLOCK = TAR_BLOCK;
const pad = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

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
    for (const d of missingParents(f.name, seen)) at += tarHeaderSize(d);
    at += tarHeaderSize(f.name);
    out.push({ name: f.name, start: at, size: f.size });
    at += pad(f.size);
  }
  return out;
}

/** The end of the pack after `files`: the last entry, then two zero blocks (the end of a tar). */
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
