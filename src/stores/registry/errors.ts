import { DigestMismatchError, MkError, type ErrorCode } from '../../errors/index.js';

/**
 * Errors raised while talking to an OCI registry. Each carries the HTTP status and the OCI
 * error code when the registry gave them, says in one line what failed, and tells callers
 * whether trying again may help (`retriable`). Messages are built only from the operation,
 * the registry host, the repository, digests, status codes and the registry's own error
 * text: never from request headers, so a credential cannot leak into them.
 */
export interface RegistryErrorInfo {
  status?: number;
  ociCode?: string;
  retriable?: boolean;
  /** For 429/503 answers with Retry-After: how long the registry asked to wait. */
  retryAfterMs?: number;
  hint?: string;
  cause?: unknown;
}

export class RegistryError extends MkError {
  readonly status: number | undefined;
  readonly ociCode: string | undefined;
  readonly retriable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, info: RegistryErrorInfo = {}, code: ErrorCode = 'EREGISTRY') {
    super(code, message, {
      hint: info.hint,
      cause: info.cause,
      data: { status: info.status, ociCode: info.ociCode, retriable: info.retriable ?? false },
    });
    this.status = info.status;
    this.ociCode = info.ociCode;
    this.retriable = info.retriable ?? false;
    this.retryAfterMs = info.retryAfterMs;
  }
}

/** 401/403: missing, wrong or insufficient credentials. Never retriable. */
export class RegistryAuthError extends RegistryError {
  constructor(message: string, info: RegistryErrorInfo = {}) {
    super(message, { ...info, retriable: false }, 'EAUTH');
  }
}

/** 404: the repository, blob, manifest or tag does not exist. Same code as the local store's NotFoundError. */
export class RegistryNotFoundError extends RegistryError {
  constructor(message: string, info: RegistryErrorInfo = {}) {
    super(message, { ...info, status: info.status ?? 404, retriable: false }, 'ENOTFOUND');
  }
}

/** 429: too many requests. Retriable after `retryAfterMs` when the registry said so. */
export class RegistryRateLimitError extends RegistryError {
  constructor(message: string, info: RegistryErrorInfo = {}) {
    super(message, { ...info, status: 429, retriable: info.retriable ?? true }, 'ERATELIMIT');
  }
}

/** 408 and 5xx: the registry (or a proxy before it) failed. Retriable. */
export class RegistryServerError extends RegistryError {
  constructor(message: string, info: RegistryErrorInfo = {}) {
    super(message, { ...info, retriable: info.retriable ?? true }, 'EREGISTRY');
  }
}

/** The connection failed, was reset, or timed out. Retriable unless it is a TLS verification failure. */
export class RegistryNetworkError extends RegistryError {
  constructor(message: string, info: RegistryErrorInfo = {}) {
    super(message, { ...info, retriable: info.retriable ?? true }, 'ENETWORK');
  }
}

/** The registry answered something a conforming registry must not (bad Content-Range, no Location, unsafe redirect, ...). */
export class RegistryProtocolError extends RegistryError {
  constructor(message: string, info: RegistryErrorInfo = {}) {
    super(message, { ...info, retriable: info.retriable ?? false, hint: info.hint ?? PROTOCOL_HINT }, 'EPROTOCOL');
  }
}

const PROTOCOL_HINT = 'the registry, or a proxy in front of it, does not follow the OCI distribution API here; check its configuration and version, or tell its operator';

/** Plain HTTP (or an unverified TLS peer) to a host that is not loopback, without `insecure`. */
export class InsecureRegistryError extends RegistryError {
  constructor(host: string) {
    super(
      `refusing plain HTTP to ${host}: only loopback registries may be used without TLS`,
      {
        hint: 'use https, or set insecure: true (--insecure) if you trust the network to this registry',
      },
      'EINSECURE',
    );
  }
}

/** Bad `oci://` reference, repository name or tag. */
export class RegistryReferenceError extends RegistryError {
  constructor(message: string, hint?: string) {
    super(message, { hint }, 'EUSAGE');
  }
}

const SERVED_HINT = 'the registry served bytes that do not match the digest and nothing was kept; try again, and if it persists push the content again from a good copy';

/**
 * Bytes that do not match their digest, with a hint that fits where they came from: the
 * registry (served) or the local source of a push. Same code (EDIGEST) as the store's own.
 */
export class RegistryDigestError extends DigestMismatchError {
  override readonly hint: string | undefined;

  constructor(what: string, expected: string, actual: string, hint: string) {
    super(what, expected, actual);
    this.hint = hint;
  }

  static fromRegistry(what: string, expected: string, actual: string): RegistryDigestError {
    return new RegistryDigestError(what, expected, actual, SERVED_HINT);
  }

  /** Re-labels a DigestMismatchError (from verifying()) as bytes served by the registry. */
  static served(e: DigestMismatchError): RegistryDigestError {
    const d = e.data as { expected: string; actual: string };
    const err = new RegistryDigestError('', d.expected, d.actual, SERVED_HINT);
    err.message = e.message;
    return err;
  }

  static source(what: string, expected: string, actual: string): RegistryDigestError {
    return new RegistryDigestError(what, expected, actual, 'the local content changed or is corrupt: nothing was uploaded under its digest; check the file and add it again');
  }
}

export function isRetriable(e: unknown): boolean {
  return e instanceof RegistryError && e.retriable;
}

/** What a registry error body says, parsed defensively (JSON `errors[]`, or text, or nothing). */
export interface RegistryErrorBody {
  code?: string;
  message?: string;
}

export function parseErrorBody(text: string): RegistryErrorBody {
  if (!text) return {};
  try {
    const j = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = Array.isArray(j.errors) ? j.errors[0] : undefined;
    if (first) {
      return {
        code: typeof first.code === 'string' ? oneLine(first.code, 64) : undefined,
        message: typeof first.message === 'string' ? oneLine(first.message) : undefined,
      };
    }
  } catch {
    /* not JSON */
  }
  const line = oneLine(text);
  return line ? { message: line } : {};
}

/** Collapses text to one short line. */
export function oneLine(s: string, max = 200): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

export interface ResponseContext {
  /** What was being done, e.g. "push blob sha256:1a2b3c4d5e6f to 127.0.0.1:5000/data". */
  what: string;
  /** host[:port] of the registry, for hints. */
  host: string;
  status: number;
  body: RegistryErrorBody;
  retryAfterMs?: number;
  /** Overrides the default hint for the status. */
  hint?: string;
}

/** Turns a non-success HTTP answer into the matching typed error. */
export function errorFromResponse(ctx: ResponseContext): RegistryError {
  const { status, body } = ctx;
  const said = [body.code, body.message].filter(Boolean).join(': ');
  const msg = `${ctx.what}: registry answered ${status}${said ? ` (${said})` : ''}`;
  const info: RegistryErrorInfo = { status, ociCode: body.code, retryAfterMs: ctx.retryAfterMs };
  const hint = (fallback: string | undefined): string | undefined => ctx.hint ?? hintForCode(body.code) ?? fallback;
  if (status === 401) {
    return new RegistryAuthError(msg, { ...info, hint: hint(loginHint(ctx.host)) });
  }
  if (status === 403) {
    return new RegistryAuthError(msg, { ...info, hint: hint(`the credentials for ${ctx.host} lack permission for this repository; check the account's access`) });
  }
  if (status === 404) return new RegistryNotFoundError(msg, { ...info, hint: hint(undefined) });
  if (status === 429) {
    const wait = ctx.retryAfterMs === undefined ? '' : ` (it asked to wait ${Math.ceil(ctx.retryAfterMs / 1000)}s)`;
    return new RegistryRateLimitError(msg, { ...info, hint: hint(`the registry is rate-limiting requests${wait}; try again later or lower the concurrency`) });
  }
  if (status === 408 || status >= 500) {
    return new RegistryServerError(msg, { ...info, hint: hint('the registry failed; it was retried with backoff. Try again later') });
  }
  return new RegistryError(msg, { ...info, hint: hint(undefined) });
}

export function loginHint(host: string): string {
  return `run 'mk login ${host}' (or 'docker login ${host}'), or set MK_REGISTRY_USERNAME and MK_REGISTRY_PASSWORD`;
}

/**
 * Removes every occurrence of the given secrets from a text (for text that comes from
 * outside, e.g. a credential helper's stderr).
 */
export function redact(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 3) out = out.split(s).join('***');
  }
  return out;
}

const CODE_HINTS: Record<string, string> = {
  MANIFEST_BLOB_UNKNOWN: 'push the config and every layer blob before the manifest',
  MANIFEST_INVALID: 'the registry rejected the manifest; manifests must be valid JSON of the declared media type and under 4 MiB',
  DIGEST_INVALID: 'the registry received other bytes than were sent: the network or a proxy changed them on the way; try again',
  SIZE_INVALID: 'the bytes sent did not match the declared size; verify the local copy',
  NAME_INVALID: 'use a valid repository name: lowercase letters, digits and . _ - separators',
  TAG_INVALID: 'a tag is 1-128 characters of [A-Za-z0-9_.-] and cannot start with . or -',
  BLOB_UNKNOWN: 'the repository does not hold this blob: push it first (or check the repository name)',
  MANIFEST_UNKNOWN: 'the repository does not hold this manifest or tag',
  NAME_UNKNOWN: 'the repository does not exist on this registry (yet): check its name, or push to create it',
  BLOB_UPLOAD_INVALID: 'the upload session expired or was invalidated; run the push again',
  BLOB_UPLOAD_UNKNOWN: 'the upload session expired or was invalidated; run the push again',
  UNSUPPORTED: 'the registry does not support this operation (deletes may be disabled)',
  DENIED: 'the account lacks permission for this repository',
};

/** An actionable hint for an OCI error code, if there is one. */
export function hintForCode(code: string | undefined): string | undefined {
  return code ? CODE_HINTS[code] : undefined;
}
