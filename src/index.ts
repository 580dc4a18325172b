/**
 * mk's public library API: every verb the CLI offers (the CLI calls nothing else), the errors
 * to tell failures apart by code, the content types, and the stores. The list of exports is
 * pinned by test/unit/api/surface.test.ts: a change to it is a change to the API.
 */
export { init } from './api/init.js';
export { add, type AddOptions, type AddedArtifact } from './api/add.js';
export { remove, type RemoveResult } from './api/remove.js';
export { move, type MoveResult } from './api/mv.js';
export { status, type ArtifactStatus } from './api/status.js';
export { checkout, type CheckoutOptions, type CheckoutResult } from './api/checkout.js';
export { checkoutSide, type SideCheckoutOptions, type SideCheckoutFile } from './api/checkout-side.js';
export { diff, type DiffResult } from './api/diff.js';
export { ls, type ListedArtifact } from './api/ls.js';
export { gc, type GcOptions, type GcResult } from './api/gc.js';
export { push, fetchData, pull, remoteStatus, type TransferOptions, type TransferResult, type RemoteStatus, type PublishedModelKit, type HeldTag, type CopyProgress } from './api/transfer.js';
export { get, type GetOptions, type GetResult } from './api/get.js';
export { remoteAdd, remoteList, remoteRemove, remoteDefault, type RemoteListing } from './api/remote.js';
export {
  modelkitBuild,
  modelkitInspect,
  modelkitUnpack,
  modelkitCopy,
  modelkitList,
  type ListedModelKit,
  verify,
  resolveModelKit,
  type ModelKitInfo,
  type UnpackOptions,
  type VerifyResult,
  type CopyModelKitResult,
} from './api/modelkit.js';
export { install, uninstall, type InstallResult } from './api/install.js';
export { migrate, type MigrateResult } from './api/migrate.js';
export { migrateFromDvc, type DvcMigrateOptions, type DvcMigrateResult, type DvcMigrated } from './api/migrate-dvc.js';
export { migrateFromLfs, type LfsMigrateOptions, type LfsMigrateResult } from './api/migrate-lfs.js';
export { filterProcess, type FilterProcessOptions } from './integration/filter/process.js';
export { setupWarning } from './git/filter-config.js';
export { runHook, type HookOutcome } from './integration/hooks/run.js';
export { mergePointers } from './integration/hooks/merge-driver.js';
export { clone } from './api/clone.js';
export { login, logout } from './api/login.js';
export { paramsDiff, metricsDiff, metricsShow, type ExperimentDiff, type MetricsAtRevision, type Revision, type ValueChange, type FileNote, type FlatValues, type Scalar } from './api/experiments.js';
export { expShow, promote, type ExpShowOptions, type ExpShowResult, type ExperimentRow, type PromoteResult } from './api/exp.js';
export { expApply, expBranch, expExec, expRemove, expRun, type ExpApplyResult, type Experiment, type ExpRunEvent, type ExpRunOptions, type ExpRunResult } from './api/exp-run.js';
export { plotsDiff, type PlotsDiffResult, type RenderedPlot } from './api/plots.js';
export { report, type ReportData, type ReportResult } from './api/report.js';
export { keygen, type KeygenResult } from './api/keygen.js';
export { sign, verifySignatures, type SignResult, type SignaturesResult } from './api/sign.js';
export { repro, type ReproOptions, type ReproResult, type ReproEvent, type StageOutcome } from './api/repro.js';
export { stageStatus, dag, type StageStatus, type DagResult, type DagStage } from './api/stages.js';
export * from './api/common.js';
export { RepoContext } from './repo/context.js';
export { openCacheStore, openLayoutStore, openRegistryStore, type RegistrySettings } from './stores/open.js';
export { MemoryStore } from './stores/memory/memory-store.js';
export { copyGraph, GraphIncompleteError, type GraphCopyOptions } from './transfer/graph-copy.js';
export * from './content/descriptor.js';
export * from './content/storage.js';
export * from './content/media-types.js';
export { parsePointer, serializePointer, POINTER_SUFFIX, type Pointer } from './formats/pointer.js';
