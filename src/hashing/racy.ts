/**
 * "Racy" stat data (git's term): a file changed within the current timestamp tick can change
 * again without its mtime, ctime or size showing it, so its stat data cannot yet vouch for
 * its bytes. How long that lasts depends on the filesystem's timestamps: sub-second ones
 * tick with the kernel clock (at most 10 ms on Linux), so 100 ms is ample; whole-second
 * ones (FAT keeps 2 s) need 2 s.
 */
export function racyWindowMs(st: { mtimeMs: number; ctimeMs: number }): number {
  return st.mtimeMs % 1000 !== 0 || st.ctimeMs % 1000 !== 0 ? 100 : 2000;
}

/** True while a file's stat data, taken at `at`, cannot vouch for its bytes (see racyWindowMs). */
export function isRacy(st: { mtimeMs: number; ctimeMs: number }, at: number): boolean {
  return at - Math.max(st.mtimeMs, st.ctimeMs) < racyWindowMs(st);
}
