import type { HttpTransport } from '../http.js';
import { header, jsonObject, readBody, readText } from '../http.js';
import { errorFromResponse, loginHint, parseErrorBody, RegistryAuthError, RegistryProtocolError } from '../errors.js';
import { parseRetryAfter } from '../retry.js';
import type { Credential } from './credentials.js';

export interface Token {
  token: string;
  /** ms since the epoch after which the token is not used again. */
  expiresAt: number;
}

export interface TokenRequest {
  realm: URL;
  service?: string;
  scopes: string[];
  credential?: Credential;
  /** host[:port] of the registry, for messages. */
  registry: string;
  userAgent: string;
  signal?: AbortSignal;
  /** Checks each redirect of the token request before it is followed (throws to refuse it). */
  checkRedirect?: (to: URL) => void;
}

/** Token answers larger than this are refused. */
const MAX_TOKEN_ANSWER = 1 << 20;

/**
 * Gets a bearer token from the registry's token server (distribution token.md, oauth.md):
 * with an identity token, an OAuth2 `refresh_token` POST (falling back to GET on 404/405);
 * otherwise `GET realm?service=…&scope=…&scope=…`, with Basic auth when there is a
 * username and password, anonymous otherwise.
 */
export async function fetchToken(http: HttpTransport, req: TokenRequest): Promise<Token> {
  const what = `get a token for ${req.registry} from ${req.realm.host}`;
  const c = req.credential;
  if (c?.identityToken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.identityToken, client_id: 'mk' });
    if (req.service) form.set('service', req.service);
    if (req.scopes.length) form.set('scope', req.scopes.join(' '));
    const res = await http.send(
      {
        method: 'POST',
        url: req.realm,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': req.userAgent },
        body: form.toString(),
        signal: req.signal,
      },
      what,
    );
    if (res.status !== 404 && res.status !== 405) return readToken(res, what, req);
    await res.body.dump().catch(() => undefined);
  }
  const url = new URL(req.realm);
  if (req.service) url.searchParams.set('service', req.service);
  for (const s of req.scopes) url.searchParams.append('scope', s);
  const headers: Record<string, string> = { 'user-agent': req.userAgent };
  if (c?.username && c.password !== undefined) {
    headers.authorization = 'Basic ' + Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64');
  }
  const res = await http.send({ method: 'GET', url, headers, signal: req.signal, checkRedirect: req.checkRedirect }, what);
  return readToken(res, what, req);
}

async function readToken(res: Awaited<ReturnType<HttpTransport['send']>>, what: string, req: TokenRequest): Promise<Token> {
  if (res.status === 401 || res.status === 403) {
    await readText(res.body);
    const anon = !req.credential;
    throw new RegistryAuthError(`${what}: the token server ${anon ? 'requires credentials' : 'rejected the credentials'} (${res.status})`, {
      status: res.status,
      hint: loginHint(req.registry),
    });
  }
  if (res.status !== 200) {
    const text = await readText(res.body);
    // Token servers may echo the request in their errors: report the status only.
    throw errorFromResponse({ what, host: req.registry, status: res.status, body: { code: parseErrorBody(text).code }, retryAfterMs: parseRetryAfter(header(res.headers, 'retry-after')) });
  }
  const body = await readBody(res, what, MAX_TOKEN_ANSWER, () => new RegistryProtocolError(`${what}: the token server's answer is larger than ${MAX_TOKEN_ANSWER} bytes`, { hint: TOKEN_HINT }));
  // Not JSON may be an answer cut short: retried with the request that needed the token.
  const j = jsonObject(body, what, { retriable: true, hint: TOKEN_HINT });
  const token = typeof j.access_token === 'string' && j.access_token ? j.access_token : typeof j.token === 'string' ? j.token : '';
  if (!token) throw new RegistryProtocolError(`${what}: the token server's answer holds no token`, { hint: TOKEN_HINT });
  // It goes into an Authorization header: printable ASCII only.
  if (!/^[\x21-\x7e]+$/.test(token)) throw new RegistryProtocolError(`${what}: the token server's answer holds a token that cannot be sent in a header`, { hint: TOKEN_HINT });
  const ttl = typeof j.expires_in === 'number' && j.expires_in > 0 ? j.expires_in : 60;
  // Keep a margin so a token never expires in flight.
  return { token, expiresAt: Date.now() + Math.max(ttl * 0.9, ttl - 30) * 1000 };
}

const TOKEN_HINT = "the token server, or a proxy in front of it, answered something that is not a token; check the registry's auth.token.realm";
