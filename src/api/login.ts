import { openRegistryStore } from '../stores/open.js';

/**
 * Checks credentials against a registry (a token or basic-auth round trip), then stores them
 * as `docker login` does (credential helper, or ~/.docker/config.json).
 */
export async function login(host: string, username: string, password: string, opts: { insecure?: boolean } = {}): Promise<{ storedIn: string }> {
  const { staticCredentials, login: store } = await import('../stores/registry/index.js');
  const check = await openRegistryStore({ host, repository: 'mk-login-check', insecure: opts.insecure, credentials: staticCredentials({ username, password }) });
  await check.ping();
  return store(host, username, password);
}

/** Removes stored credentials; whether there were any. */
export async function logout(host: string): Promise<boolean> {
  const { logout: forget } = await import('../stores/registry/index.js');
  return forget(host);
}
