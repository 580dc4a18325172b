import type { CacheStore, Target } from '../content/storage.js';
import { OciLayoutStore } from './oci-layout/layout-store.js';
import type { RegistryStore, RegistryStoreOptions } from './registry/registry-store.js';

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
export type RegistrySettings = Pick<RegistryStoreOptions, 'host' | 'repository' | 'insecure' | 'caFile' | 'concurrency' | 'upload' | 'credentials' | 'mountFrom' | 'envCredentialsHost'>;

/** A registry store (the client is loaded on first use: most commands never need it). */
export async function openRegistryStore(s: RegistrySettings): Promise<RegistryStore & Target> {
  const { RegistryStore } = await import('./registry/registry-store.js');
  return new RegistryStore(s);
}
