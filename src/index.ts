/**
 * mk's public library API: every verb the CLI offers (the CLI calls nothing else) with its
 * option and result types, the errors to tell failures apart by code, the content types, and
 * the stores with their interfaces. Nothing else: the repository context, the work-tree
 * engine and the registry client stay behind the verbs.
 *
 * The surface is pinned twice: test/unit/api/surface.test.ts lists the runtime exports, and
 * docs/api/mk.api.md is API Extractor's report of every exported declaration (`npm run
 * lint:api` fails when the code and the report differ; `npm run api` rewrites the report, so
 * a change to the API is a visible diff in review).
 */
import type { BlobStat, Target } from './content/storage.js';
import { openRegistryStore as openRegistry, type RegistrySettings } from './stores/open.js';

// ---------------------------------------------------------------- verbs
export { init, type InitResult } from './api/init.js';
export { add, type AddOptions, type AddedArtifact } from './api/add.js';
export { remove, type RemoveResult } from './api/remove.js';
export { move, type MoveResult } from './api/mv.js';
export { status, type ArtifactStatus } from './api/status.js';
export type { FileChange, WorkspaceStatus } from './worktree/compare.js';
export { checkout, type CheckoutOptions, type CheckoutResult, type CheckoutArtifact } from './api/checkout.js';
export { checkoutSide, type SideCheckoutOptions, type SideCheckoutFile } from './api/checkout-side.js';
export { diff, type DiffOptions, type DiffResult, type ArtifactDiff, type DiffSummary, type DiffFile } from './api/diff.js';
export { ls, type ListedArtifact } from './api/ls.js';
export { gc, type GcOptions, type GcResult } from './api/gc.js';
export {
  push,
  fetchData,
  pull,
  remoteStatus,
  type TransferOptions,
  type TransferResult,
  type RemoteStatus,
  type PublishedModelKit,
  type HeldTag,
  type CopyProgress,
  type Announcement,
  type PublishedRoutedModelKit,
  type Withheld,
  type RunCacheTransfer,
} from './api/transfer.js';
export type { PartialPullResult } from './api/partial-pull.js';
export { get, type GetOptions, type GetResult } from './api/get.js';
export { clone, type CloneOptions, type CloneResult } from './api/clone.js';
export { remoteAdd, remoteList, remoteRemove, remoteDefault, type RemoteListing, type AddedRemote } from './api/remote.js';
export {
  modelkitBuild,
  modelkitInspect,
  modelkitUnpack,
  modelkitCopy,
  modelkitList,
  verify,
  resolveModelKit,
  type ListedModelKit,
  type ModelKitInfo,
  type UnpackOptions,
  type VerifyResult,
  type RoutedVerify,
  type CopyModelKitResult,
  type ResolvedModelKit,
} from './api/modelkit.js';
export type { BuiltModelKit } from './modelkit/builder.js';
export type { KitConfig, KitConfigEntry } from './modelkit/read.js';
export type { ImageManifest } from './content/oci-manifest.js';
export type { TrackedPointer } from './git/pointers.js';
export { install, uninstall, type InstallResult } from './api/install.js';
export { migrate, type MigrateResult } from './api/migrate.js';
export { migrateFromDvc, type DvcMigrateOptions, type DvcMigrateResult, type DvcMigrated } from './api/migrate-dvc.js';
export type { DvcSkip } from './formats/dvc.js';
export { migrateFromLfs, type LfsMigrateOptions, type LfsMigrateResult } from './api/migrate-lfs.js';
export { login, logout } from './api/login.js';
export { keygen, type KeygenResult } from './api/keygen.js';
export { sign, verifySignatures, type SignResult, type SignaturesResult } from './api/sign.js';
export type { SignatureCheck } from './signing/verify.js';
export type { LineageStage } from './signing/statements.js';
export type { SignatureKind } from './signing/sign.js';

// ---------------------------------------------------------------- experiments
export { paramsDiff, metricsDiff, metricsShow, type ExperimentDiff, type MetricsAtRevision, type Revision, type ValueChange, type FileNote, type FlatValues, type Scalar } from './api/experiments.js';
export type { ValuesDiff } from './experiments/diff.js';
export type { FileValues } from './experiments/collect.js';
export { expShow, promote, type ExpShowOptions, type ExpShowResult, type ExperimentRow, type PromoteResult } from './api/exp.js';
export type { Promotion } from './experiments/promotions.js';
export { expApply, expBranch, expExec, expRemove, expRun, type ExpApplyResult, type Experiment, type ExpRunEvent, type ExpRunOptions, type ExpRunResult } from './api/exp-run.js';
export type { ExpStatus } from './pipeline/exp-refs.js';
export { plotsDiff, type PlotsDiffResult, type RenderedPlot } from './api/plots.js';
export { report, type ReportData, type ReportResult } from './api/report.js';

// ---------------------------------------------------------------- pipelines
export { repro, type ReproOptions, type ReproResult, type ReproEvent, type StageOutcome } from './api/repro.js';
export type { StageAction } from './pipeline/repro.js';
export { stageStatus, dag, type StageStatus, type DagResult, type DagStage } from './api/stages.js';

// ---------------------------------------------------------------- what Git starts
export { filterProcess, type FilterProcessOptions } from './integration/filter/process.js';
export { setupWarning } from './git/filter-config.js';
export { runHook, type HookOutcome } from './integration/hooks/run.js';
export { mergePointers } from './integration/hooks/merge-driver.js';

// ---------------------------------------------------------------- errors, kinds
export * from './api/common.js';

// ---------------------------------------------------------------- stores and content
export { openCacheStore, openLayoutStore, type RegistrySettings } from './stores/open.js';
export type { Credential, CredentialsProvider } from './stores/registry/auth/credentials.js';
export { MemoryStore } from './stores/memory/memory-store.js';
export { copyGraph, GraphIncompleteError, type GraphCopyOptions } from './transfer/graph-copy.js';
export type { CopyOptions, CopyResult } from './transfer/copy.js';
export * from './content/descriptor.js';
export * from './content/storage.js';
export * from './content/media-types.js';
export { parsePointer, serializePointer, POINTER_SUFFIX, type Pointer } from './formats/pointer.js';

/**
 * A repository of an OCI registry as a store: the same interfaces as the cache and a local
 * layout (fetch, push, tags, and a blob's size by digest). The registry client is loaded on
 * first use.
 */
export function openRegistryStore(settings: RegistrySettings): Promise<Target & BlobStat> {
  return openRegistry(settings);
}
export type { Delivery } from './notify/deliver.js';
export type { NotifyTarget } from './repo/config.js';
