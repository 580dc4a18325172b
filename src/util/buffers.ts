/** What is left of `bufs` once the first `n` bytes were written (views, never copies): for writev loops. */
export function afterWritten(bufs: Buffer[], n: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const b of bufs) {
    if (n >= b.length) {
      n -= b.length;
      continue;
    }
    rest.push(n ? b.subarray(n) : b);
    n = 0;
  }
  return rest;
}
