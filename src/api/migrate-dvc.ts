import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { MkError, NotARepositoryError } from '../errors/index.js';
import { readDvcFile, readDvcLock, type DvcOut, type DvcSkip } from '../formats/dvc.js';
import { StatCache } from '../hashing/stat-cache.js';
import { configuredFilter } from '../git/filter-config.js';
import { underPrefix, workspacePointerPaths } from '../git/pointers.js';
import { git } from '../git/run.js';
import { dataPathFor } from '../formats/pointer.js';
import { RepoContext } from '../repo/context.js';
import { readAttributes, usesFilter } from '../repo/gitattributes.js';
import { removeIgnored } from '../repo/gitignore.js';
import { abs, assertNoSymlinkedParents, repoRelative } from '../repo/paths.js';
import { dvcCacheDir, importOuts, planOut, type PlannedOut } from '../worktree/dvc-import.js';
import { add } from './add.js';

export interface DvcMigrateOptions {
  cwd?: string;
  /** Only the outputs at or under these paths, or recorded by these `.dvc` files (default: all). */
  paths?: string[];
  dryRun?: boolean;
  /** Run `dvc fetch` for outputs whose bytes are in neither the work tree nor DVC's cache. */
  fetch?: boolean;
}

export interface DvcMigrated {
  path: string;
  type: 'file' | 'dir';
  /** The `.dvc` file or `dvc.lock` that recorded it. */
  source: string;
  stage?: string;
  files: number;
  /** Files taken from DVC's cache (absent from the work tree, or links into the cache). */
  fromCache: number;
  /** The pointer mk recorded (undefined with dryRun). */
  digest?: string;
  size?: number;
  /** With dryRun: what stops this output from being taken over. */
  problem?: string;
}

export interface DvcMigrateResult {
  dryRun: boolean;
  migrated: DvcMigrated[];
  skipped: DvcSkip[];
  /** `.dvc` files removed (all their outputs taken over). */
  removed: string[];
  /** Outputs `dvc fetch` was run for. */
  fetched: string[];
  /** Bytes read and checked against DVC's md5s. */
  checkedBytes: number;
}

interface Found {
  outs: DvcOut[];
  skipped: DvcSkip[];
  /** `.dvc` files, with whether every output of theirs can be taken over. */
  dvcFiles: Map<string, boolean>;
}

/** The outputs DVC records in this work tree: `.dvc` files and the `outs` of every `dvc.lock`. */
async function findOuts(ctx: RepoContext): Promise<Found> {
  const files = (await git(ctx.root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])).split('\0').filter(Boolean);
  const found: Found = { outs: [], skipped: [], dvcFiles: new Map() };
  const read = (f: string) => readFileSync(abs(ctx.root, f), 'utf8');
  for (const f of [...new Set(files)].sort()) {
    const name = f.slice(f.lastIndexOf('/') + 1);
    if (f.startsWith('.dvc/') || !existsSync(abs(ctx.root, f))) continue;
    try {
      if (name.endsWith('.dvc') && name !== '.dvc') {
        const r = readDvcFile(read(f), f);
        found.outs.push(...r.outs);
        found.skipped.push(...r.skipped);
        found.dvcFiles.set(f, r.complete);
      } else if (name === 'dvc.lock') {
        const yamlFile = f.replace(/dvc\.lock$/, 'dvc.yaml');
        const r = readDvcLock(read(f), f, existsSync(abs(ctx.root, yamlFile)) ? read(yamlFile) : undefined);
        found.outs.push(...r.outs);
        found.skipped.push(...r.skipped);
      }
    } catch (e) {
      found.skipped.push({ path: f, source: f, reason: (e as Error).message });
      if (name.endsWith('.dvc')) found.dvcFiles.set(f, false);
    }
  }
  return found;
}

/** Runs `dvc fetch` for the given outputs (DVC fetches into its cache: mk then takes the bytes from there). */
function dvcFetch(root: string, paths: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('dvc', ['fetch', '--', ...paths], { cwd: root, maxBuffer: 64 << 20 }, (err, _out, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return reject(new MkError('ENODVC', "'--fetch' needs DVC, which is not on PATH", { hint: `run 'dvc fetch ${paths.join(' ')}' where DVC is installed (pip install dvc), then migrate again` }));
      const why = stderr.trim().split('\n').filter(Boolean).pop() ?? err.message;
      reject(new MkError('EDVCFETCH', `dvc fetch failed: ${why.replace(/^ERROR:\s*/, '')}`, { hint: "check DVC's remote ('dvc remote list') and its credentials, then migrate again" }));
    });
  });
}

/**
 * `mk migrate --from-dvc`: takes the outputs DVC tracks (`.dvc` files, and the cached outputs of
 * `dvc.lock`) over as mk artifacts. Each file's bytes come from the work tree or DVC's cache
 * (never downloaded again), are hashed to sha256 and checked against DVC's md5 in the same pass;
 * files go through mk's Git filter (or get pointer files, in a repository without the filter),
 * folders get a folder pointer. `dvc.yaml` and `dvc.lock` stay (the pipeline's outputs are now
 * kept by mk); the `.dvc` files whose outputs were all taken over, and DVC's `.gitignore` lines for
 * files now in Git through the filter, go. Everything is staged; nothing is committed. Any output
 * whose bytes are missing or differ from DVC's record stops the whole run before the work tree
 * changes.
 */
export async function migrateFromDvc(opts: DvcMigrateOptions = {}): Promise<DvcMigrateResult> {
  const ctx = RepoContext.open(opts.cwd);
  if (!ctx.initialized) throw new NotARepositoryError('mk is not set up in this repository (no .mk/config.yaml)', "run 'mk init' and 'mk install', then 'mk migrate --from-dvc'");
  const dryRun = !!opts.dryRun;
  const found = await findOuts(ctx);
  if (!found.outs.length && !found.skipped.length) throw new MkError('ENODVC', 'no DVC outputs here: no .dvc file and no dvc.lock with outputs', { hint: "run it in the DVC repository's work tree" });
  const cwd = opts.cwd ?? process.cwd();
  const wanted = (opts.paths ?? []).map((p) => repoRelative(ctx.root, p.replace(/\/+$/, '') || p, cwd));
  const picked = (o: { path: string; source: string }) => !wanted.length || wanted.some((w) => w === '.' || w === o.source || underPrefix(o.path, w));
  const result: DvcMigrateResult = { dryRun, migrated: [], skipped: found.skipped.filter(picked), removed: [], fetched: [], checkedBytes: 0 };
  // Outputs Git or mk keeps already are not DVC's to hand over.
  const tracked = new Set<string>();
  for (const t of (await git(ctx.root, ['ls-files', '-z', '--cached'])).split('\0')) {
    // The path and every folder above it: an output Git holds files inside is Git's too.
    for (let p = t; p; p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '') tracked.add(p);
  }
  const mkTracked = new Set((await workspacePointerPaths(ctx.root)).map(dataPathFor));
  const seen = new Set<string>();
  const outs: DvcOut[] = [];
  for (const o of found.outs.filter(picked)) {
    const reason = seen.has(o.path)
      ? 'recorded twice (the first record is taken over)'
      : mkTracked.has(o.path)
        ? 'mk tracks it already'
        : tracked.has(o.path)
          ? 'Git tracks it (cache: false)'
          : undefined;
    if (reason) {
      result.skipped.push({ path: o.path, source: o.source, reason });
      if (!seen.has(o.path) && found.dvcFiles.has(o.source)) found.dvcFiles.set(o.source, false);
      continue;
    }
    assertNoSymlinkedParents(ctx.root, o.path);
    seen.add(o.path);
    outs.push(o);
  }
  if (!outs.length) return result;
  const cacheDir = dvcCacheDir(ctx.root);
  let plans = outs.map((o) => planOut(ctx, cacheDir, o));
  const missing = () => plans.filter((p) => p.problem?.kind === 'missing').map((p) => p.out.path);
  if (opts.fetch && missing().length && !dryRun) {
    result.fetched = missing();
    await dvcFetch(ctx.root, result.fetched);
    plans = outs.map((o) => planOut(ctx, cacheDir, o));
  }
  const describe = (p: PlannedOut): DvcMigrated => {
    const m: DvcMigrated = { path: p.out.path, type: p.out.dir ? 'dir' : 'file', source: p.out.source, files: p.files.length, fromCache: p.files.filter((f) => f.from === 'dvc-cache').length };
    if (p.out.stage) m.stage = p.out.stage;
    if (p.problem) m.problem = p.problem.message;
    return m;
  };
  if (dryRun) {
    result.migrated = plans.map(describe);
    return result;
  }
  const blocked = plans.filter((p) => p.problem);
  if (blocked.length) throw blockedError(blocked, !!opts.fetch);
  const fileOuts = plans.filter((p) => !p.out.dir);
  if (fileOuts.length && usesFilter(readAttributes(ctx.root)) && !(await configuredFilter(ctx.root)))
    throw new MkError('ENOFILTER', `mk's Git filter is not set up in this clone, so the files DVC tracks (${fileOuts[0]!.out.path}) cannot go through it`, {
      hint: "run 'mk install' (or 'mk install --global'), then 'mk migrate --from-dvc' again",
    });
  const stat = new StatCache(ctx.stateDir);
  const lock = await ctx.lock();
  try {
    result.checkedBytes = (await importOuts(ctx, stat, plans)).bytes;
  } finally {
    stat.save();
    lock.release();
  }
  // DVC's .gitignore lines go; mk writes its own for folders (the same line) as it tracks them.
  const ignoreFiles = new Set<string>();
  for (const p of plans) {
    const f = await removeIgnored(ctx.root, p.out.path);
    if (f) ignoreFiles.add(f);
  }
  const added = new Map(
    (
      await add(
        plans.map((p) => p.out.path),
        { cwd: ctx.root },
      )
    ).map((a) => [a.path, a]),
  );
  for (const p of plans) {
    const m = describe(p);
    const a = added.get(p.out.path);
    if (a) {
      m.digest = a.pointer.digest;
      m.size = a.pointer.size;
    }
    result.migrated.push(m);
  }
  // A .dvc file goes when every output it records was taken over in this run.
  const taken = new Set(plans.map((p) => p.out.path));
  for (const [file, complete] of found.dvcFiles) {
    if (!complete || !found.outs.filter((o) => o.source === file).every((o) => taken.has(o.path))) continue;
    result.removed.push(file);
  }
  if (result.removed.length) {
    await git(ctx.root, ['rm', '-q', '--cached', '--ignore-unmatch', '--', ...result.removed]);
    for (const f of result.removed) rmSync(abs(ctx.root, f), { force: true });
  }
  const stage = [...ignoreFiles].filter((f) => existsSync(abs(ctx.root, f)));
  if (stage.length) await git(ctx.root, ['add', '--', ...stage]);
  return result;
}

function blockedError(blocked: PlannedOut[], fetched: boolean): MkError {
  const first = blocked[0]!;
  const more = blocked.length > 1 ? ` (and ${blocked.length - 1} more output(s): 'mk migrate --from-dvc --dry-run' lists them)` : '';
  const missing = blocked.filter((b) => b.problem!.kind === 'missing').map((b) => b.out.path);
  const hint =
    first.problem!.kind === 'missing'
      ? fetched
        ? `DVC's remote lacks them too: push them from a clone that has them ('dvc push'), or leave them out: 'mk migrate --from-dvc <other paths>'`
        : `run 'dvc fetch ${missing.join(' ')}' (or 'mk migrate --from-dvc --fetch' with DVC installed), then migrate again; or leave them out: 'mk migrate --from-dvc <other paths>'`
      : first.problem!.kind === 'modified'
        ? "record the change with 'dvc add' or 'dvc commit', or drop it with 'dvc checkout', then migrate again"
        : "fetch a good copy with 'dvc fetch' (remove the damaged object first), then migrate again";
  return new MkError(first.problem!.kind === 'missing' ? 'EMISSING' : first.problem!.kind === 'modified' ? 'EMODIFIED' : 'EDVCCACHE', first.problem!.message + more, {
    hint,
    data: { paths: blocked.map((b) => b.out.path) },
  });
}
