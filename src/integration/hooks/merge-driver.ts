import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadDirManifestFrom, mergeEntries, mergeFiles, storeMergedDir, type BlobSources, type FileChangeKind } from '../../worktree/merge.js';
import type { Target } from '../../content/storage.js';
import { isMkError, MkError } from '../../errors/index.js';
import { pointersAtCommit } from '../../git/pointers.js';
import { git } from '../../git/run.js';
import type { DirManifest } from '../../formats/dir-manifest.js';
import { dataPathFor, isPointerPath, parsePointer, serializePointer, type Pointer } from '../../formats/pointer.js';
import { openRemote, remoteConfig } from '../../remote/remotes.js';
import { RepoContext } from '../../repo/context.js';
import { PLACED_MERGES, readPlacedMerges } from './pre-commit.js';

/** How the two sides are named in messages (a rebase replays your commit onto the upstream: "ours" is the upstream). */
export interface SideNames {
  ours: string;
  theirs: string;
  /** The command that concludes the operation once the conflicts are resolved. */
  conclude: string;
  /** The command that gives the operation up. */
  abort: string;
}

/**
 * Git merge driver for pointer files (`merge=mk`). A side that did not change the artifact
 * gives way to the side that did. When both changed a tracked folder, it is merged file by
 * file against the common base (see mergeFiles): without conflicts the merged folder's
 * manifest (and every blob it names) is stored in the cache and its pointer is the result;
 * with conflicts the pointer gets conflict markers (ours and theirs, as before), every
 * conflicting file is listed with what each side did and how to pick a side, and the
 * non-conflicting changes are placed in the work tree. Files, and anything mk cannot merge
 * (a type change, a pointer it cannot read, data it cannot find), conflict as a whole.
 * Returns the exit status git expects (0 merged, 1 conflict).
 */
export async function mergePointers(base: string, ours: string, theirs: string, path: string, messages: string[]): Promise<number> {
  const o = read(base);
  const a = read(ours);
  const b = read(theirs);
  if (a === b || b === o) return 0;
  if (a === o) {
    writeFileSync(ours, b);
    return 0;
  }
  let ctx: RepoContext | undefined;
  try {
    ctx = RepoContext.open();
  } catch {
    /* not an mk repository: the pointers conflict as a whole */
  }
  const names = ctx ? await sideNames(ctx) : DEFAULT_NAMES;
  const whole = () => {
    writeFileSync(ours, `<<<<<<< ours\n${a}=======\n${b}>>>>>>> theirs\n`);
    messages.push(`mk: both branches changed the tracked artifact ${isPointerPath(path) ? dataPathFor(path) : path}. (ours: ${names.ours}; theirs: ${names.theirs})`);
    messages.push(
      `hint: keep one side with 'git checkout --ours -- ${q(path)}' or 'git checkout --theirs -- ${q(path)}', then run 'mk checkout' and 'git add ${q(path)}'; or save merged data with 'mk add'`,
    );
    return 1;
  };
  let po: Pointer | undefined;
  let pa: Pointer;
  let pb: Pointer;
  try {
    po = o ? parsePointer(o, path) : undefined;
    pa = parsePointer(a, path);
    pb = parsePointer(b, path);
  } catch {
    return whole();
  }
  if (!ctx?.initialized || pa.type !== 'dir' || pb.type !== 'dir' || (po && po.type !== 'dir') || pa.digest === pb.digest) return whole();
  try {
    return await mergeFolder(ctx, { path, ours, po, pa, pb, a, b, names }, messages);
  } catch (e) {
    // Whatever stopped it (data nowhere to be found, a damaged blob, a full disk), the
    // pointer must not look merged: it conflicts as a whole.
    messages.push(`mk: could not merge the folder ${dataPathFor(path)} file by file: ${(e as Error).message}`);
    if (e instanceof MkError && e.hint) messages.push(`hint: ${e.hint}`);
    return whole();
  }
}

interface FolderMerge {
  path: string;
  ours: string;
  po: Pointer | undefined;
  pa: Pointer;
  pb: Pointer;
  a: string;
  b: string;
  names: SideNames;
}

const EMPTY: DirManifest = { files: [], layers: [] };

async function mergeFolder(ctx: RepoContext, m: FolderMerge, messages: string[]): Promise<number> {
  const dataPath = dataPathFor(m.path);
  let remote: Promise<Target> | undefined;
  const src: BlobSources = {
    cache: ctx.cache,
    remote: ctx.config.remotes.length ? () => (remote ??= openRemote(ctx, remoteConfig(ctx), { readOnly: true })) : undefined,
  };
  const lock = await ctx.lock();
  let merged;
  let result;
  try {
    const base = m.po ? await loadDirManifestFrom(src, m.po.digest) : EMPTY;
    const mo = await loadDirManifestFrom(src, m.pa.digest);
    const mt = await loadDirManifestFrom(src, m.pb.digest);
    result = mergeFiles(mergeEntries(base), mergeEntries(mo), mergeEntries(mt));
    merged = await storeMergedDir(src, dataPath, result.files, { ours: mo, theirs: mt }, { rawThreshold: ctx.config.rawThreshold, packTarget: ctx.config.packTarget });
  } finally {
    lock.release();
  }
  const pick = <T>(base: T | undefined, ours: T, theirs: T) => (ours === base ? theirs : ours);
  const pointer: Pointer = { version: 1, kind: pick(m.po?.kind, m.pa.kind, m.pb.kind), type: 'dir', digest: merged.digest, size: merged.size, files: merged.files };
  const description = pick(m.po?.description, m.pa.description, m.pb.description);
  if (description !== undefined) pointer.description = description;
  const text = serializePointer(pointer, basename(dataPath));
  if (result.conflicts.length === 0) {
    writeFileSync(m.ours, text);
    messages.push(`mk: merged the folder ${dataPath} file by file (${result.fromTheirs.length} file change(s) from ${m.names.theirs})`);
    return 0;
  }
  // A conflict: the pointer shows both sides, as git shows a conflicted file; the folder gets
  // every change that does not conflict (a conflicting file keeps our version).
  writeFileSync(m.ours, `<<<<<<< ours\n${m.a}=======\n${m.b}>>>>>>> theirs\n`);
  const n = result.conflicts.length;
  messages.push(`mk: ${dataPath}: ${n} file(s) changed differently on both sides (ours: ${m.names.ours}; theirs: ${m.names.theirs}):`);
  for (const c of result.conflicts) {
    const f = `${dataPath}/${c.path}`;
    messages.push(
      `mk:   ${f}: ${c.fileAndFolder ? 'a file on one side, a folder on the other' : `${did('ours', c.ours)}, ${did('theirs', c.theirs)}`}; keep ours: 'mk checkout --ours -- ${q(f)}', keep theirs: 'mk checkout --theirs -- ${q(f)}'${c.theirs === 'deleted' ? ' (deletes it)' : ''}`,
    );
  }
  let placed = false;
  try {
    const { checkout } = await import('../../worktree/checkout.js');
    await checkout({ cwd: ctx.root, pointers: [{ path: dataPath, pointerPath: m.path, pointer, text }], baseline: new Map([[dataPath, await workTreeVersion(ctx, dataPath, m.pa)]]) });
    placed = true;
    const record = join(ctx.stateDir, PLACED_MERGES);
    writeFileSync(record, JSON.stringify({ ...readPlacedMerges(ctx.stateDir), [dataPath]: merged.digest }));
  } catch (e) {
    if (!isMkError(e, 'EUNSAVED')) messages.push(`mk: could not place the merged files of ${dataPath}: ${(e as Error).message}`);
    else messages.push(`mk: ${dataPath} holds unsaved changes: the merged files were not placed (run 'mk checkout --ours|--theirs -- <file>' for each file you want)`);
  }
  if (placed) messages.push(`mk: the other ${result.fromTheirs.length} change(s) from ${m.names.theirs} are in ${dataPath}; each file listed holds our version`);
  messages.push(
    `hint: pick a side for each file listed (or put the version you want in its place), then 'mk add ${q(dataPath)}' and '${m.names.conclude}'; to give up: '${m.names.abort}', then 'mk checkout'`,
  );
  return 1;
}

/**
 * What the folder in the work tree is supposed to hold: in a merge, our side; in a rebase,
 * the branch being rebased (its data stays until post-rewrite), as .git/rebase-merge/orig-head names it.
 */
async function workTreeVersion(ctx: RepoContext, dataPath: string, ours: Pointer): Promise<Pointer> {
  const dir = [join(ctx.gitDir, 'rebase-merge'), join(ctx.gitDir, 'rebase-apply')].find((d) => existsSync(d));
  const orig = dir ? readText(join(dir, 'orig-head')) : '';
  if (!orig) return ours;
  const at = await pointersAtCommit(ctx.commonDir, orig, [dataPath]).catch(() => []);
  return at.find((t) => t.path === dataPath)?.pointer ?? ours;
}

function did(side: string, c: FileChangeKind): string {
  return c === 'unchanged' ? `${side} kept it` : `${side} ${c} it`;
}

function q(s: string): string {
  return /^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

const DEFAULT_NAMES: SideNames = { ours: 'HEAD', theirs: 'the other branch', conclude: 'git commit', abort: 'git merge --abort' };

/**
 * Names the sides for messages. A merge: ours is the current branch, theirs the branch being
 * merged (git passes its name in GITHEAD_<commit>). A rebase (`git rebase`, `git pull
 * --rebase`) replays your commits onto the upstream: "ours" is the upstream, "theirs" your
 * commit being replayed (.git/rebase-merge/done names it).
 */
export async function sideNames(ctx: RepoContext, env: NodeJS.ProcessEnv = process.env): Promise<SideNames> {
  const merge = join(ctx.gitDir, 'rebase-merge');
  const apply = join(ctx.gitDir, 'rebase-apply');
  const short = async (rev: string) => (await git(ctx.root, ['rev-parse', '--short', rev], { okCodes: [128] }).catch(() => '')).trim();
  if (existsSync(merge) || existsSync(apply)) {
    const dir = existsSync(merge) ? merge : apply;
    const onto = readText(join(dir, 'onto'));
    let upstream = '';
    if (onto) {
      const refs = (await git(ctx.root, ['for-each-ref', `--points-at=${onto}`, '--format=%(refname:short)', 'refs/heads', 'refs/remotes'], { okCodes: [128] }).catch(() => ''))
        .split('\n')
        .filter(Boolean);
      upstream = refs[0] ?? (await short(onto));
    }
    let commit = '';
    const done = readText(join(dir, 'done'))
      .split('\n')
      .filter((l) => /^(p|pick|r|reword|e|edit|s|squash|f|fixup)\s/.test(l));
    const last = done[done.length - 1];
    if (last) commit = last.split(/\s+/)[1] ?? '';
    commit ||= readText(join(dir, 'original-commit'));
    const subject = commit ? (await git(ctx.root, ['log', '-1', '--format=%h %s', commit], { okCodes: [128] }).catch(() => '')).trim() : '';
    return {
      ours: upstream ? `upstream (${upstream})` : 'upstream',
      theirs: subject ? `your commit ${subject.replace(/^(\S+) (.*)$/, '$1 "$2"')}` : 'your commit being replayed',
      conclude: 'git rebase --continue',
      abort: 'git rebase --abort',
    };
  }
  const branch = (await git(ctx.root, ['symbolic-ref', '--short', '-q', 'HEAD'], { okCodes: [1, 128] }).catch(() => '')).trim();
  const head = (await git(ctx.root, ['rev-parse', '-q', '--verify', 'HEAD'], { okCodes: [1, 128] }).catch(() => '')).trim();
  let other = '';
  for (const [k, v] of Object.entries(env)) if (k.startsWith('GITHEAD_') && k.slice(8) !== head && v) other = v;
  return { ours: branch || 'HEAD', theirs: other || 'the branch being merged', conclude: 'git commit', abort: 'git merge --abort' };
}

function readText(p: string): string {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
}

function read(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
