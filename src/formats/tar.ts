import tar from 'tar-stream';
import { MkError, UnsafePathError } from '../errors/index.js';
import { cleanEntryName } from './stored-path.js';

// ---------------------------------------------------------------- the writer
//
// mk's own deterministic tar writer, for packs and ModelKit layers: their digests are part of
// every commit's ModelKit (`mk verify` compares them) and `mk get` computes byte ranges inside
// packs from file lists alone (tarHeaderSize), so the bytes must never depend on a dependency's
// release. It writes exactly what tar-stream 3.x wrote for mk's fixed metadata (packs and
// ModelKits made before it keep their digests; test/unit/formats/golden.test.ts and
// tar-writer.test.ts hold it to that):
// - one 512-byte ustar header: name (split at a '/' into a prefix of at most 155 bytes and a
//   name of at most 100 when longer), mode, uid/gid 0, size, mtime 0 as zero-padded octal
//   followed by a space, typeflag '0' (file) or '5' (folder), magic "ustar\0" and version
//   "00", empty uname/gname, devmajor/devminor 0, and the checksum as six octal digits and a
//   space (its eighth byte NUL);
// - a name that is not ASCII or does not fit: a PAX header first (typeflag 'x', named
//   'PaxHeader', holding one `path=` record), its record padded to 512, then the entry's
//   header, also named 'PaxHeader';
// - the bytes, zero-padded to 512; at the end, two zero blocks.

/** The size of a tar block. */
export const TAR_BLOCK = 512;
/** The end of a tar: two zero blocks. */
export const TAR_END: Buffer = Buffer.alloc(2 * TAR_BLOCK);
const ZEROS = Buffer.alloc(TAR_BLOCK);

/** The zero bytes that pad `size` bytes of an entry to the next block (empty on the grid). */
export function tarPadding(size: number): Buffer {
  const r = size % TAR_BLOCK;
  return r === 0 ? ZEROS.subarray(0, 0) : ZEROS.subarray(0, TAR_BLOCK - r);
}

/** A number as `digits` zero-padded octal digits and a space; all sevens when it does not fit. */
function octal(n: number, digits: number): string {
  const s = n.toString(8);
  return s.length > digits ? '7'.repeat(digits) + ' ' : s.padStart(digits, '0') + ' ';
}

/** The ustar name and prefix of `full`, or undefined when only PAX can hold it (not ASCII, a segment over 100, a prefix over 155). */
function ustarName(full: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(full) !== full.length) return undefined;
  let name = full;
  let prefix = '';
  while (name.length > 100) {
    const i = name.indexOf('/');
    if (i === -1) return undefined;
    prefix += prefix ? '/' + name.slice(0, i) : name.slice(0, i);
    name = name.slice(i + 1);
  }
  return prefix.length > 155 ? undefined : { name, prefix };
}

/** A PAX `path=` record: its own length in decimal first (the length counts its own digits). */
function paxPath(name: string): Buffer {
  const text = ' path=' + name + '\n';
  const len = Buffer.byteLength(text);
  let digits = String(len).length;
  if (len + digits >= 10 ** digits) digits++;
  return Buffer.from(`${len + digits}${text}`, 'utf8');
}

const TYPEFLAG = { file: '0', directory: '5', pax: 'x' } as const;

function ustarBlock(name: string, prefix: string, type: keyof typeof TYPEFLAG, mode: number, size: number): Buffer {
  const b = Buffer.alloc(TAR_BLOCK);
  b.write(name, 0, 'ascii');
  b.write(octal(mode & 0o7777, 6), 100, 'ascii');
  b.write(octal(0, 6), 108, 'ascii'); // uid
  b.write(octal(0, 6), 116, 'ascii'); // gid
  if (size.toString(8).length > 11) {
    // Over 8 GiB: base-256, big-endian, first byte 0x80.
    b[124] = 0x80;
    let n = size;
    for (let i = 11; i > 0; i--) {
      b[124 + i] = n % 256;
      n = Math.floor(n / 256);
    }
  } else b.write(octal(size, 11), 124, 'ascii');
  b.write(octal(0, 11), 136, 'ascii'); // mtime
  b.write(TYPEFLAG[type], 156, 'ascii');
  b.write('ustar\u000000', 257, 'ascii');
  b.write(octal(0, 6), 329, 'ascii'); // devmajor
  b.write(octal(0, 6), 337, 'ascii'); // devminor
  if (prefix) b.write(prefix, 345, 'ascii');
  let sum = 8 * 0x20; // the checksum field counts as spaces
  for (let i = 0; i < 148; i++) sum += b[i]!;
  for (let i = 156; i < TAR_BLOCK; i++) sum += b[i]!;
  b.write(octal(sum, 6), 148, 'ascii');
  return b;
}

/**
 * The header of one entry (a folder has size 0): one ustar block, or a PAX header, its padded
 * record and the entry's block. Mode 0 means the default (644 for files, 755 for folders).
 */
export function tarHeader(name: string, type: 'file' | 'directory', mode: number, size: number): Buffer {
  const m = mode || (type === 'directory' ? 0o755 : 0o644);
  const fit = ustarName(name);
  if (fit) return ustarBlock(fit.name, fit.prefix, type, m, size);
  const record = paxPath(name);
  return Buffer.concat([ustarBlock('PaxHeader', '', 'pax', m, record.length), record, tarPadding(record.length), ustarBlock('PaxHeader', '', type, m, size)]);
}

/** The bytes tarHeader takes for `name`, without building it (mk get's byte ranges inside packs). */
export function tarHeaderSize(name: string): number {
  if (ustarName(name)) return TAR_BLOCK;
  const record = Buffer.byteLength(paxPath(name));
  return TAR_BLOCK + Math.ceil(record / TAR_BLOCK) * TAR_BLOCK + TAR_BLOCK;
}

/** The parent folders of `name` not yet in `seen` (which they join), outermost first: kit needs them before the files. */
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

// ---------------------------------------------------------------- the reader

/** One entry of a tar, its name already checked and cleaned. */
export interface TarEntry {
  /** The clean relative path ('.' for the root). */
  name: string;
  type: 'file' | 'directory';
  mode: number;
  size: number;
  /** The file's bytes (consume it, or it is skipped). */
  body: AsyncIterable<Buffer>;
}

/**
 * The one tar reader, for packs (checkout) and ModelKit layers (unpack): every entry name
 * goes through the one path rule (cleanEntryName: inside, relative, no `.git`), only regular
 * files and folders are accepted (a symlink, hard link or device is refused: it could lead a
 * later entry outside), and entries are handed to `onEntry` one at a time. `src` is read with
 * back-pressure; when it is a verifying stream, a digest mismatch at its end fails the read
 * after the last entry. A tar that cannot be parsed is one typed error naming `what`.
 */
export async function readTar(src: AsyncIterable<Uint8Array>, what: string, onEntry: (e: TarEntry) => Promise<void>): Promise<void> {
  const ex = tar.extract();
  // Where the entries seen so far say the archive's bytes end (the data of the last one,
  // padded to its 512-byte block): past that come only the end marker and padding.
  let declaredEnd = 0;
  ex.on('entry', (h: tar.Header & { byteOffset?: number }) => {
    declaredEnd = Math.max(declaredEnd, (h.byteOffset ?? 0) + Math.ceil((h.size ?? 0) / 512) * 512);
  });
  const feeding = feed(src, ex, what, () => declaredEnd);
  feeding.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
  try {
    for await (const entry of ex) {
      const h = entry.header;
      const name = cleanEntryName(h.name);
      if (h.type !== 'file' && h.type !== 'directory') throw new UnsafePathError(h.name, `unsupported entry type '${h.type}' in ${what}`);
      let consumed = false;
      const body = (async function* () {
        consumed = true;
        yield* entry as AsyncIterable<Buffer>;
      })();
      await onEntry({ name, type: h.type, mode: (h.mode ?? 0o644) & 0o777, size: h.size ?? 0, body });
      if (!consumed) entry.resume();
    }
    await feeding;
  } catch (e) {
    ex.destroy();
    await feeding.catch(() => undefined);
    if (e instanceof MkError || (e as NodeJS.ErrnoException).code) throw e;
    throw new MkError('ETAR', `${what} is not a readable tar (${(e as Error).message})`, { hint: 'it is damaged, or was not written as an OCI tar layer' });
  }
}

/**
 * How far a tar may go on past the end its entries declare: the end marker (two zero blocks),
 * the padding of the last record (tar pads to 10 KiB, some writers to more), and what the
 * extractor may not have parsed yet (a pax header of up to 1 MiB, a chunk in flight). A layer
 * that goes on further (gigabytes of zeros behind a small tar: a decompression bomb) is
 * refused there, not read to its end.
 */
export const TAR_TAIL = 4 << 20;

/** Feeds a stream into the extractor; an error of the stream (a digest mismatch) destroys the extractor with it. */
async function feed(src: AsyncIterable<Uint8Array>, ex: ReturnType<typeof tar.extract>, what: string, declaredEnd: () => number): Promise<void> {
  let fed = 0;
  try {
    for await (const chunk of src) {
      // Stop feeding once the reader gave up (a bad entry destroys the extractor): waiting for
      // a 'drain' that never comes would leave Node nothing to do, and it would exit mid-read.
      if (ex.destroyed) return;
      fed += chunk.length;
      if (!ex.write(chunk as Buffer)) await drainedOrClosed(ex);
      if (fed - declaredEnd() > TAR_TAIL)
        throw new MkError('ETAR', `${what} goes on for more than ${TAR_TAIL >> 20} MiB past the end its tar entries declare: a decompression bomb or a damaged layer`, {
          hint: 'nothing was written; get it again from its source',
        });
    }
    if (!ex.destroyed) (ex as unknown as { end(): void }).end();
  } catch (e) {
    ex.destroy(e as Error);
    throw e;
  }
}

function drainedOrClosed(stream: import('node:events').EventEmitter & { destroyed?: boolean }): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
