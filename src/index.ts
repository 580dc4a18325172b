/** mk's public library API: what the CLI calls, for scripts and tests. */
export { init } from './api/init.js';
export { add, type AddOptions, type AddedArtifact } from './api/add.js';
export { status, type ArtifactStatus } from './api/status.js';
export { checkout, type CheckoutOptions, type CheckoutResult } from './api/checkout.js';
export { diff, type DiffResult } from './api/diff.js';
export { ls, type ListedArtifact } from './api/ls.js';
export { gc, type GcOptions, type GcResult } from './api/gc.js';
export { RepoContext } from './repo/context.js';
export { openCacheStore, openLayoutStore } from './stores/open.js';
export * from './content/descriptor.js';
export * from './content/storage.js';
export * from './content/media-types.js';
export * from './errors/index.js';
export { parsePointer, serializePointer, POINTER_SUFFIX, type Pointer, type Kind } from './pointer/pointer.js';
