import { createHmac } from 'node:crypto';
import { request } from 'undici';
import type { NotifyTarget } from '../repo/config.js';
import { isLoopbackHost } from '../stores/registry/reference.js';

/** How one event went to one target. `to` is the URL's origin only: webhook paths often hold tokens. */
export interface Delivery {
  to: string;
  format: NotifyTarget['format'];
  delivered: boolean;
  attempts: number;
  /** The last HTTP status received. */
  status?: number;
  /** Why it was not delivered (the last attempt's error or answer). */
  problem?: string;
  /** Said even when delivered: the secret was left out, and why. */
  warning?: string;
}

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);
const MAX_WAIT_MS = 30_000;

/** How long a `Retry-After` (seconds or an HTTP date) asks to wait, bounded. */
function retryAfter(v: string | string[] | undefined, fallback: number): number {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return fallback;
  const secs = Number(s);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(s) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_WAIT_MS) : fallback;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * POSTs `body` (JSON) to the target: a bounded time per attempt, retried on network errors and
 * 408/425/429/5xx answers with backoff (or the server's Retry-After), never thrown: the result
 * says what happened. With a secret (from the environment variable the target names), it goes in
 * the target's header (default `Authorization: Bearer …`) and signs the body
 * (`X-Mk-Signature-256: sha256=<HMAC-SHA256 of the body>`, as GitHub's webhooks do); never over
 * plain HTTP to another machine.
 */
export async function deliver(t: NotifyTarget, body: string, meta: { id: string; event: string; userAgent: string }): Promise<Delivery> {
  const url = new URL(t.url);
  const d: Delivery = { to: url.origin, format: t.format, delivered: false, attempts: 0 };
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': meta.userAgent,
    'x-mk-event': meta.event,
    'x-mk-delivery': meta.id,
  };
  const secret = t.secretEnv ? process.env[t.secretEnv] : undefined;
  if (t.secretEnv && !secret) d.warning = `${t.secretEnv} is not set: sent without a secret`;
  else if (secret && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) d.warning = `the secret is not sent over plain http to ${url.host} (use https)`;
  else if (secret) {
    const h = (t.header ?? 'authorization').toLowerCase();
    headers[h] = h === 'authorization' ? `Bearer ${secret}` : secret;
    headers['x-mk-signature-256'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  }
  let wait = 250;
  for (let attempt = 0; attempt <= t.retries; attempt++) {
    d.attempts = attempt + 1;
    try {
      const res = await request(url, {
        method: 'POST',
        headers,
        body,
        headersTimeout: t.timeoutMs,
        bodyTimeout: t.timeoutMs,
        signal: AbortSignal.timeout(t.timeoutMs),
      });
      await res.body.dump().catch(() => undefined);
      d.status = res.statusCode;
      if (res.statusCode >= 200 && res.statusCode < 300) {
        d.delivered = true;
        delete d.problem; // an earlier attempt's
        return d;
      }
      d.problem = `answered ${res.statusCode}`;
      if (!RETRYABLE.has(res.statusCode)) return d;
      wait = retryAfter(res.headers['retry-after'], wait);
    } catch (e) {
      const err = e as Error & { code?: string };
      d.problem =
        ['TimeoutError', 'AbortError'].includes(err.name) || ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_ABORTED'].includes(err.code ?? '')
          ? `no answer within ${t.timeoutMs / 1000} s`
          : (err.code ?? err.message);
    }
    if (attempt < t.retries) {
      await sleep(wait);
      wait = Math.min(wait * 2, MAX_WAIT_MS);
    }
  }
  return d;
}
