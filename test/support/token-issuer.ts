/**
 * A small token server for the registry's `auth.token` (distribution docs/spec/auth/token.md).
 *
 * The signing key and a self-signed certificate are made with the `openssl` CLI; the
 * certificate is the registry's `rootcertbundle`. Tokens are JWTs (RS256 or ES256) with
 * iss, sub, aud (= service), exp, nbf, iat, jti and `access` (what was asked for and the
 * user may do). Distribution 2.8 finds the signing key from the JWT header in this order:
 * `x5c` (a certificate chain it verifies against the rootcertbundle), `jwk`, or `kid`
 * (a libtrust key id of one of the root certificates' keys). Both `x5c` and `kid` are offered.
 *
 * Users authenticate with Basic; OAuth2 POST (grant_type=password|refresh_token) is also
 * accepted. Every request is recorded for assertions.
 */
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TokenIssuerOptions {
  /** username → password */
  users?: Record<string, string>;
  /** refresh token → username (for identitytoken logins) */
  refreshTokens?: Record<string, string>;
  service?: string;
  issuer?: string;
  alg?: 'ES256' | 'RS256';
  /** How the JWT names its key. Default 'x5c'. */
  keyHeader?: 'x5c' | 'kid';
  /** Token lifetime in seconds. Default 300. */
  expiresIn?: number;
  /** Anonymous users may pull. Default false (anonymous gets no access). */
  anonymousPull?: boolean;
  /** Per-user allowed actions (default: pull, push, delete on everything). */
  allowed?: (user: string | undefined, type: string, name: string) => string[];
}

export interface TokenRequestRecord {
  method: string;
  user: string | undefined;
  service: string | null;
  scopes: string[];
  status: number;
  /** The raw Authorization header, to check what a client sent (tests only). */
  authorization: string | undefined;
}

export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string;
  requests: TokenRequestRecord[];
  /** Signs a token directly (for tests that need one). */
  issue(user: string | undefined, scopes: string[]): string;
  stop(): Promise<void>;
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/** libtrust's key id: sha256 of the DER public key, first 240 bits, base32, in 12 groups of 4. */
export function libtrustKeyId(pub: KeyObject): string {
  const der = pub.export({ type: 'spki', format: 'der' });
  const hash = createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of hash) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}

function parseScope(s: string): { type: string; name: string; actions: string[] } | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return {
    type: s.slice(0, first),
    name: s.slice(first + 1, last),
    actions: s
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

export async function startTokenIssuer(o: TokenIssuerOptions = {}): Promise<TokenIssuer> {
  const dir = mkdtempSync(join(tmpdir(), 'mk-token-'));
  const alg = o.alg ?? 'ES256';
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'root.crt');
  const newkey = alg === 'ES256' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  execFileSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=mk-test-token-issuer'], { stdio: 'ignore' });
  const key = createPrivateKey(readFileSync(keyFile));
  const certPem = readFileSync(certFile, 'utf8');
  const cert = new X509Certificate(certPem);
  const x5c = [cert.raw.toString('base64')];
  const kid = libtrustKeyId(createPublicKey(certPem));
  const service = o.service ?? 'mk-test-registry';
  const issuer = o.issuer ?? 'mk-test-issuer';
  const users = o.users ?? {};
  const requests: TokenRequestRecord[] = [];
  const allowed = o.allowed ?? ((user) => (user ? ['pull', 'push', 'delete'] : o.anonymousPull ? ['pull'] : []));

  const issue = (user: string | undefined, scopes: string[]): string => {
    const header = o.keyHeader === 'kid' ? { typ: 'JWT', alg, kid } : { typ: 'JWT', alg, x5c };
    const now = Math.floor(Date.now() / 1000);
    const access = scopes
      .flatMap((s) => s.split(' '))
      .map(parseScope)
      .filter((s): s is NonNullable<typeof s> => s !== undefined)
      .map((s) => {
        const ok = allowed(user, s.type, s.name);
        return { type: s.type, name: s.name, actions: s.actions.filter((a) => ok.includes(a) || ok.includes('*')) };
      })
      .filter((a) => a.actions.length > 0);
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp: now + (o.expiresIn ?? 300), nbf: now - 10, iat: now, jti: randomUUID(), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = alg === 'ES256' ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }) : sign('sha256', Buffer.from(input), key);
    return `${input}.${b64url(sig)}`;
  };

  const basicUser = (req: IncomingMessage): { user?: string; bad: boolean } => {
    const h = req.headers.authorization;
    if (!h) return { bad: false };
    const m = /^Basic\s+(.+)$/i.exec(h);
    if (!m) return { bad: true };
    const plain = Buffer.from(m[1]!, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    const user = plain.slice(0, i);
    return users[user] !== undefined && users[user] === plain.slice(i + 1) ? { user, bad: false } : { bad: true };
  };

  const answer = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const record = (user: string | undefined, scopes: string[], status: number, svc: string | null): void => {
        requests.push({ method: req.method ?? '', user, service: svc, scopes, status, authorization: req.headers.authorization });
      };
      if (url.pathname !== '/token') return answer(res, 404, { error: 'not found' });
      if (req.method === 'POST') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        let user: string | undefined;
        if (form.get('grant_type') === 'refresh_token') user = o.refreshTokens?.[form.get('refresh_token') ?? ''];
        else if (form.get('grant_type') === 'password') {
          const u = form.get('username') ?? '';
          user = users[u] !== undefined && users[u] === form.get('password') ? u : undefined;
        }
        if (!user) {
          record(undefined, scopes, 401, form.get('service'));
          return answer(res, 401, { error: 'invalid_grant' });
        }
        record(user, scopes, 200, form.get('service'));
        return answer(res, 200, { access_token: issue(user, scopes), expires_in: o.expiresIn ?? 300, issued_at: new Date().toISOString() });
      }
      const scopes = url.searchParams.getAll('scope');
      const { user, bad } = basicUser(req);
      if (bad) {
        record(undefined, scopes, 401, url.searchParams.get('service'));
        return answer(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] });
      }
      record(user, scopes, 200, url.searchParams.get('service'));
      const token = issue(user, scopes);
      return answer(res, 200, { token, access_token: token, expires_in: o.expiresIn ?? 300, issued_at: new Date().toISOString() });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: certFile,
    requests,
    issue,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
