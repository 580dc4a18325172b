import { MkError } from './mk-error.js';

/** What the machine said, for the errors a user can do something about. */
const KNOWN: Record<string, { what: string; hint: string; exit: number }> = {
  ENOSPC: { what: 'no space left on the device', hint: "free some space (for instance 'mk gc' in this or another clone), then run the command again; nothing half-written was kept", exit: 74 },
  EDQUOT: { what: 'disk quota exceeded', hint: "free some space (for instance 'mk gc'), then run the command again; nothing half-written was kept", exit: 74 },
  EROFS: { what: 'the file system is read-only', hint: 'run the command where mk may write (the repository and its cache)', exit: 74 },
  EACCES: { what: 'permission denied', hint: 'check the owner and permissions of that path (and of MK_CACHE_DIR, if set)', exit: 77 },
  EPERM: { what: 'operation not permitted', hint: 'check the owner and permissions of that path (and of MK_CACHE_DIR, if set)', exit: 77 },
  EMFILE: { what: 'too many open files', hint: "raise the limit ('ulimit -n') or lower the number of transfers at once (-j)", exit: 71 },
  ENFILE: { what: 'too many open files on the system', hint: 'close other programs, or lower the number of transfers at once (-j)', exit: 71 },
  EIO: { what: 'input/output error from the device', hint: 'the disk may be failing: check it, then run the command again', exit: 74 },
  ENAMETOOLONG: { what: 'a file name is too long for this file system', hint: 'use shorter names, or a file system that allows them', exit: 74 },
  ELOOP: { what: 'too many levels of symbolic links', hint: 'a symlink points at itself or in a circle: fix it', exit: 74 },
  EXDEV: { what: 'the cache and the work tree are on different file systems', hint: "use 'checkout.link: copy', or put MK_CACHE_DIR on the same file system", exit: 74 },
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
      exitCode: 73,
      cause: e,
    });
  }
  if (typeof code !== 'string' || !(code in KNOWN)) return undefined;
  const k = KNOWN[code]!;
  const where = err!.path ? ` (${err!.syscall ? `${err!.syscall} ` : ''}${err!.path})` : err!.syscall ? ` (${err!.syscall})` : '';
  return new MkError(code, `${k.what}${where}`, { hint: k.hint, exitCode: k.exit, cause: e });
}
