/**
 * Every error mk raises on purpose is an MkError: a stable `code` callers switch on,
 * a message that says what happened, and a `hint` that says what to do about it.
 * The CLI prints `mk: <message>` and, when present, `hint: <hint>`, then exits non-zero.
 */
export class MkError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly data: Record<string, unknown>;

  constructor(code: string, message: string, opts: { hint?: string; exitCode?: number; data?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 1;
    this.data = opts.data ?? {};
  }
}

export function isMkError(e: unknown, code?: string): e is MkError {
  return e instanceof MkError && (code === undefined || e.code === code);
}
