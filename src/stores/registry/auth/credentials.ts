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
 *
 * They belong to one registry host, as docker keeps credentials per host: the one
 * MK_REGISTRY_HOST names, or else `chosenHost`, the registry the user chose for the command
 * (its mk remote's, or one named on the command line). Any other host gets nothing from
 * here: a host a ModelKit's Kitfile references, a redirect, another host's token server.
 */
export function envCredentials(env: NodeJS.ProcessEnv = process.env, chosenHost?: string): CredentialsProvider {
  return async (host) => {
    const owner = env.MK_REGISTRY_HOST?.trim() || chosenHost;
    if (!owner || !sameRegistryHost(owner, host)) return undefined;
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

const HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** One registry host (host[:port], case aside; Docker Hub's names are one). */
export function sameRegistryHost(a: string, b: string): boolean {
  const norm = (h: string): string => {
    const x = h
      .trim()
      .toLowerCase()
      .replace(/^[a-z]+:\/\//, '')
      .replace(/\/.*$/, '');
    return HUB.has(x) ? 'docker.io' : x;
  };
  return norm(a) === norm(b);
}
