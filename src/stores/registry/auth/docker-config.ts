import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../errors/index.js';
import type { Credential, CredentialsProvider } from './credentials.js';
import { helperGet, type HelperOptions } from './cred-helper.js';

/** The parts of ~/.docker/config.json that hold credentials; other fields are kept as they are. */
export interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  serveraddress?: string;
  [k: string]: unknown;
}

export interface DockerConfig {
  auths?: Record<string, DockerAuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

export interface DockerConfigOptions {
  /** The directory holding config.json; default $DOCKER_CONFIG, else ~/.docker. */
  configDir?: string;
  env?: NodeJS.ProcessEnv;
  helper?: HelperOptions;
}

const HUB_KEY = 'https://index.docker.io/v1/';
const HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

export function dockerConfigDir(opts: DockerConfigOptions = {}): string {
  const env = opts.env ?? process.env;
  return opts.configDir ?? env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker');
}

export function dockerConfigPath(opts: DockerConfigOptions = {}): string {
  return join(dockerConfigDir(opts), 'config.json');
}

/** Reads the config; a missing file is an empty config, a malformed one a ConfigError. */
export async function readDockerConfig(path: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(path, `cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!text.trim()) return {};
  try {
    const j = JSON.parse(text) as unknown;
    if (!j || typeof j !== 'object' || Array.isArray(j)) throw new ConfigError(path, 'not an object');
    return j as DockerConfig;
  } catch {
    // The text may hold credentials: never quote it.
    throw new ConfigError(path, 'not valid JSON');
  }
}

/** The server address docker uses for a host (Docker Hub has its legacy URL). */
export function serverAddress(host: string): string {
  return HUB_HOSTS.has(host) ? HUB_KEY : host;
}

/** Normalises a config key: strips a scheme and any path (`https://host/v1/` → `host`). */
export function normaliseKey(key: string): string {
  if (key === HUB_KEY) return 'docker.io';
  const s = key.replace(/^[a-z]+:\/\//i, '');
  const slash = s.indexOf('/');
  return slash >= 0 ? s.slice(0, slash) : s;
}

/** The key under which `host` is found in a map (exact first, then normalised), if any. */
export function findKey(map: Record<string, unknown> | undefined, host: string): string | undefined {
  if (!map) return undefined;
  const want = serverAddress(host);
  if (Object.hasOwn(map, want)) return want;
  if (Object.hasOwn(map, host)) return host;
  const norm = HUB_HOSTS.has(host) ? 'docker.io' : host;
  return Object.keys(map).find((k) => normaliseKey(k) === norm);
}

/** Decodes an `auths` entry. */
export function entryCredential(e: DockerAuthEntry | undefined): Credential | undefined {
  if (!e) return undefined;
  if (typeof e.registrytoken === 'string' && e.registrytoken) return { registryToken: e.registrytoken };
  const c: Credential = {};
  if (typeof e.auth === 'string' && e.auth) {
    const plain = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) {
      c.username = plain.slice(0, i);
      c.password = plain.slice(i + 1);
    }
  } else {
    if (typeof e.username === 'string') c.username = e.username;
    if (typeof e.password === 'string') c.password = e.password;
  }
  if (typeof e.identitytoken === 'string' && e.identitytoken) {
    c.identityToken = e.identitytoken;
    delete c.password;
  }
  return c.password || c.identityToken ? c : undefined;
}

/**
 * Looks a host up in a docker config, in docker's order: `credHelpers[host]`, then
 * `credsStore`, then `auths`. A helper that is not installed or has nothing for the host
 * falls through to the next source.
 */
export async function lookupDockerCredential(config: DockerConfig, host: string, helper: HelperOptions = {}): Promise<Credential | undefined> {
  const server = serverAddress(host);
  const helperKey = findKey(config.credHelpers, host);
  if (helperKey && config.credHelpers?.[helperKey]) {
    const c = await helperGet(config.credHelpers[helperKey]!, server, helper);
    if (c) return c;
  }
  if (config.credsStore) {
    const c = await helperGet(config.credsStore, server, helper);
    if (c) return c;
  }
  const key = findKey(config.auths, host);
  return key ? entryCredential(config.auths?.[key]) : undefined;
}

/** Credentials from the docker config file, read at each call (so a login takes effect at once). */
export function dockerConfigCredentials(opts: DockerConfigOptions = {}): CredentialsProvider {
  return async (host) => {
    const config = await readDockerConfig(dockerConfigPath(opts));
    return lookupDockerCredential(config, host, { env: opts.env, ...opts.helper });
  };
}
