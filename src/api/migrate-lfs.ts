import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { MkError, NotARepositoryError, UsageError } from '../errors/index.js';
import { parseLfsPointer, type LfsPointer } from '../formats/lfs-pointer.js';
import { parsePointer } from '../formats/pointer.js';
import { hashFile } from '../hashing/digest.js';
import { StatCache } from '../hashing/stat-cache.js';
import { ObjectReader } from '../git/cat-file-command.js';
import { configuredFilter } from '../git/filter-config.js';
import { recordIndexStat } from '../git/index-stat.js';
import { LfsToMk } from '../git/lfs-rewrite.js';
import { gitBytes, ObjectWriter, rewriteHistory, updateRefs } from '../git/rewrite.js';
import { git } from '../git/run.js';
import { RepoContext } from '../repo/context.js';
import { attributesFromLfs } from '../repo/gitattributes.js';
import { abs } from '../repo/paths.js';
import { writeFileAtomic } from '../util/fs.js';
import { placeBlob } from '../worktree/materialize.js';
import { ingestLfsObjects, lfsStorage, missingError, missingLfsObjects } from '../worktree/lfs-import.js';
import { addFilteredFiles } from './add-filtered.js';

export interface LfsMigrateOptions {
  cwd?: string;
  dryRun?: boolean;
  /** Rewrite history (every commit on `refs`) instead of converting the work tree. */
  history?: boolean;
  /** With history: the refs to rewrite (branches, tags; default: the current branch). */
  refs?: string[];
  /** With history: every local branch and tag. */
  everything?: boolean;
  /** Called as history is read: commits done, of. */
  onProgress?: (done: number, of: number) => void;
}

export interface LfsMigrateResult {
  dryRun: boolean;
  mode: 'worktree' | 'history';
  /** Work tree: the files converted. History: the distinct (path, content) pointers converted. */
  files: number;
  paths?: string[];
  /** `.gitattributes` files whose LFS attributes now name mk (work tree). */
  attributes: string[];
  /** Distinct LFS objects the converted pointers name, their bytes, and how many were copied into mk's cache. */
  objects: number;
  bytes: number;
  copied: number;
  /** With dryRun: LFS objects neither Git LFS nor mk has here. */
  missing: string[];
  /** History: commits read and rewritten, and each ref moved. */
  commits?: number;
  rewritten?: number;
  refs?: Array<{ ref: string; old: string; new: string }>;
  /** History: where the old refs are kept (`<backup>/heads/main`...). */
  backup?: string;
  /** Something the user should know (the index did not come out as HEAD...). */
  warnings: string[];
}

function checkSetup(ctx: RepoContext): void {
  if (!ctx.initialized) throw new NotARepositoryError('mk is not set up in this repository (no .mk/config.yaml)', "run 'mk init' and 'mk install', then 'mk migrate --from-lfs'");
}

async function needFilter(ctx: RepoContext): Promise<void> {
  if (!(await configuredFilter(ctx.root)))
    throw new MkError('ENOFILTER', "mk's Git filter is not set up in this clone: the files Git LFS kept cannot go through it", {
      hint: "run 'mk install' (or 'mk install --global'), then migrate again",
    });
}

/** Paths git status lists as changed (tracked files only); `unstaged`: only those whose work-tree file differs from the index. */
async function changedPaths(root: string, unstaged = false): Promise<Set<string>> {
  const out = (await git(root, ['status', '--porcelain=v1', '-z', '--untracked-files=no'])).split('\0');
  const set = new Set<string>();
  for (let i = 0; i < out.length; i++) {
    const e = out[i]!;
    if (e.length < 4) continue;
    if (!unstaged || e[1] !== ' ') set.add(e.slice(3));
    if (e[0] === 'R' || e[0] === 'C') set.add(out[++i]!); // the source of a rename
  }
  return set;
}

/**
 * `mk migrate --from-lfs`: files Git LFS keeps go through mk's Git filter instead. Their bytes
 * come from Git LFS's objects (`.git/lfs/objects`), checked against their oid (their sha256,
 * which is mk's digest too) on the way into mk's cache.
 *
 * Work tree (default): every `.gitattributes` gives LFS's attributes to mk, and each LFS file in
 * the index is staged as the mk pointer of the same bytes (the work tree keeps them), all staged
 * for the next commit. History (`history`): every commit on the refs is rewritten, as `git lfs
 * migrate import` does (see git/rewrite.ts), the old refs kept under `refs/mk-migrate-backup/`.
 */
export async function migrateFromLfs(opts: LfsMigrateOptions = {}): Promise<LfsMigrateResult> {
  const ctx = RepoContext.open(opts.cwd);
  checkSetup(ctx);
  if (!opts.history && (opts.refs?.length || opts.everything))
    throw new UsageError('refs and --everything go with --history', "without --history mk converts the work tree only: 'mk migrate --from-lfs --history [<ref>...]' rewrites commits");
  return opts.history ? fromLfsHistory(ctx, opts) : fromLfsWorktree(ctx, opts);
}

async function fromLfsWorktree(ctx: RepoContext, opts: LfsMigrateOptions): Promise<LfsMigrateResult> {
  const dryRun = !!opts.dryRun;
  const entries = (await git(ctx.root, ['ls-files', '-s', '-z'])).split('\0').filter(Boolean);
  const reader = new ObjectReader(ctx.commonDir);
  const candidates: Array<{ path: string; exec: boolean; pointer: LfsPointer }> = [];
  const attrFiles: string[] = [];
  try {
    for (const e of entries) {
      const tab = e.indexOf('\t');
      const [mode, oid, stage] = e.slice(0, tab).split(' ');
      const path = e.slice(tab + 1);
      if (stage !== '0' || (mode !== '100644' && mode !== '100755')) continue;
      if (path === '.gitattributes' || path.endsWith('/.gitattributes')) {
        attrFiles.push(path);
        continue;
      }
      const info = await reader.info(oid!);
      if (!info || info.size === 0 || info.size >= 1024) continue;
      const pointer = parseLfsPointer((await reader.contents(oid!))!.body);
      if (pointer) candidates.push({ path, exec: mode === '100755', pointer });
    }
  } finally {
    reader.close();
  }
  const lfsPaths = new Set<string>();
  if (candidates.length) {
    const out = (await git(ctx.root, ['check-attr', '-z', '--stdin', 'filter'], { input: candidates.map((c) => c.path + '\0').join('') })).split('\0');
    for (let i = 0; i + 2 < out.length; i += 3) if (out[i + 2] === 'lfs') lfsPaths.add(out[i]!);
  }
  const files = candidates.filter((c) => lfsPaths.has(c.path));
  const texts = new Map<string, string>();
  for (const f of new Set([...attrFiles, '.gitattributes'])) if (existsSync(abs(ctx.root, f))) texts.set(f, readFileSync(abs(ctx.root, f), 'utf8'));
  const newAttributes = attributesFromLfs(texts);
  const attributes = [...newAttributes.keys()];
  const wanted = new Map(files.map((f) => [f.pointer.oid, f.pointer.size]));
  const storage = await lfsStorage(ctx.root, ctx.commonDir);
  const result: LfsMigrateResult = {
    dryRun,
    mode: 'worktree',
    files: files.length,
    paths: files.map((f) => f.path),
    attributes,
    objects: wanted.size,
    bytes: [...wanted.values()].reduce((a, b) => a + b, 0),
    copied: 0,
    missing: [],
    warnings: [],
  };
  if (!files.length && !attributes.length) return result;
  result.missing = missingLfsObjects(ctx.cache, storage, wanted);
  if (dryRun) return result;
  if (result.missing.length) throw missingError(result.missing, wanted, storage);
  await needFilter(ctx);
  // The user's changes stay theirs: a .gitattributes changed since it was staged stops the run (its
  // new text is staged), and an LFS file that
  // git lists as changed must hold exactly its pointer's bytes (git without Git LFS's filter lists
  // every smudged file).
  const changed = await changedPaths(ctx.root, true);
  const dirtyAttr = attributes.find((f) => changed.has(f));
  if (dirtyAttr) throw new MkError('EDIRTY', `${dirtyAttr} has changes that are not committed`, { hint: "commit or stash them ('git stash'), then migrate again" });
  for (const f of files) {
    if (!changed.has(f.path)) continue;
    const st = lstatSync(abs(ctx.root, f.path), { throwIfNoEntry: false });
    const same = st?.isFile() && st.size === f.pointer.size && (await hashFile(abs(ctx.root, f.path))).digest === `sha256:${f.pointer.oid}`;
    if (!same && !(st?.isFile() && isPointerFile(abs(ctx.root, f.path), f.pointer)))
      throw new MkError('EDIRTY', `${f.path} has changes that are not committed`, { hint: "commit them with Git LFS first, or drop them ('git checkout -- <path>'), then migrate again" });
  }
  const stat = new StatCache(ctx.stateDir);
  const lock = await ctx.lock();
  try {
    result.copied = (await ingestLfsObjects(ctx.cache, storage, wanted)).copied;
    for (const [f, text] of newAttributes) await writeFileAtomic(abs(ctx.root, f), text);
    for (const f of files) await settleFile(ctx, stat, f.path, f.pointer, f.exec);
  } finally {
    stat.save();
    lock.release();
  }
  if (attributes.length) await git(ctx.root, ['add', '--', ...attributes]);
  // Staged as `mk add` stages a file: the pointer the clean filter gives, and the file's stat data.
  if (files.length)
    await addFilteredFiles(
      ctx,
      files.map((f) => f.path),
      {},
    );
  return result;
}

/** Whether the file holds the LFS pointer text `p` itself (Git LFS never smudged it). */
function isPointerFile(path: string, p: LfsPointer): boolean {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st?.isFile() || st.size >= 1024) return false;
  const q = parseLfsPointer(readFileSync(path));
  return !!q && q.oid === p.oid && q.size === p.size;
}

/**
 * A converted file holds its bytes in the work tree: a file that holds the LFS pointer text is
 * replaced by the bytes from mk's cache, and mk's stat cache learns its digest (the filter will
 * not hash it again).
 */
async function settleFile(ctx: RepoContext, stat: StatCache, path: string, p: LfsPointer, exec: boolean): Promise<void> {
  const file = abs(ctx.root, path);
  const st = lstatSync(file, { throwIfNoEntry: false });
  const digest = `sha256:${p.oid}`;
  if (st?.isFile() && st.size === p.size && !isPointerFile(file, p)) {
    stat.record(path, st, digest);
    return;
  }
  const placed = await placeBlob(ctx.cache, digest, p.size, file, exec ? 0o755 : 0o644, 'copy');
  stat.record(path, placed.stat, digest, undefined, true);
}

async function historyRefs(ctx: RepoContext, opts: LfsMigrateOptions): Promise<string[]> {
  if (opts.everything) {
    if (opts.refs?.length) throw new UsageError('--everything rewrites every branch and tag: name no refs with it');
    return (await git(ctx.root, ['for-each-ref', '--format=%(refname)', 'refs/heads', 'refs/tags'])).split('\n').filter(Boolean);
  }
  if (!opts.refs?.length) {
    const head = (await git(ctx.root, ['symbolic-ref', '-q', 'HEAD'], { okCodes: [1] })).trim();
    if (!head) throw new UsageError('HEAD is detached: name the branches or tags to rewrite', "e.g. 'mk migrate --from-lfs --history main', or --everything");
    return [head];
  }
  const out: string[] = [];
  for (const r of opts.refs) {
    if (r.startsWith('-')) throw new UsageError(`not a ref: ${r}`);
    const full = (await git(ctx.root, ['rev-parse', '--symbolic-full-name', '--verify', '--quiet', r], { okCodes: [1, 128] })).trim();
    if (!/^refs\/(heads|tags)\//.test(full)) throw new UsageError(`${r} is not a local branch or tag`, "name branches or tags ('git branch', 'git tag' list them)");
    out.push(full);
  }
  return [...new Set(out)];
}

function backupName(): string {
  return `refs/mk-migrate-backup/${new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

async function fromLfsHistory(ctx: RepoContext, opts: LfsMigrateOptions): Promise<LfsMigrateResult> {
  const dryRun = !!opts.dryRun;
  const refs = await historyRefs(ctx, opts);
  if (!dryRun) {
    await needFilter(ctx);
    for (const f of ['MERGE_HEAD', 'CHERRY_PICK_HEAD', 'REVERT_HEAD', 'rebase-merge', 'rebase-apply'])
      if (existsSync(abs(ctx.gitDir, f)))
        throw new MkError('EBUSY', `a ${f.startsWith('rebase') ? 'rebase' : f.split('_')[0]!.toLowerCase().replace('cherry', 'cherry-pick')} is in progress`, {
          hint: 'finish or abort it, then migrate',
        });
    const changed = await changedPaths(ctx.root);
    if (changed.size)
      throw new MkError(
        'EDIRTY',
        `the work tree has changes that are not committed (${[...changed][0]}${changed.size > 1 ? ` and ${changed.size - 1} more` : ''}); rewriting history needs a clean work tree`,
        {
          hint: "commit or stash them ('git stash'), then migrate again",
        },
      );
  }
  const hexLength = (await git(ctx.root, ['rev-parse', '--show-object-format'])).trim() === 'sha256' ? 64 : 40;
  const headRef = (await git(ctx.root, ['symbolic-ref', '-q', 'HEAD'], { okCodes: [1] })).trim();
  const oldHead = (await git(ctx.root, ['rev-parse', '--verify', '--quiet', 'HEAD'], { okCodes: [1] })).trim();
  const reader = new ObjectReader(ctx.commonDir);
  const writer = new ObjectWriter(ctx.root, hexLength);
  const visitor = new LfsToMk(ctx.root, reader, writer, hexLength);
  const storage = await lfsStorage(ctx.root, ctx.commonDir);
  try {
    const rw = await rewriteHistory(ctx.root, reader, writer, hexLength, refs, visitor, opts.onProgress);
    const result: LfsMigrateResult = {
      dryRun,
      mode: 'history',
      files: visitor.converted,
      attributes: [],
      objects: visitor.objects.size,
      bytes: [...visitor.objects.values()].reduce((a, b) => a + b, 0),
      copied: 0,
      missing: missingLfsObjects(ctx.cache, storage, visitor.objects),
      commits: rw.commits,
      rewritten: rw.rewritten,
      refs: rw.refs,
      warnings: [],
    };
    if (dryRun || !rw.refs.length) return result;
    if (result.missing.length) throw missingError(result.missing, visitor.objects, storage);
    const lock = await ctx.lock();
    try {
      result.copied = (await ingestLfsObjects(ctx.cache, storage, visitor.objects)).copied;
      await writer.flush();
      result.backup = backupName();
      await updateRefs(ctx.root, rw.refs, result.backup, 'mk migrate --from-lfs --history');
    } finally {
      lock.release();
    }
    const moved = rw.refs.find((r) => r.ref === headRef);
    if (moved && oldHead) await followHead(ctx, oldHead, moved.new, result);
    return result;
  } finally {
    reader.close();
  }
}

/**
 * The current branch was rewritten: its index and work tree follow without Git reading a byte
 * through a filter. `.gitattributes` files get their new text; each converted file keeps its
 * bytes (or gets them, where Git LFS left its pointer text) and its index entry becomes the mk
 * pointer with the file's stat data, so `git status` is clean at once.
 */
async function followHead(ctx: RepoContext, oldHead: string, newHead: string, result: LfsMigrateResult): Promise<void> {
  const raw = (await gitBytes(ctx.root, ['diff-tree', '-r', '-z', '--no-renames', oldHead, newHead])).toString('utf8').split('\0');
  const attrs: string[] = [];
  const files: Array<{ path: string; mode: string; oid: string }> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const [, mode, , oid] = raw[i]!.slice(1).split(' ');
    const path = raw[i + 1]!;
    if (path === '.gitattributes' || path.endsWith('/.gitattributes')) attrs.push(path);
    else files.push({ path, mode: mode!, oid: oid! });
  }
  for (const f of attrs) await writeFileAtomic(abs(ctx.root, f), await git(ctx.root, ['cat-file', 'blob', `${newHead}:${f}`]));
  result.attributes = attrs;
  const stat = new StatCache(ctx.stateDir);
  const lock = await ctx.lock();
  try {
    const stats = [];
    for (const f of files) {
      const p = parsePointer(await git(ctx.root, ['cat-file', 'blob', f.oid]), f.path);
      const oid = p.digest.slice(7);
      await settleFile(ctx, stat, f.path, { oid, size: p.size }, f.mode === '100755');
      stats.push({ path: f.path, oid: f.oid, st: lstatSync(abs(ctx.root, f.path), { bigint: true }) });
    }
    stat.save();
    if (files.length) await git(ctx.root, ['update-index', '-z', '--index-info'], { input: files.map((f) => `${f.mode} ${f.oid}\t${f.path}\0`).join('') });
    await recordIndexStat(ctx.root, stats);
  } finally {
    stat.save();
    lock.release();
  }
  if (attrs.length) await git(ctx.root, ['add', '--', ...attrs]);
  if ((await git(ctx.root, ['diff-index', '--cached', '--name-only', 'HEAD', '--'])).trim())
    result.warnings.push("the index differs from the rewritten HEAD: check 'git status' ('git reset' takes the index back to HEAD)");
}
