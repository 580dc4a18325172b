import { isRetriable, RegistryError } from './errors.js';

/**
 * How failed requests are retried: exponential backoff with jitter, capped, and a 429's
 * Retry-After honoured (up to `maxRetryAfterMs`; a longer wait fails at once instead of
 * hanging). Defaults follow oras-go: 5 tries, 250 ms doubling, 4 s cap, ±20 % jitter.
 */
export interface RetryPolicy {
  /** Attempts in total, the first included. */
  maxTries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Fraction of the delay added or removed at random (0.2 = ±20 %). */
  jitter: number;
  /** The longest Retry-After that is waited for. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxTries: 5,
  baseDelayMs: 250,
  maxDelayMs: 4000,
  jitter: 0.2,
  maxRetryAfterMs: 60_000,
};

export function retryPolicy(p: Partial<RetryPolicy> = {}): RetryPolicy {
  return { ...DEFAULT_RETRY, ...p };
}

/** Delay before attempt `attempt + 1` (attempt counts from 1), or undefined when no retry should follow. */
export function retryDelay(policy: RetryPolicy, attempt: number, err: unknown): number | undefined {
  if (attempt >= policy.maxTries || !isRetriable(err)) return undefined;
  const after = err instanceof RegistryError ? err.retryAfterMs : undefined;
  if (after !== undefined) return after <= policy.maxRetryAfterMs ? after : undefined;
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const j = exp * policy.jitter * (Math.random() * 2 - 1);
  return Math.max(0, Math.round(exp + j));
}

/** Parses Retry-After: delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, a non-retriable error is thrown, or the policy's tries
 * are spent; the last error is rethrown as is. `attempt` gets the 1-based attempt number.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  attempt: (n: number) => Promise<T>,
  opts: { signal?: AbortSignal; onRetry?: (err: unknown, delayMs: number, n: number) => void } = {},
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const delay = retryDelay(policy, n, e);
      if (delay === undefined) throw e;
      opts.onRetry?.(e, delay, n);
      await sleep(delay, opts.signal);
    }
  }
}
