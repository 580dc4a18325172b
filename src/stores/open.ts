import type { CacheStore, Target } from '../content/storage.js';
import { OciLayoutStore } from './oci-layout/layout-store.js';
import type { CredentialsProvider } from './registry/auth/credentials.js';
import type { RegistryStore } from './registry/registry-store.js';

/**
 * The one place that builds stores. Callers describe what they want (a cache folder, a
 * layout folder, a registry with its settings); the store classes stay behind this module
 * and the interfaces in src/content/storage.ts.
 */

/** mk's own cache: an OCI layout that keeps verified.json and drops blobs that no longer match their names. */
export function openCacheStore(dir: string): CacheStore {
  return new OciLayoutStore(dir, { ownCache: true }).init();
}

/** A layout someone else may read too (a remote, a layout named on the command line): never changed by reading it. */
export function openLayoutStore(dir: string, opts: { create?: boolean } = {}): CacheStore {
  const s = new OciLayoutStore(dir);
  return opts.create ? s.init() : s;
}

/** What a remote's settings say about a registry (from .mk/config.yaml, or a reference given on the command line). */
export interface RegistrySettings {
  /** host[:port] */
  host: string;
  repository: string;
  /** Skip TLS verification, and allow plain HTTP to a host that is not loopback. */
  insecure?: boolean;
  /** Extra trusted CA certificates (PEM bundle). */
  caFile?: string;
  /** Simultaneous blob transfers. Default 4. */
  concurrency?: number;
  /** 'monolithic' (default: POST then one PUT), 'chunked', or 'auto' (chunked above 100 MiB), for registries or proxies that cap request bodies. */
  upload?: 'monolithic' | 'chunked' | 'auto';
  /** Default: MK_REGISTRY_* environment variables, then the docker config. */
  credentials?: CredentialsProvider;
  /** Other repositories of the same registry that may hold the blobs: mounted from (in order) instead of uploaded. */
  mountFrom?: string | string[];
  /** The one host environment credentials (MK_REGISTRY_*) may be offered to; no other host ever receives them. */
  envCredentialsHost?: string;
}

/** A registry store (the client is loaded on first use: most commands never need it). */
export async function openRegistryStore(s: RegistrySettings): Promise<RegistryStore & Target> {
  const { RegistryStore } = await import('./registry/registry-store.js');
  return new RegistryStore(s);
}
