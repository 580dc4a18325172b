/**
 * The one place mk throws a plain Error: a condition that holds unless mk itself is wrong.
 * The CLI reports it as an internal error (exit 70, "this is a bug in mk"). Everything a user,
 * a file or a registry can cause is an MkError with a code instead (lint enforces it).
 */
export function invariant(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`invariant failed: ${what}`);
}
