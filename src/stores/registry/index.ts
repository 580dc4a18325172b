export { RegistryStore, defaultCredentials } from './registry-store.js';
export type { RegistryStoreOptions, RegistryFetchOptions, RegistryPushOptions } from './registry-store.js';
export type { UploadMode } from './blob-push.js';
export type { RetryInfo } from './client.js';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
export * from './errors.js';
export { parseRegistryReference, isLoopbackHost, isValidRepository, isValidTag, findUserinfo, redactUserinfo, type RegistryReference } from './reference.js';
export { MANIFEST_MEDIA_TYPES, isManifestType } from './manifests.js';
export { AuthCache } from './auth/authorizer.js';
export { parseWwwAuthenticate, type Challenge } from './auth/challenge.js';
export {
  anonymous, chainCredentials, envCredentials, staticCredentials,
  type Credential, type CredentialsProvider,
} from './auth/credentials.js';
export { dockerConfigCredentials, dockerConfigPath, lookupDockerCredential, readDockerConfig, type DockerConfig, type DockerConfigOptions } from './auth/docker-config.js';
export { login, logout, type LoginResult } from './auth/login.js';
