import type { MkError } from '../../errors/index.js';
import { Authorizer } from './auth/authorizer.js';
import { errorFromResponse, parseErrorBody, RegistryError, RegistryProtocolError } from './errors.js';
import { header, headerValues, parseLocation, readBody, readText, type HttpBody, type HttpMethod, type HttpResponse, type HttpTransport } from './http.js';
import { parseRetryAfter, withRetry, type RetryPolicy } from './retry.js';
import type { AnswerDeadline, Watch } from './deadline.js';

export interface ClientOptions {
  /** host[:port] */
  host: string;
  repository: string;
  base: URL;
  http: HttpTransport;
  auth: Authorizer;
  retry: RetryPolicy;
  userAgent: string;
  /** The command's allowance for hosts that do not answer (shared by its stores). */
  deadline: AnswerDeadline;
  onRetry?: (info: RetryInfo) => void;
}

/** Told to `onRetry` before a retry; `error` is the message of what failed (never holds credentials). */
export interface RetryInfo {
  what: string;
  attempt: number;
  delayMs: number;
  error: string;
}

export interface ClientRequest {
  method: HttpMethod;
  /** Path under /v2/<repository>/, e.g. `blobs/sha256:…`; or give `url`. */
  path?: string;
  url?: URL;
  headers?: Record<string, string>;
  /** Called for each send, so a body can be replayed (after a 401, or on a retry). */
  body?: () => HttpBody;
  scopes: string[];
  /** What is being done, for messages: "push blob sha256:… to host/repo". */
  what: string;
  /** Statuses returned to the caller; any other becomes a typed error. */
  ok: number[];
  /** Retry transient failures of this one request (default true). */
  retry?: boolean;
  signal?: AbortSignal;
}

/**
 * One registry repository's HTTP client: adds auth (answering 401 challenges once per
 * attempt), retries what is safe to retry, and turns unexpected answers into typed errors.
 */
export class RegistryClient {
  readonly host: string;
  readonly repository: string;
  readonly base: URL;
  readonly http: HttpTransport;
  readonly auth: Authorizer;
  readonly retry: RetryPolicy;
  readonly deadline: AnswerDeadline;
  private readonly userAgent: string;
  private readonly onRetry?: (info: RetryInfo) => void;

  constructor(o: ClientOptions) {
    this.host = o.host;
    this.repository = o.repository;
    this.base = o.base;
    this.http = o.http;
    this.auth = o.auth;
    this.retry = o.retry;
    this.deadline = o.deadline;
    this.userAgent = o.userAgent;
    this.onRetry = o.onRetry;
  }

  /** `host/repository`, for messages. */
  get name(): string {
    return `${this.host}/${this.repository}`;
  }

  url(path: string): URL {
    return new URL(`/v2/${this.repository}/${path}`, this.base);
  }

  async request(req: ClientRequest): Promise<HttpResponse> {
    return this.retrying(req, (signal, w) => this.attempt(req, signal, w));
  }

  /**
   * Sends a request and reads its whole body (at most `limit` bytes) and hands both to
   * `use`, retrying all of it: a body that breaks off, or that `use` finds cut short (a
   * retriable error), is asked for again within the same retry budget as the request.
   */
  async requestBody<T>(req: ClientRequest, limit: number, tooLarge: () => MkError, use: (res: HttpResponse, body: Buffer) => T): Promise<T> {
    return this.retrying(req, async (signal, w) => {
      const res = await this.attempt(req, signal, w);
      return use(res, await readBody(res, req.what, limit, tooLarge));
    });
  }

  /**
   * Runs one request with its retries, all under the command's deadline for this host: the
   * signal each try gets aborts when the host has sent nothing for the whole allowance.
   */
  private async retrying<T>(req: ClientRequest, once: (signal: AbortSignal, w: Watch) => Promise<T>): Promise<T> {
    const w = this.deadline.watch(this.host, req.what);
    const signal = req.signal ? AbortSignal.any([req.signal, w.signal]) : w.signal;
    try {
      if (req.retry === false) return await once(signal, w);
      return await withRetry(this.retry, () => once(signal, w), {
        signal,
        onRetry: (e, delayMs, attempt) => {
          // A wait the registry asked for (Retry-After) is an answer, not silence.
          if (e instanceof RegistryError && e.retryAfterMs !== undefined) w.heard(Date.now() + delayMs);
          this.notifyRetry(req.what, attempt, delayMs, e);
        },
      });
    } finally {
      w.done();
    }
  }

  notifyRetry(what: string, attempt: number, delayMs: number, e: unknown): void {
    this.onRetry?.({ what, attempt, delayMs, error: e instanceof Error ? e.message : String(e) });
  }

  private async attempt(req: ClientRequest, signal: AbortSignal, w: Watch): Promise<HttpResponse> {
    const url = req.url ?? this.url(req.path ?? '');
    let auth = await this.auth.header(req.scopes, signal);
    for (let answered401 = false; ; answered401 = true) {
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...(req.headers ?? {}) };
      if (auth) headers.authorization = auth;
      const res = await this.http.send({ method: req.method, url, headers, body: heardWhileSent(req.body?.() ?? null, w), signal }, req.what);
      w.heard();
      if (req.ok.includes(res.status)) return res;
      if (res.status === 401 && !answered401) {
        const challenge = headerValues(res.headers, 'www-authenticate').join(', ');
        const text = await readText(res.body);
        const next = challenge ? await this.auth.unauthorized(challenge, req.scopes, auth, signal) : undefined;
        if (next !== undefined) {
          auth = next;
          continue;
        }
        throw await this.failure(req, res, text);
      }
      throw await this.failure(req, res);
    }
  }

  private async failure(req: ClientRequest, res: HttpResponse, knownText?: string): Promise<RegistryError> {
    const text = knownText ?? (req.method === 'HEAD' ? (await res.body.dump().catch(() => undefined), '') : await readText(res.body));
    let hint: string | undefined;
    if (res.status === 401) {
      const hasCred = await this.auth.hasCredential().catch(() => false);
      hint = hasCred
        ? `the credentials for ${this.host} were refused; log in again with 'mk login ${this.host}'`
        : `${this.host} requires authentication: run 'mk login ${this.host}' (or 'docker login'), or set MK_REGISTRY_USERNAME and MK_REGISTRY_PASSWORD`;
    }
    return errorFromResponse({
      what: req.what,
      host: this.host,
      status: res.status,
      body: parseErrorBody(text),
      retryAfterMs: parseRetryAfter(header(res.headers, 'retry-after')),
      hint,
    });
  }

  /**
   * The Location of an upload answer, resolved against the request URL and checked: it must
   * stay on the registry's host and scheme (no https→http downgrade).
   */
  location(res: HttpResponse, what: string): URL {
    const loc = header(res.headers, 'location');
    if (!loc) throw new RegistryProtocolError(`${what}: the registry answered ${res.status} without a Location`, { status: res.status, retriable: true });
    const url = parseLocation(loc, res.url, what);
    if (url.host !== this.base.host || (this.base.protocol === 'https:' && url.protocol !== 'https:')) {
      throw new RegistryProtocolError(`${what}: the registry sent an upload Location on another host or scheme (${url.protocol}//${url.host}); refusing it`);
    }
    return url;
  }
}

/** A streamed request body: each chunk the connection takes is progress, not silence (a large upload gets no answer until it is whole). */
function heardWhileSent(body: HttpBody, w: Watch): HttpBody {
  if (body === null || typeof body === 'string' || body instanceof Uint8Array) return body;
  return (async function* () {
    for await (const c of body) {
      w.heard();
      yield c;
    }
  })();
}
