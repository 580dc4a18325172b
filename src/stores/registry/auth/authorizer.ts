import type { HttpTransport } from '../http.js';
import { RegistryAuthError } from '../errors.js';
import { privateAddressKind, sameHostName } from '../reference.js';
import { parseWwwAuthenticate, type Challenge } from './challenge.js';
import { isEmptyCredential, type Credential, type CredentialsProvider } from './credentials.js';
import { mergeScopes } from './scope.js';
import { fetchToken, type Token } from './token.js';

/**
 * What was learnt about each registry host: its last auth challenge and the tokens issued
 * for it, by scope set. Shareable between stores of one host; tokens are merged when
 * requested concurrently.
 */
export class AuthCache {
  readonly challenges = new Map<string, Challenge>();
  readonly tokens = new Map<string, Promise<Token>>();
}

export interface AuthorizerOptions {
  /** host[:port] */
  host: string;
  /** The registry's base URL (scheme matters for realm checks). */
  base: URL;
  http: HttpTransport;
  credentials: CredentialsProvider;
  cache?: AuthCache;
  insecure?: boolean;
  userAgent: string;
}

/**
 * Produces the Authorization header for a request. Nothing is sent until the registry
 * has asked (401 + WWW-Authenticate); after that, each request gets the header for its
 * scopes up front: Basic with the credential, or a Bearer token fetched for exactly the
 * scopes the operation needs (push asks `pull,push` at once).
 */
export class Authorizer {
  readonly cache: AuthCache;
  private credential?: Promise<Credential | undefined>;

  constructor(private readonly o: AuthorizerOptions) {
    this.cache = o.cache ?? new AuthCache();
  }

  /** True once a credential was found for the host (for messages). */
  async hasCredential(): Promise<boolean> {
    return !isEmptyCredential(await this.getCredential());
  }

  private getCredential(): Promise<Credential | undefined> {
    this.credential ??= this.o.credentials(this.o.host).catch((e: unknown) => {
      this.credential = undefined;
      throw e;
    });
    return this.credential;
  }

  /** The header for a request with these scopes, if the host has asked for auth before. */
  async header(scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    const ch = this.cache.challenges.get(this.o.host);
    if (!ch) return undefined;
    return this.headerFor(ch, scopes, signal);
  }

  /**
   * Called on a 401: records the challenge and returns a new header to try, or undefined
   * when there is nothing new to try (no credential, or the same header was refused).
   */
  async unauthorized(wwwAuthenticate: string, scopes: string[], sent: string | undefined, signal?: AbortSignal): Promise<string | undefined> {
    const all = parseWwwAuthenticate(wwwAuthenticate);
    const ch = all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
    if (!ch) return undefined;
    this.cache.challenges.set(this.o.host, ch);
    const wanted = ch.scheme === 'bearer' && ch.params.scope ? mergeScopes([...scopes, ch.params.scope]) : scopes;
    const next = await this.headerFor(ch, wanted, signal, { refused: sent ?? '', cacheAs: scopes });
    return next === sent ? undefined : next;
  }

  /**
   * `after.refused` is a header the registry just refused: a cached token is reused only if
   * it is a different one (another request refreshed it meanwhile).
   */
  private async headerFor(ch: Challenge, scopes: string[], signal: AbortSignal | undefined, after?: { refused: string; cacheAs: string[] }): Promise<string | undefined> {
    const cred = await this.getCredential();
    if (ch.scheme === 'basic') {
      if (!cred?.username || cred.password === undefined) return undefined;
      return 'Basic ' + Buffer.from(`${cred.username}:${cred.password}`, 'utf8').toString('base64');
    }
    if (ch.scheme !== 'bearer') return undefined;
    if (cred?.registryToken) return `Bearer ${cred.registryToken}`;
    const realm = this.realm(ch);
    const key = `${this.o.host}|${realm.href}|${ch.params.service ?? ''}|${mergeScopes(after?.cacheAs ?? scopes).join(' ')}`;
    const cached = this.cache.tokens.get(key);
    if (cached) {
      const t = await cached.catch(() => undefined);
      if (t && t.expiresAt > Date.now() && `Bearer ${t.token}` !== after?.refused) return `Bearer ${t.token}`;
      // Another request may have started a fresh fetch while this one waited.
      const now = this.cache.tokens.get(key);
      if (now && now !== cached) {
        const t2 = await now.catch(() => undefined);
        if (t2 && `Bearer ${t2.token}` !== after?.refused) return `Bearer ${t2.token}`;
      }
    }
    const p = fetchToken(this.o.http, {
      realm,
      service: ch.params.service,
      scopes: mergeScopes(scopes),
      credential: isEmptyCredential(cred) ? undefined : cred,
      registry: this.o.host,
      userAgent: this.o.userAgent,
      signal,
      checkRedirect: (to) => void this.checkRealm(to, 'redirect of the token request', 'to'),
    });
    this.cache.tokens.set(key, p);
    p.catch(() => this.cache.tokens.get(key) === p && this.cache.tokens.delete(key));
    return `Bearer ${(await p).token}`;
  }

  /**
   * The challenge's realm, checked: http(s) only; no plain-http realm for an https
   * registry; no realm on a loopback, private, link-local or otherwise non-public address
   * unless it is on the registry's own host (any port: a token server next to the registry
   * on the same machine is common, and that machine already gets the credentials).
   */
  private realm(ch: Challenge): URL {
    const raw = ch.params.realm;
    let url: URL;
    try {
      url = new URL(raw ?? '');
    } catch {
      throw new RegistryAuthError(`${this.o.host} asked for a bearer token without a usable realm`, { hint: REALM_HINT });
    }
    return this.checkRealm(url, 'token realm', 'on');
  }

  /** Where a token request may go (the realm, and each redirect of the token request). */
  private checkRealm(url: URL, what: string, at: 'on' | 'to'): URL {
    if (this.o.insecure) return url;
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new RegistryAuthError(`${this.o.host} sent a ${what} with unsupported scheme ${url.protocol}`, { hint: REALM_HINT });
    }
    if (this.o.base.protocol === 'https:' && url.protocol === 'http:') {
      throw new RegistryAuthError(`${this.o.host} sent a plain-http ${what} (${url.host}); refusing to send credentials there`, { hint: REALM_HINT });
    }
    const kind = privateAddressKind(url.host);
    if (kind !== undefined && !sameHostName(url.host, this.o.host) && !sameHostName(url.host, this.o.base.host)) {
      throw new RegistryAuthError(`${this.o.host} sent a ${what} ${at} ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} address (${url.host}); refusing to send credentials there`, {
        hint: `a token server on a non-public address is used only when it is on the registry's own host; if ${this.o.host} is yours, fix its auth.token.realm`,
      });
    }
    return url;
  }
}

const REALM_HINT = "the registry's token settings (auth.token.realm) are wrong, or something between mk and the registry changed its answer";
