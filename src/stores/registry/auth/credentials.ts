/**
 * A credential for one registry. Only one form is used: a registry token is sent as is
 * (Bearer); an identity token is an OAuth2 refresh token for the token server; otherwise
 * username and password go to the token server (or to the registry, for Basic auth).
 */
export interface Credential {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker config `identitytoken`). */
  identityToken?: string;
  /** Bearer token sent to the registry directly (docker config `registrytoken`, MK_REGISTRY_TOKEN). */
  registryToken?: string;
}

/** Finds the credential for a registry host (host[:port]); undefined means anonymous. */
export type CredentialsProvider = (host: string) => Promise<Credential | undefined>;

export function isEmptyCredential(c: Credential | undefined): boolean {
  return !c || (!c.username && !c.password && !c.identityToken && !c.registryToken);
}

/** The secrets in a credential, for redaction. */
export function secretsOf(c: Credential | undefined): string[] {
  if (!c) return [];
  return [c.password, c.identityToken, c.registryToken].filter((s): s is string => typeof s === 'string' && s.length > 0);
}

/**
 * Credentials from the environment, for CI: MK_REGISTRY_USERNAME + MK_REGISTRY_PASSWORD,
 * or MK_REGISTRY_TOKEN (a bearer token sent to the registry as is). Read at call time.
 */
export function envCredentials(env: NodeJS.ProcessEnv = process.env): CredentialsProvider {
  return async () => {
    const token = env.MK_REGISTRY_TOKEN;
    if (token) return { registryToken: token };
    const username = env.MK_REGISTRY_USERNAME;
    const password = env.MK_REGISTRY_PASSWORD;
    if (username && password !== undefined) return { username, password };
    return undefined;
  };
}

/** Fixed credentials: one for every host, or a map by host. */
export function staticCredentials(c: Credential | Record<string, Credential>): CredentialsProvider {
  const single = 'username' in c || 'password' in c || 'identityToken' in c || 'registryToken' in c;
  return async (host) => (single ? (c as Credential) : (c as Record<string, Credential>)[host]);
}

export const anonymous: CredentialsProvider = async () => undefined;

/** The first provider that has a credential wins. */
export function chainCredentials(...providers: CredentialsProvider[]): CredentialsProvider {
  return async (host) => {
    for (const p of providers) {
      const c = await p(host);
      if (!isEmptyCredential(c)) return c;
    }
    return undefined;
  };
}
