import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { MkError } from '../../errors/index.js';
import { RegistryError, RegistryNetworkError, RegistryProtocolError } from './errors.js';
import { isLoopbackHost } from './reference.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type HttpBody = Uint8Array | string | AsyncIterable<Uint8Array> | null;

export interface HttpRequest {
  method: HttpMethod;
  url: URL;
  headers?: Record<string, string>;
  body?: HttpBody;
  signal?: AbortSignal;
  /** Redirects to follow (GET and HEAD only). Default 5. */
  maxRedirects?: number;
  /** Called with each redirect target before it is followed; throws to refuse it. */
  checkRedirect?: (to: URL) => void;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered, after redirects. */
  url: URL;
}

export interface TransportOptions {
  /** Skip TLS certificate verification (and allow plain HTTP to any host). */
  insecure?: boolean;
  /** A PEM bundle of extra trusted CA certificates (added to Node's defaults). */
  caFile?: string;
  /** Connections per origin. Default 8. */
  connections?: number;
  connectTimeoutMs?: number;
  /** Longest wait for response headers. Default 60 s. */
  headersTimeoutMs?: number;
  /** Longest silence while a body streams. Default 60 s. */
  bodyTimeoutMs?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Error codes after which the same request may succeed if sent again. */
const TRANSIENT = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

const TLS = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

/**
 * HTTP over one undici Agent (a pool per origin). Follows redirects for GET and HEAD,
 * dropping Authorization whenever the redirect leaves the origin, and refusing https→http
 * downgrades to non-loopback hosts. Turns connection failures into RegistryNetworkError.
 */
export class HttpTransport {
  readonly dispatcher: Agent;
  private readonly insecure: boolean;
  private readonly headersTimeout: number;
  private readonly bodyTimeout: number;

  constructor(opts: TransportOptions = {}) {
    this.insecure = opts.insecure ?? false;
    this.headersTimeout = opts.headersTimeoutMs ?? 60_000;
    this.bodyTimeout = opts.bodyTimeoutMs ?? 60_000;
    const ca = opts.caFile ? [...rootCertificates, readCa(opts.caFile)] : undefined;
    this.dispatcher = new Agent({
      connections: opts.connections ?? 8,
      keepAliveTimeout: 10_000,
      connect: {
        timeout: opts.connectTimeoutMs ?? 15_000,
        rejectUnauthorized: !this.insecure,
        ...(ca ? { ca } : {}),
      },
    });
  }

  /** Sends a request; `what` names the operation in error messages. */
  async send(req: HttpRequest, what: string): Promise<HttpResponse> {
    let url = req.url;
    const headers = { ...(req.headers ?? {}) };
    const follows = req.method === 'GET' || req.method === 'HEAD';
    const max = follows ? (req.maxRedirects ?? 5) : 0;
    for (let redirects = max; ; redirects--) {
      const res = await this.once(req.method, url, headers, req.body ?? null, req.signal, what);
      if (!REDIRECTS.has(res.status) || !follows) return res;
      const loc = header(res.headers, 'location');
      await res.body.dump().catch(() => undefined);
      if (redirects <= 0) {
        throw new RegistryProtocolError(`${what}: more than ${max} redirects (the last one from ${url.host})`, {
          status: res.status,
          hint: 'the registry, or a proxy in front of it, redirects in a loop; check its configuration',
        });
      }
      if (!loc) throw new RegistryProtocolError(`${what}: redirect ${res.status} without a Location`, { status: res.status });
      const next = parseLocation(loc, url, what);
      this.checkRedirect(url, next, what);
      req.checkRedirect?.(next);
      if (next.origin !== url.origin) {
        for (const k of Object.keys(headers)) if (k.toLowerCase() === 'authorization') delete headers[k];
      }
      url = next;
    }
  }

  private checkRedirect(from: URL, to: URL, what: string): void {
    if (to.protocol !== 'http:' && to.protocol !== 'https:') {
      throw new RegistryProtocolError(`${what}: refusing redirect to a ${to.protocol} URL`);
    }
    if (from.protocol === 'https:' && to.protocol === 'http:' && !this.insecure && !isLoopbackHost(to.host)) {
      throw new RegistryProtocolError(`${what}: refusing redirect from https to plain http (${to.host})`);
    }
  }

  private async once(method: HttpMethod, url: URL, headers: Record<string, string>, body: HttpBody, signal: AbortSignal | undefined, what: string): Promise<HttpResponse> {
    try {
      const res = await request(url, {
        dispatcher: this.dispatcher,
        method,
        headers,
        body: toBody(body),
        signal,
        headersTimeout: this.headersTimeout,
        bodyTimeout: this.bodyTimeout,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body, url };
    } catch (e) {
      throw networkError(e, what, url, signal);
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function toBody(body: HttpBody): string | Uint8Array | Readable | null {
  if (body === null || typeof body === 'string' || body instanceof Uint8Array) return body;
  return Readable.from(body, { objectMode: false });
}

/** Maps an error from undici (or from a request body) to what callers should see. */
export function networkError(e: unknown, what: string, url: URL, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  if (e instanceof MkError) return e;
  // An error thrown by a request body generator arrives as is, or as the cause.
  const cause = (e as { cause?: unknown })?.cause;
  if (cause instanceof MkError) return cause;
  const err = e as NodeJS.ErrnoException;
  const code = err?.code ?? (cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  const reason = err?.message ?? String(e);
  if (TLS.test(code) || /certificate|wrong version number|SSL routines/i.test(reason)) {
    return new RegistryNetworkError(`${what}: TLS handshake with ${url.host} failed: ${reason}`, {
      retriable: false,
      cause: e,
      hint:
        url.protocol === 'https:'
          ? 'if the registry uses a private CA, pass its bundle with caFile (--ca-file); use insecure only for test registries'
          : 'the registry may expect TLS; use an https:// registry',
    });
  }
  if (code === 'ENOTFOUND') {
    return new RegistryNetworkError(`${what}: cannot resolve host ${url.hostname}`, { retriable: false, cause: e, hint: 'check the registry host name' });
  }
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
    return new RegistryError(`${what}: the content changed while it was being sent`, { cause: e, hint: 'make sure nothing writes to the file during the upload, then try again' });
  }
  const transient = TRANSIENT.has(code) || /other side closed|socket hang up|terminated/i.test(reason);
  const detail = code && !reason.includes(code) ? `${reason} (${code})` : reason;
  return new RegistryNetworkError(`${what}: connection to ${url.host} failed: ${detail}`, {
    retriable: transient,
    cause: e,
    hint: transient ? 'the connection was retried; check the network and that the registry is up' : undefined,
  });
}

/** Drops a response body without reading it (no 'error' event escapes). */
export function discard(body: Dispatcher.ResponseData['body']): void {
  if (body.destroyed) return;
  body.on('error', () => undefined);
  body.destroy();
}

/** One header value as a string (first of a list). */
export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Every value of a header (list or comma-joined strings are returned as given). */
export function headerValues(h: IncomingHttpHeaders, name: string): string[] {
  const v = h[name.toLowerCase()];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Reads the start of a (small, error) body as text, at most `limit` bytes, dropping the rest; never throws. */
export async function readText(body: Dispatcher.ResponseData['body'], limit = 64 * 1024): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of body as AsyncIterable<Buffer>) {
      parts.push(c.subarray(0, limit - n));
      n += c.length;
      if (n >= limit) break;
    }
  } catch {
    /* a broken error body is no reason to hide the status */
  }
  discard(body);
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Reads a whole answer body that mk needs intact (a manifest, a tag list, a token), at
 * most `limit` bytes. A body that breaks off (the connection drops, or fewer bytes come
 * than Content-Length said) is a retriable RegistryNetworkError, like a dropped download;
 * a larger one fails at once with `tooLarge()` (before reading, when Content-Length says so).
 */
export async function readBody(res: HttpResponse, what: string, limit: number, tooLarge: () => MkError): Promise<Buffer> {
  const declared = header(res.headers, 'content-length');
  const expected = declared !== undefined && /^\s*\d+\s*$/.test(declared) ? Number(declared) : undefined;
  if (expected !== undefined && expected > limit) {
    discard(res.body);
    throw tooLarge();
  }
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.body as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > limit) throw tooLarge();
      parts.push(c);
    }
  } catch (e) {
    discard(res.body);
    if (e instanceof MkError) throw e;
    const err = networkError(e, what, res.url);
    if (!(err instanceof RegistryNetworkError)) throw err;
    throw cutOff(what, n, expected, e);
  }
  if (expected !== undefined && n < expected) throw cutOff(what, n, expected);
  return Buffer.concat(parts, n);
}

function cutOff(what: string, got: number, expected: number | undefined, cause?: unknown): RegistryNetworkError {
  const why = cause === undefined ? '' : ` (${cause instanceof Error ? cause.message : String(cause as string)})`;
  return new RegistryNetworkError(`${what}: the answer broke off after ${got}${expected === undefined ? '' : ` of ${expected}`} bytes${why}`, {
    retriable: true,
    cause,
    hint: 'the connection to the registry (or a proxy in front of it) dropped; it was retried. Check the network and try again',
  });
}

/**
 * Parses an answer body that must be a JSON object. Anything else (not JSON, cut short, an
 * HTML page from a proxy, `null`, an array) is a RegistryProtocolError, retriable when
 * asked: a body whose digest nobody checked may just have been cut short.
 */
export function jsonObject(body: Buffer | string, what: string, opts: { retriable?: boolean; hint?: string } = {}): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    throw new RegistryProtocolError(`${what}: the answer is not valid JSON${body.length === 0 ? ' (it is empty)' : ''}`, { retriable: opts.retriable, hint: opts.hint });
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) {
    throw new RegistryProtocolError(`${what}: the answer is JSON but not an object`, { retriable: false, hint: opts.hint });
  }
  return j as Record<string, unknown>;
}

/** A Location (or Link) header resolved against the request URL; one that is not a URL is a RegistryProtocolError. */
export function parseLocation(loc: string, base: URL, what: string, name = 'Location'): URL {
  try {
    return new URL(loc, base);
  } catch {
    throw new RegistryProtocolError(`${what}: the registry sent a ${name} that is not a URL`);
  }
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new RegistryError(`cannot read the CA bundle ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { hint: "check the remote's ca: setting (a PEM file of CA certificates)" });
  }
}

export function isLoopbackUrl(url: URL): boolean {
  return isLoopbackHost(url.host);
}
