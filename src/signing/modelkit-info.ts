import type { Descriptor } from '../content/descriptor.js';
import { isModelKitConfigType, MediaType } from '../content/media-types.js';
import { readAll, type Fetcher } from '../content/storage.js';
import { MkError } from '../errors/index.js';
import { sha256 } from '../hashing/digest.js';
import { readManifest } from '../modelkit/publish.js';
import { modelPackKitConfig, parseImageManifest, parseKitConfig, type ImageManifest, type KitConfig } from '../modelkit/read.js';

/** A ModelKit's manifest (its exact bytes, checked against its digest) and its config as a Kitfile. */
export interface SignedSubject {
  desc: Descriptor;
  bytes: Buffer;
  manifest: ImageManifest;
  config: KitConfig;
  /** kit unpack writes a Kitfile for it. */
  kitfile: boolean;
}

/** Reads a ModelKit from a store (hostile: its manifest must match its digest, its config must parse). */
export async function readSubject(store: Fetcher, desc: Descriptor, what: string): Promise<SignedSubject> {
  const bytes = await readManifest(store, desc);
  const got = sha256(bytes);
  if (got !== desc.digest) throw new MkError('EDIGEST', `${what}: the manifest's content does not match its digest (expected ${desc.digest}, got ${got})`);
  const manifest = parseImageManifest(bytes, `the manifest of ${what}`);
  if (!isModelKitConfigType(manifest.config.mediaType)) throw new MkError('ENOTMODELKIT', `${what} is not a ModelKit (config media type ${manifest.config.mediaType})`);
  const configBytes = await readAll(await store.fetch(manifest.config), 64 << 20);
  if (sha256(configBytes) !== manifest.config.digest) throw new MkError('EDIGEST', `${what}: its config does not match its digest`);
  if (manifest.config.mediaType === MediaType.modelPackConfig) {
    const { config, generated } = modelPackKitConfig(manifest, configBytes, what);
    return { desc, bytes, manifest, config, kitfile: !generated };
  }
  return { desc, bytes, manifest, config: parseKitConfig(configBytes, `the config of ${what}`), kitfile: true };
}
