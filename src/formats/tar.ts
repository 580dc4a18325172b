import tar from 'tar-stream';
import { MkError, UnsafePathError } from '../errors/index.js';
import { cleanEntryName } from './stored-path.js';

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
