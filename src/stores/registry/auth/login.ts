import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../../util/fs.js';
import { RegistryReferenceError } from '../errors.js';
import { checkHost } from '../reference.js';
import { helperErase, helperStore } from './cred-helper.js';
import { dockerConfigPath, findKey, normaliseKey, readDockerConfig, serverAddress, type DockerConfig, type DockerConfigOptions } from './docker-config.js';

export interface LoginResult {
  /** Where the credential went: the config file, or `docker-credential-<x>`. */
  storedIn: string;
}

/**
 * Stores a credential the way `docker login` does: through `credHelpers[host]` or
 * `credsStore` when configured (leaving an empty `auths` entry), else as base64
 * `user:password` in `auths[host].auth`. Other entries are kept; the file is 0600.
 * It does not contact the registry: check the credential with RegistryStore.ping() first.
 */
export async function login(host: string, username: string, password: string, opts: DockerConfigOptions = {}): Promise<LoginResult> {
  checkHost(host);
  if (!username || username.includes(':')) throw new RegistryReferenceError('the username must be non-empty and contain no colon');
  if (!password) throw new RegistryReferenceError('the password must not be empty');
  const path = dockerConfigPath(opts);
  const config = await readDockerConfig(path);
  const server = serverAddress(host);
  const helperKey = findKey(config.credHelpers, host);
  const helper = (helperKey ? config.credHelpers?.[helperKey] : undefined) || config.credsStore;
  config.auths ??= {};
  removeEntries(config, host);
  let storedIn = path;
  if (helper) {
    await helperStore(helper, server, username, password, { env: opts.env, ...opts.helper });
    config.auths[server] = {};
    storedIn = `docker-credential-${helper}`;
  } else {
    config.auths[server] = { auth: Buffer.from(`${username}:${password}`, 'utf8').toString('base64') };
  }
  await writeConfig(path, config);
  return { storedIn };
}

/** Removes a stored credential (from the helper when one is configured, and from `auths`). Returns false when there was none in the file. */
export async function logout(host: string, opts: DockerConfigOptions = {}): Promise<boolean> {
  checkHost(host);
  const path = dockerConfigPath(opts);
  const config = await readDockerConfig(path);
  const helperKey = findKey(config.credHelpers, host);
  const helper = (helperKey ? config.credHelpers?.[helperKey] : undefined) || config.credsStore;
  if (helper) await helperErase(helper, serverAddress(host), { env: opts.env, ...opts.helper });
  const had = removeEntries(config, host);
  if (had) await writeConfig(path, config);
  return had || Boolean(helper);
}

function removeEntries(config: DockerConfig, host: string): boolean {
  if (!config.auths) return false;
  const norm = normaliseKey(serverAddress(host));
  let removed = false;
  for (const k of Object.keys(config.auths)) {
    if (k === host || normaliseKey(k) === norm) {
      delete config.auths[k];
      removed = true;
    }
  }
  return removed;
}

async function writeConfig(path: string, config: DockerConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, JSON.stringify(config, null, '\t') + '\n', 0o600);
  await chmod(path, 0o600);
}
