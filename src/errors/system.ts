import type { ErrorCode } from './codes.js';
import { MkError } from './mk-error.js';

/** What the machine said, for the errors a user can do something about. */
const KNOWN: Partial<Record<ErrorCode, { what: string; hint: string }>> = {
  ENOSPC: { what: 'no space left on the device', hint: "free some space (for instance 'mk gc' in this or another clone), then run the command again; nothing half-written was kept" },
  EDQUOT: { what: 'disk quota exceeded', hint: "free some space (for instance 'mk gc'), then run the command again; nothing half-written was kept" },
  EROFS: { what: 'the file system is read-only', hint: 'run the command where mk may write (the repository and its cache)' },
  EACCES: { what: 'permission denied', hint: 'check the owner and permissions of that path (and of MK_CACHE_DIR, if set)' },
  EPERM: { what: 'operation not permitted', hint: 'check the owner and permissions of that path (and of MK_CACHE_DIR, if set)' },
  EMFILE: { what: 'too many open files', hint: "raise the limit ('ulimit -n') or lower the number of transfers at once (-j)" },
  ENFILE: { what: 'too many open files on the system', hint: 'close other programs, or lower the number of transfers at once (-j)' },
  EIO: { what: 'input/output error from the device', hint: 'the disk may be failing: check it, then run the command again' },
  ENAMETOOLONG: { what: 'a file name is too long for this file system', hint: 'use shorter names, or a file system that allows them' },
  ELOOP: { what: 'too many levels of symbolic links', hint: 'a symlink points at itself or in a circle: fix it' },
  EXDEV: { what: 'the cache and the work tree are on different file systems', hint: "use 'checkout.link: copy', or put MK_CACHE_DIR on the same file system" },
};

/**
 * A failure of the machine rather than of mk (a full disk, a read-only mount, a permission):
 * one line naming the operation and the path, and what to do. Other system errors (a file
 * that should be there and is not) stay what they are: bugs to report.
 */
export function fromSystemError(e: unknown): MkError | undefined {
  const err = e as NodeJS.ErrnoException | undefined;
  const code = err?.code;
  if ((code === 'ENOTDIR' || (code === 'EEXIST' && err!.syscall === 'mkdir')) && err!.path) {
    return new MkError('EINTHEWAY', `a file is where a folder must be (${err!.syscall} ${err!.path})`, {
      hint: 'move or remove that file, or choose another place, then run the command again',
      cause: e,
    });
  }
  const k = typeof code === 'string' && Object.hasOwn(KNOWN, code) ? KNOWN[code as ErrorCode] : undefined;
  if (!k) return undefined;
  const where = err!.path ? ` (${err!.syscall ? `${err!.syscall} ` : ''}${err!.path})` : err!.syscall ? ` (${err!.syscall})` : '';
  return new MkError(code as ErrorCode, `${k.what}${where}`, { hint: k.hint, cause: e });
}
