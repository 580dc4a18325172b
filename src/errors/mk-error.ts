import { ERROR_CODES, type ErrorCode } from './codes.js';

/**
 * Every error mk raises on purpose is an MkError: a stable `code` from the closed list in
 * codes.ts (callers switch on it), a message that says what happened, and a `hint` that says
 * what to do about it. The exit status is the code's. The CLI prints `mk: <message>` and, when
 * present, `hint: <hint>` (or, with --json, `{"error": {"code", "message", "hint"}}`).
 */
export class MkError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly data: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; data?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = ERROR_CODES[code].exit;
    this.data = opts.data ?? {};
  }
}

export function isMkError(e: unknown, code?: ErrorCode): e is MkError {
  return e instanceof MkError && (code === undefined || e.code === code);
}
