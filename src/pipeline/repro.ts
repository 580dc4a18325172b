import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Descriptor } from '../content/descriptor.js';
import type { CacheStore, Target } from '../content/storage.js';
import { MkError } from '../errors/index.js';
import { git } from '../git/run.js';
import { copyGraph } from '../transfer/graph-copy.js';
import { writeFileAtomic } from '../util/fs.js';
import { bufferSource, readAll } from '../content/storage.js';
import { sha256, verifying } from '../hashing/digest.js';
import { childrenOf } from '../transfer/graph-copy.js';
import { MediaType } from '../content/media-types.js';
import { plan } from './dag.js';
import { PipelineError, StageFailedError } from './errors.js';
import { sortItems, sortParams, writeLock, type LockItem, type LockStage } from './lock.js';
import type { Md5Hasher, Md5Info } from './md5.js';
import { hasherFor, Locks, requirePipeline } from './pipeline.js';
import { dvcCacheDir, restoreFromDvcCache, saveToDvcCache } from './dvc-cache.js';
import { outputRoots, readEntry, RUN_TAG_PREFIX, RunIndex, runKey, saveEntry, type RunEntry, type RunInputs, type RunOutput, type RunPointer } from './run-cache.js';
import type { Stage } from './stages.js';
import { describeReason, ParamsReader, stageState, type Reason, type StageState } from './status.js';
import type { Mapping } from './values.js';

/**
 * What the runner needs from mk's work tree, given by the caller (src/api): recording outputs
 * with mk (the add machinery: files through the filter, folders as folders), placing outputs
 * from mk's cache, and telling which paths hold content mk has saved.
 */
export interface PipelineWorkspace {
  /** Records outputs with mk; returns each one's pointer. */
  track(paths: string[]): Promise<Array<{ path: string; pointer: RunPointer }>>;
  /** Places outputs' data from mk's cache at their paths (the blobs are in the cache). */
  place(outs: Array<{ path: string; pointer: RunPointer }>): Promise<void>;
  /** Of these paths, those mk tracks (with a pointer), each with whether mk has saved its current content (clean, bytes cached). */
  saved(paths: string[]): Promise<Map<string, boolean>>;
}

export type StageAction = 'ran' | 'restored' | 'skipped' | 'frozen' | 'would-run' | 'may-run';

export interface StageOutcome {
  stage: string;
  action: StageAction;
  /** Why it ran (or would): "deps changed: data/raw.csv". */
  reasons: string[];
  /** restored: from this clone's run cache, the remote's, or as the lock records them (inputs unchanged, outputs not). */
  from?: 'cache' | 'remote' | 'lock';
  /** may-run: the stages whose outputs it waits on. */
  after?: string[];
  /** ran: the command's time. */
  ms?: number;
}

export type ReproEvent = { type: 'start'; outcome: StageOutcome; cmd: string[] } | { type: 'end'; outcome: StageOutcome };

export interface ReproOptions {
  /** The work tree's root, and mk's folders for it. */
  root: string;
  stateDir: string;
  mkDir: string;
  cache: CacheStore;
  targets?: string[];
  /** Run the stages even when nothing changed (and let them overwrite outputs holding unsaved changes); no run cache. */
  force?: boolean;
  /** Only say what would run. */
  dry?: boolean;
  /** The targets alone, not what they depend on. */
  single?: boolean;
  /** The targets and every stage that depends on them. */
  downstream?: boolean;
  /** Use and fill the run cache (default true). */
  runCache?: boolean;
  /** Where to look for run cache entries this clone lacks (the default remote), opened when first needed. */
  remote?: () => Promise<Target | undefined>;
  workspace: PipelineWorkspace;
  /** Stage the lock file with git after writing it (default true). */
  stage?: boolean;
  /** Where the commands' output goes (default: inherited). */
  output?: 'inherit' | 'stderr' | 'ignore';
  env?: NodeJS.ProcessEnv;
  onEvent?: (e: ReproEvent) => void;
  signal?: AbortSignal;
}

export interface ReproResult {
  stages: StageOutcome[];
  /** Lock files written. */
  locks: string[];
}

/** A stage's run cache entry is usable: it has deps and outs, all of its plain outputs are cached, none persists, it is not always_changed. */
function cacheable(s: Stage): boolean {
  return !s.alwaysChanged && s.deps.length > 0 && s.outs.length > 0 && s.outs.every((o) => !o.persist && (o.cache || o.kind !== 'outs'));
}

const cmds = (s: Stage) => (Array.isArray(s.cmd) ? s.cmd : [s.cmd]);

/**
 * `mk repro`: runs the stale stages of the pipeline (or of the targets), in dependency order,
 * and skips the rest. Before a stage runs, its run cache entry (this clone's, then the
 * remote's) may give its outputs instead. After it runs: its outputs are checked, recorded by
 * mk, written to the lock (one stage at a time, so a failure later keeps what came before)
 * and to the run cache. The first failing stage stops the run with its exit status.
 */
export async function reproduce(opts: ReproOptions): Promise<ReproResult> {
  const pipe = await requirePipeline(opts.root);
  const steps = plan(pipe.dag, opts.targets ?? [], { single: opts.single, downstream: opts.downstream });
  const run: Run = { opts, hasher: hasherFor(opts.root, opts.stateDir), params: new ParamsReader(opts.root), locks: new Locks(opts.root), index: new RunIndex(opts.mkDir), written: new Set() };
  const outcomes: StageOutcome[] = [];
  // Dry runs: outputs that a stage before would write, so the stages after it "may run".
  const pending = new Map<string, string>();
  try {
    for (const stage of steps) {
      opts.signal?.throwIfAborted();
      const st = await stageState(stage, run.locks.of(stage), run.hasher, run.params, { all: true });
      const reasons = opts.force && !st.stale ? ['forced'] : st.reasons.map(describeReason);
      const outcome = opts.dry
        ? dryOutcome(opts, stage, st, reasons, pending)
        : !st.stale && !opts.force
          ? { stage: stage.address, action: 'skipped' as const, reasons: [] }
          : await reproStage(run, stage, st, reasons);
      outcomes.push(end(opts, outcome));
    }
  } finally {
    run.hasher.save();
    if (opts.stage !== false && run.written.size) await git(opts.root, ['add', '--', ...run.written]).catch(() => undefined);
  }
  return { stages: outcomes, locks: [...run.written] };
}

/** What one `mk repro` works with. */
interface Run {
  opts: ReproOptions;
  hasher: Md5Hasher;
  params: ParamsReader;
  locks: Locks;
  index: RunIndex;
  /** Lock files written (staged at the end). */
  written: Set<string>;
}

/** A dry run's word on a stage: it would run (stale), may run (after a stage that would), or is up to date. */
function dryOutcome(opts: ReproOptions, stage: Stage, st: StageState, reasons: string[], pending: Map<string, string>): StageOutcome {
  const overlaps = (a: string, b: string) => a === b || a.startsWith(b + '/') || b.startsWith(a + '/');
  const after = [...new Set(stage.deps.flatMap((d) => [...pending].filter(([p]) => overlaps(d.path, p)).map(([, s]) => s)))];
  const action: StageAction = st.stale || opts.force ? 'would-run' : after.length ? 'may-run' : 'skipped';
  if (action !== 'skipped' && !stage.frozen) for (const o of stage.outs) pending.set(o.path, stage.address);
  if (action === 'may-run') return { stage: stage.address, action, reasons: [], after };
  return { stage: stage.address, action: stage.frozen && action !== 'skipped' ? 'frozen' : action, reasons };
}

/** Brings one stale (or forced) stage up to date: verified as it is (frozen), restored, or run. */
async function reproStage(run: Run, stage: Stage, st: StageState, reasons: string[]): Promise<StageOutcome> {
  const { opts, hasher, params, locks, index, written } = run;
  if (stage.frozen) {
    // DVC's rule: a frozen stage never runs; its outputs must be there, and are recorded as they are.
    const missing = [];
    for (const o of stage.outs) if (!(await hasher.hash(o.path))) missing.push(o.def);
    if (missing.length) throw new PipelineError(`stage '${stage.address}' is frozen and its output '${missing[0]}' is missing`, `unfreeze it (frozen: false) to run it, or restore the output`);
    await opts.workspace.track(stage.outs.filter((o) => o.cache).map((o) => o.path));
    await record(opts, stage, hasher, params, locks, written);
    return { stage: stage.address, action: 'frozen', reasons };
  }
  await guardOutputs(opts, stage, st);
  if (!opts.force) {
    // Inputs as the lock records them, outputs not: put back the outputs the lock records
    // (as DVC checks them out of its cache). Else the run cache: these inputs, run before.
    const rec = locks.of(stage).stages.get(stage.name);
    const onlyOuts = rec !== undefined && st.reasons.every((r) => r.kind === 'outs');
    const restored =
      (onlyOuts ? await restoreRecorded(opts, stage, st, rec, hasher, params, index) : undefined) ??
      (opts.runCache !== false && cacheable(stage) ? await restoreFromCache(opts, stage, hasher, params, index) : undefined);
    if (restored) {
      await record(opts, stage, hasher, params, locks, written);
      return { stage: stage.address, action: 'restored', reasons, from: restored.from };
    }
  }
  const outcome: StageOutcome = { stage: stage.address, action: 'ran', reasons };
  opts.onEvent?.({ type: 'start', outcome, cmd: cmds(stage) });
  removeOutputs(opts.root, stage);
  const t0 = Date.now();
  await runCommands(opts, stage);
  outcome.ms = Date.now() - t0;
  hasher.invalidate();
  params.forget();
  for (const o of stage.outs)
    if (!existsSync(join(opts.root, ...o.path.split('/'))))
      throw new PipelineError(`stage '${stage.address}' did not write its output '${o.def}'`, 'fix the command (or the outs of the stage), then run mk repro again');
  const tracked = await opts.workspace.track(stage.outs.filter((o) => o.cache).map((o) => o.path));
  const lock = await record(opts, stage, hasher, params, locks, written);
  if (opts.runCache !== false && cacheable(stage)) await saveRun(opts, stage, lock, tracked, index);
  return outcome;
}

function end(opts: ReproOptions, o: StageOutcome): StageOutcome {
  opts.onEvent?.({ type: 'end', outcome: o });
  return o;
}

/**
 * Outputs are deleted before their stage runs (unless `persist`), as DVC does. An output mk
 * tracks that holds content nothing has recorded (it differs from the lock, and from what mk
 * saved) would be lost: refused, unless --force. Outputs mk does not track are the stage's to
 * rewrite, as in DVC.
 */
async function guardOutputs(opts: ReproOptions, stage: Stage, st: StageState): Promise<void> {
  if (opts.force) return;
  const outs = st.reasons.find((r): r is Extract<Reason, { kind: 'outs' }> => r.kind === 'outs');
  const changed = (outs?.changes ?? []).filter((c) => c.state !== 'deleted').map((c) => c.path);
  const never = st.reasons.some((r) => r.kind === 'never-run');
  const candidates = stage.outs.filter((o) => !o.persist && (changed.includes(o.path) || (never && existsSync(join(opts.root, ...o.path.split('/')))))).map((o) => o.path);
  if (!candidates.length) return;
  const saved = await opts.workspace.saved(candidates);
  const lost = candidates.filter((p) => saved.get(p) === false);
  if (lost.length)
    throw new MkError(
      'EUNSAVED',
      `running stage '${stage.address}' would delete ${lost.join(', ')}, which ${lost.length === 1 ? 'holds' : 'hold'} changes that neither dvc.lock nor mk's cache records`,
      {
        hint: `save ${lost.length === 1 ? 'it' : 'them'} first ('mk add ${lost[0]}' or a commit), or let the stage overwrite ${lost.length === 1 ? 'it' : 'them'}: 'mk repro --force ${stage.address}'`,
        data: { paths: lost },
      },
    );
}

function removeOutputs(root: string, stage: Stage): void {
  for (const o of stage.outs) if (!o.persist) rmSync(join(root, ...o.path.split('/')), { recursive: true, force: true });
}

async function runCommands(opts: ReproOptions, stage: Stage): Promise<void> {
  const shell = process.env.SHELL && process.env.SHELL.startsWith('/') && existsSync(process.env.SHELL) ? process.env.SHELL : '/bin/sh';
  const cwd = join(opts.root, ...stage.wdir.split('/').filter((p) => p !== '.'));
  for (const cmd of cmds(stage)) {
    opts.signal?.throwIfAborted();
    const stdio = opts.output === 'ignore' ? 'ignore' : opts.output === 'stderr' ? (['inherit', process.stderr, 'inherit'] as const) : 'inherit';
    const r = await new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
      const child = spawn(shell, ['-c', cmd], { cwd, stdio: stdio as never, env: { ...process.env, ...opts.env, MK_STAGE: stage.address, MK_ROOT: opts.root }, signal: opts.signal });
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal }));
    });
    if (r.code !== 0) throw new StageFailedError(stage.address, r.code, r.signal, cmd);
  }
}

function lockItem(def: string, info: Md5Info): LockItem {
  const it: LockItem = { path: def, md5: info.md5, size: info.size, modern: true };
  if (info.isdir) it.nfiles = info.nfiles;
  if (info.isexec) it.isexec = true;
  return it;
}

/** The stage's inputs as the lock records them: its command, its deps' md5s and its params' values. */
async function currentInputs(stage: Stage, hasher: Md5Hasher, params: ParamsReader): Promise<{ lock: Omit<LockStage, 'outs'>; run: RunInputs } | undefined> {
  const deps: LockItem[] = [];
  for (const d of stage.deps) {
    const info = await hasher.hash(d.path);
    if (!info) return undefined;
    deps.push(lockItem(d.def, info));
  }
  const values: Record<string, Mapping> = {};
  for (const p of stage.params) {
    const v = params.values(p);
    if (!v) throw new PipelineError(`stage '${stage.address}': params file '${p.def}' does not exist`);
    if (v.missing.length) throw new PipelineError(`stage '${stage.address}': params ${v.missing.map((k) => `'${k}'`).join(', ')} are missing from '${p.def}'`);
    values[p.def] = v.values;
  }
  const sorted = sortItems(deps);
  const sp = sortParams(values);
  return { lock: { cmd: stage.cmd, deps: sorted, params: sp }, run: { cmd: stage.cmd, deps: sorted.map((d) => ({ path: d.path, md5: d.md5! })), params: sp } };
}

/** Writes the stage's lock entry from what is in the work tree now. */
async function record(opts: ReproOptions, stage: Stage, hasher: Md5Hasher, params: ParamsReader, locks: Locks, written: Set<string>): Promise<LockStage> {
  const inputs = await currentInputs(stage, hasher, params);
  if (!inputs) {
    const gone = [];
    for (const d of stage.deps) if (!(await hasher.hash(d.path))) gone.push(d.def);
    throw new PipelineError(`stage '${stage.address}': its dep '${gone[0]}' does not exist`, 'create it, or the stage that writes it, then run mk repro again');
  }
  const outs: LockItem[] = [];
  for (const o of stage.outs) {
    const info = await hasher.hash(o.path);
    if (!info) throw new PipelineError(`stage '${stage.address}': its output '${o.def}' does not exist`);
    outs.push(lockItem(o.def, info));
  }
  const entry: LockStage = { ...inputs.lock, outs: sortItems(outs) };
  // DVC still in use here: its cache gets the outputs too, so it decides as mk does.
  const dvcCache = dvcCacheDir(opts.root);
  if (dvcCache)
    for (const o of stage.outs) {
      const l = outs.find((x) => x.path === o.def)!;
      if (o.cache) await saveToDvcCache(dvcCache, hasher, o.path, join(opts.root, ...o.path.split('/')), l.md5!);
    }
  const lf = locks.of(stage);
  lf.stages.set(stage.name, entry);
  await writeLock(join(opts.root, ...stage.lockFile.split('/')), lf);
  written.add(stage.lockFile);
  return entry;
}

/** Stores this run in the run cache: the stage's inputs and outputs, with the outputs' blobs. */
async function saveRun(opts: ReproOptions, stage: Stage, lock: LockStage, tracked: Array<{ path: string; pointer: RunPointer }>, index: RunIndex): Promise<void> {
  const outs: RunOutput[] = [];
  const layers: Descriptor[] = [];
  for (const o of stage.outs) {
    const l = lock.outs.find((x) => x.path === o.def)!;
    const ro: RunOutput = { path: o.def, md5: l.md5!, size: l.size!, cache: o.cache, ...(l.nfiles !== undefined ? { nfiles: l.nfiles } : {}), ...(l.isexec ? { isexec: true } : {}) };
    if (o.cache) {
      const t = tracked.find((x) => x.path === o.path);
      if (!t) return;
      ro.pointer = t.pointer;
      const blobs = await outputBlobs(opts.cache, t.pointer);
      if (!blobs) return;
      layers.push(...blobs);
    } else {
      if (l.nfiles !== undefined) return; // a folder Git keeps: not kept in the run cache
      const bytes = readFileSync(join(opts.root, ...o.path.split('/')));
      const d: Descriptor = { mediaType: MediaType.octet, digest: sha256(bytes), size: bytes.length };
      await opts.cache.push(d, bufferSource(bytes));
      ro.blob = { digest: d.digest, size: d.size };
      layers.push(d);
    }
    outs.push(ro);
  }
  const inputs: RunInputs = { cmd: lock.cmd, deps: lock.deps.map((d) => ({ path: d.path, md5: d.md5! })), params: lock.params };
  const entry: RunEntry = { version: 1, key: runKey(inputs), stage: stage.name, inputs, outs };
  await saveEntry(opts.cache, index, entry, layers);
}

/** Every blob of an output in the cache (file blob; folder root, file lists, packs), or undefined if one is missing. */
async function outputBlobs(cache: CacheStore, p: RunPointer): Promise<Descriptor[] | undefined> {
  if (p.type === 'file') return cache.existsSync({ digest: p.digest, size: p.size }) ? [{ mediaType: MediaType.octet, digest: p.digest, size: p.size }] : undefined;
  const rootSize = cache.statBlobSync(p.digest);
  if (rootSize === undefined) return undefined;
  const root: Descriptor = { mediaType: MediaType.mkDirectory, digest: p.digest, size: rootSize };
  const kids = childrenOf(root, cache.readSmall(p.digest, 'a folder root'));
  for (const k of kids) if (!cache.existsSync(k)) return undefined;
  return [root, ...kids];
}

/** The run cache entry for these inputs: this clone's, else (when allowed) the remote's. */
async function findEntry(opts: ReproOptions, index: RunIndex, key: string, remoteToo: boolean): Promise<(Found & { from: 'cache' | 'remote'; remote?: Target }) | undefined> {
  const local = await localEntry(opts.cache, index, key);
  if (local) return { ...local, from: 'cache' };
  if (!remoteToo || !opts.remote) return undefined;
  const remote = await opts.remote().catch(() => undefined);
  if (!remote) return undefined;
  const found = await remoteEntry(remote, opts.cache, index, key);
  return found ? { ...found, from: 'remote', remote } : undefined;
}

/**
 * Looks for this stage's inputs in the run cache (this clone's index, then the remote's
 * `mk-run-<key>` tag) and restores the outputs from the entry. Undefined when there is no
 * usable entry: the stage then runs.
 */
async function restoreFromCache(opts: ReproOptions, stage: Stage, hasher: Md5Hasher, params: ParamsReader, index: RunIndex): Promise<Restored | undefined> {
  const inputs = await currentInputs(stage, hasher, params).catch(() => undefined);
  if (!inputs) return undefined;
  const key = runKey(inputs.run);
  const found = await findEntry(opts, index, key, true);
  return found ? applyEntry(opts, stage, hasher, index, key, found) : undefined;
}

/**
 * A stage whose inputs are what the lock records, but whose outputs are not (deleted,
 * edited): the outputs the lock records are put back without running, from the run cache
 * entry of exactly those inputs and outputs, or from DVC's cache where DVC keeps one.
 */
async function restoreRecorded(opts: ReproOptions, stage: Stage, st: StageState, rec: LockStage, hasher: Md5Hasher, params: ParamsReader, index: RunIndex): Promise<Restored | undefined> {
  const want = new Map(rec.outs.map((o) => [o.path, o.md5]));
  if (stage.outs.some((o) => !want.get(o.def))) return undefined;
  const inputs = await currentInputs(stage, hasher, params).catch(() => undefined);
  if (inputs && cacheable(stage)) {
    const key = runKey(inputs.run);
    const found = await findEntry(opts, index, key, opts.runCache !== false);
    if (found && found.entry.outs.every((o) => want.get(o.path) === o.md5)) {
      const r = await applyEntry(opts, stage, hasher, index, key, found);
      if (r) return { ...r, from: 'lock' };
    }
  }
  const dvc = dvcCacheDir(opts.root);
  if (!dvc) return undefined;
  const changed = new Set(st.reasons.flatMap((r) => (r.kind === 'outs' ? r.changes.map((c) => c.path) : [])));
  // DVC keeps even `cache: false` outputs in its cache once it ran a stage (for its run cache).
  const outs = stage.outs.filter((o) => changed.has(o.path));
  if (!outs.length) return undefined;
  for (const o of outs) if (!restoreFromDvcCache(dvc, join(opts.root, ...o.path.split('/')), want.get(o.def)!)) return undefined;
  hasher.invalidate();
  const tracked = await opts.workspace.track(stage.outs.filter((o) => o.cache).map((o) => o.path));
  return { from: 'lock', tracked };
}

interface Restored {
  from: 'cache' | 'remote' | 'lock';
  tracked: Array<{ path: string; pointer: RunPointer }>;
}

/**
 * Restores a stage's outputs from a run cache entry: the entry's outputs must be exactly the
 * stage's (paths come from dvc.yaml, never from the entry); its blobs come into the cache
 * (each verified) from where the entry came from; what is placed must have the md5s the
 * entry claims. Undefined (and the entry forgotten) when anything does not hold.
 */
async function applyEntry(
  opts: ReproOptions,
  stage: Stage,
  hasher: Md5Hasher,
  index: RunIndex,
  key: string,
  found: Found & { from: 'cache' | 'remote'; remote?: Target },
): Promise<Restored | undefined> {
  const entry = found.entry;
  let from = found.from;
  const byPath = new Map(entry.outs.map((o) => [o.path, o]));
  if (byPath.size !== stage.outs.length || stage.outs.some((o) => byPath.get(o.def)?.cache !== o.cache)) return undefined;
  const roots = outputRoots(entry, (d) => opts.cache.statBlobSync(d) ?? found.manifest.layers.find((l) => l.digest === d)?.size);
  if (!roots) return undefined;
  if (roots.some((r) => !opts.cache.existsSync(r))) {
    const remote = found.remote ?? (opts.remote ? await opts.remote().catch(() => undefined) : undefined);
    if (!remote) return undefined;
    try {
      await copyGraph(remote, opts.cache, [found.manifestDesc], { signal: opts.signal });
    } catch {
      return undefined;
    }
    from = 'remote';
  }
  removeOutputs(opts.root, stage);
  const place = stage.outs.filter((o) => o.cache).map((o) => ({ path: o.path, pointer: byPath.get(o.def)!.pointer! }));
  if (place.length) await opts.workspace.place(place);
  for (const o of stage.outs.filter((x) => !x.cache)) {
    const b = byPath.get(o.def)!.blob!;
    const d = { mediaType: MediaType.octet, digest: b.digest, size: b.size };
    const bytes = await readAll(verifying(await opts.cache.fetch(d), d, `${o.def} from the run cache`), 64 << 20);
    await writeFileAtomic(join(opts.root, ...o.path.split('/')), bytes);
  }
  hasher.invalidate();
  // What was placed must be what the entry says (its md5s are the entry's word; the bytes are checked by sha256).
  for (const o of stage.outs) {
    const info = await hasher.hash(o.path);
    if (!info || info.md5 !== byPath.get(o.def)!.md5) {
      index.forget(key);
      removeOutputs(opts.root, stage);
      hasher.invalidate();
      return undefined;
    }
  }
  const tracked = await opts.workspace.track(stage.outs.filter((o) => o.cache).map((o) => o.path));
  return { from, tracked };
}

interface Found {
  entry: RunEntry;
  manifest: { layers: Descriptor[] };
  manifestDesc: Descriptor;
}

async function localEntry(cache: CacheStore, index: RunIndex, key: string): Promise<Found | undefined> {
  const desc = index.get(key);
  if (!desc || !cache.existsSync(desc)) return undefined;
  const r = await readEntry(cache, desc, key);
  if (typeof r === 'string') {
    index.forget(key);
    return undefined;
  }
  return { entry: r.entry, manifest: r.manifest, manifestDesc: desc };
}

/** The remote's entry for a key (its tag), checked, with its manifest and config stored in the cache. */
export async function remoteEntry(remote: Target, cache: CacheStore, index: RunIndex, key: string): Promise<Found | undefined> {
  let desc: Descriptor;
  try {
    desc = await remote.resolve(RUN_TAG_PREFIX + key);
  } catch {
    return undefined;
  }
  if (desc.mediaType !== MediaType.ociManifest) return undefined;
  const r = await readEntry(remote, desc, key);
  if (typeof r === 'string') return undefined;
  await cache.push(r.manifest.config, bufferSource(r.config));
  await cache.push(desc, bufferSource(r.bytes));
  index.set(key, desc);
  return { entry: r.entry, manifest: r.manifest, manifestDesc: desc };
}
