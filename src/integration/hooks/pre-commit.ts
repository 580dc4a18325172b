import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareWorkspace } from '../../worktree/compare.js';
import { StatCache } from '../../hashing/stat-cache.js';
import { Stamps } from '../../hashing/stamps.js';
import { git } from '../../git/run.js';
import { recordPointerState } from '../../git/pointer-state.js';
import { stagedChanges, stagedPaths } from '../../git/staged.js';
import { workspacePointers, type TrackedPointer } from '../../git/pointers.js';
import { isPointerPath } from '../../formats/pointer.js';
import { RepoContext, TEAM_CONFIG } from '../../repo/context.js';
import { abs } from '../../repo/paths.js';
import { dirMatcher, matcher } from '../../util/glob.js';
import { KITFILE_NAMES } from '../../formats/kitfile-names.js';
import { isMkError, MkError } from '../../errors/index.js';
import { readWithheld, withheldFor, type Withheld } from '../../remote/access.js';
import { routeOf } from '../../repo/routes.js';

export interface PreCommitResult {
  autoTracked: string[];
  updated: string[];
  missing: string[];
  /** Git will refuse this commit as empty although mk staged pointer changes (see below). */
  wouldBeEmpty: boolean;
  /**
   * While concluding a merge: artifacts whose work-tree data is exactly one side's while
   * their (staged) pointer is another version, e.g. after `git checkout --theirs` without
   * `mk checkout`. Recording that data would silently undo the resolution: the commit stops.
   */
  staleSide: Array<{ path: string; side: 'HEAD' | 'MERGE_HEAD' | 'REBASE_HEAD' | 'placed' }>;
  /** Stale data (git moved the pointer, the data stayed) that now follows its pointer instead of being recorded. */
  restored: string[];
  /** `git commit <paths>`: changed artifacts the paths do not name; their data stays, unrecorded. */
  notNamed: string[];
  /** Tracked folders the user moved, recorded as moves: [from, to]. */
  moved: Array<[string, string]>;
  /** Absent artifacts routed to a remote this clone may not read (remotes by path): their pointers stay as they are. */
  withheld: Withheld[];
  /** Things to tell the user (a `track:` pattern .gitattributes cannot hold). */
  warnings: string[];
}

/** Where the merge driver notes the partly merged folders it placed in the work tree (data path → manifest digest). */
export const PLACED_MERGES = 'merge-placed.json';

export function readPlacedMerges(stateDir: string): Record<string, string> {
  try {
    const v = JSON.parse(readFileSync(join(stateDir, PLACED_MERGES), 'utf8')) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/**
 * The arguments of the `git commit` that runs this hook (Linux: /proc), to tell --amend and
 * --allow-empty. Looks a few processes up: a hook manager (the pre-commit framework, husky)
 * may stand between git and mk.
 */
function commitArgs(): string[] {
  return commitProcess()?.argv ?? [];
}

function commitProcess(): { pid: number; argv: string[] } | undefined {
  let pid = process.ppid;
  for (let i = 0; i < 5 && pid > 1; i++) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (/(^|\/)git$/.test(argv[0] ?? '') && argv.includes('commit')) return { pid, argv };
      // The 4th field of /proc/<pid>/stat (after the parenthesised command name) is the parent's pid.
      pid = Number(/\)\s+\S+\s+(\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? 0);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Options of `git commit` that take a value as the next argument (when not written `--opt=value`). */
const VALUE_OPTIONS = new Set(['--message', '--file', '--reuse-message', '--reedit-message', '--template', '--author', '--date', '--cleanup', '--fixup', '--squash', '--trailer']);

/** The pathspecs of a `git commit` command line (undefined when they cannot be known, e.g. --pathspec-from-file). */
export function commitPathspecs(argv: string[]): string[] | undefined {
  const args = argv.slice(argv.indexOf('commit') + 1).filter((a, i, all) => a !== '' || i < all.length - 1); // /proc's cmdline ends with a NUL
  const specs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      specs.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const name = a.split('=')[0]!;
      if (name === '--pathspec-from-file') return undefined;
      if (!a.includes('=') && VALUE_OPTIONS.has(name)) i++;
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        if ('mFCct'.includes(c)) {
          if (j === a.length - 1) i++; // the value is the next argument
          break;
        }
        if ('uS'.includes(c)) break; // an optional value, attached
      }
      continue;
    }
    specs.push(a);
  }
  return specs;
}

/**
 * For `git commit <paths>` (git hands the hook a temporary index, next-index-<pid>.lock): the
 * artifacts whose pointers the paths name. Undefined for every other commit (all artifacts).
 */
async function namedArtifacts(ctx: RepoContext): Promise<string[] | undefined> {
  const index = process.env.GIT_INDEX_FILE ?? '';
  if (!/(^|\/)next-index-\d+\.lock$/.test(index)) return undefined;
  const proc = commitProcess();
  const specs = proc && commitPathspecs(proc.argv);
  if (!proc || !specs?.length) return undefined;
  // git has moved to the top level; the paths are relative to where the user ran it (PWD, when inside the repository).
  let cwd = ctx.root;
  try {
    const pwd = readFileSync(`/proc/${proc.pid}/environ`, 'utf8')
      .split('\0')
      .find((e) => e.startsWith('PWD='))
      ?.slice(4);
    if (pwd && (pwd === ctx.root || pwd.startsWith(ctx.root + '/')) && existsSync(pwd)) cwd = pwd;
  } catch {
    /* no /proc: the top level */
  }
  const { dataPathFor } = await import('../../formats/pointer.js');
  const out = await git(cwd, ['ls-files', '-z', '--full-name', '--cached', '--others', '--exclude-standard', '--', ...specs], { okCodes: [1, 128] });
  return out
    .split('\0')
    .filter((p) => isPointerPath(p))
    .map(dataPathFor);
}

const NEVER = (p: string) => isPointerPath(p) || p === TEAM_CONFIG || p.endsWith('.gitignore') || p === '.gitattributes' || KITFILE_NAMES.includes(p) || p.startsWith('.mk/');

/**
 * The pre-commit hook: staged files that match `track:` or reach `size_threshold` become
 * tracked artifacts (stored, pointer written and staged, the file itself unstaged and
 * git-ignored); tracked artifacts changed in the work tree get their pointers updated and
 * staged; the Kitfile follows. Works on whatever index git hands the hook (GIT_INDEX_FILE),
 * so `git commit -a`, `git commit <paths>`, `--amend` and merges are handled alike.
 */
export async function preCommit(ctx: RepoContext): Promise<PreCommitResult> {
  const startedAt = Date.now();
  const result: PreCommitResult = { autoTracked: [], updated: [], missing: [], wouldBeEmpty: false, staleSide: [], restored: [], notNamed: [], moved: [], withheld: [], warnings: [] };
  // Git decides whether a commit is empty before this hook runs: changes made here alone do
  // not make it non-empty. Note whether anything else is staged, to tell the user.
  const nothingElse = !(await hasStagedChanges(ctx.root)) && !existsSync(join(ctx.gitDir, 'MERGE_HEAD')) && !commitArgs().some((a) => a === '--amend' || a === '--allow-empty');
  // A tracked folder the user moved (mv + git add -A, git mv): its pointer follows it, and what
  // git staged at the new place (its files, or its marker) is the dataset's, not new data.
  result.moved = await recordMoves(ctx);
  // Read again only when the moves above changed the index (stagedChanges is memoized on it).
  const allStaged = await stagedPaths(ctx.root, 'AM');
  // Files that go through mk's Git filter are Git's to stage (src/integration/filter): only the rest is mk's here.
  const { filteredFilesBeforeCommit } = await import('../filter/pre-commit-files.js');
  const filtered = await filteredFilesBeforeCommit(ctx, allStaged, NEVER);
  result.autoTracked.push(...filtered.autoTracked);
  result.warnings.push(...filtered.warnings);
  const staged = allStaged.filter((p) => !filtered.handled.has(p) && !filtered.autoTracked.includes(p));
  const pointers = await workspacePointers(ctx.root);
  const tracked = pointers.filter((t) => !t.filtered);
  const trackedPaths = tracked.map((t) => t.path);
  const inTracked = (p: string) => trackedPaths.some((t) => p === t || p.startsWith(t + '/'));
  const wanted = matcher(ctx.config.track);
  const candidates = staged.filter((p) => {
    if (NEVER(p)) return false;
    if (inTracked(p)) return true; // a tracked artifact's file that got staged by accident (git add -f)
    if (wanted(p)) return true;
    if (ctx.config.sizeThreshold > 0) {
      try {
        const st = lstatSync(abs(ctx.root, p));
        return st.isFile() && st.size >= ctx.config.sizeThreshold;
      } catch {
        return false;
      }
    }
    return false;
  });
  const dirOf = dirMatcher(ctx.config.track);
  const newOnes = [...new Set(candidates.filter((p) => !inTracked(p)).map((p) => dirOf(p) ?? p))];
  // A tracked artifact's file staged by accident leaves the index, and its pointer (which may
  // exist only in the work tree: an earlier hook killed before it staged it) enters it.
  const stray = candidates.filter((p) => inTracked(p));
  const strayArtifacts = [...new Set(stray.map((p) => trackedPaths.find((t) => p === t || p.startsWith(t + '/'))!))].filter((a) => !newOnes.includes(a));
  const adding = newOnes.length > 0 || strayArtifacts.length > 0;
  if (adding) {
    // Data leaves the index in the same step that stages its pointer (new artifacts, whole
    // folders named by 'dir/' patterns included): a kill before that step changes nothing.
    const { record } = await import('../../worktree/record.js');
    const r = await record([...newOnes, ...strayArtifacts], { cwd: ctx.root, unstage: stray });
    result.autoTracked.push(...r.filter((a) => newOnes.includes(a.path)).map((a) => a.path));
  }
  const merging = existsSync(join(ctx.gitDir, 'MERGE_HEAD'));
  let states: Map<string, string> | undefined;
  if (!merging) {
    // The one rule before anything is recorded: data git left behind when it moved a pointer
    // (reset, cherry-pick, stash, a checked-out pointer file...) follows its pointer; only the
    // user's changes are recorded. While a merge is concluded, stale data stops the commit (below).
    const { reconcile } = await import('../../worktree/reconcile.js');
    let r;
    try {
      // Evidence for data without a stamp: HEAD's version, where HEAD was before (reflog), ORIG_HEAD (reset, merge, rebase).
      // The pointers listed above, unless adding new artifacts has changed them since.
      const { autoFetch } = await import('../fetch.js');
      r = await reconcile(ctx, { reflog: true, dropUntracked: false, pointers: adding ? undefined : pointers, fetch: autoFetch(ctx) });
    } catch (e) {
      if (!isMkError(e, 'ENOTCACHED')) throw e;
      const paths = ((e.data.artifacts as Array<{ path: string; action: string }> | undefined) ?? []).filter((a) => a.action === 'not-cached').map((a) => a.path);
      throw new MkError(
        'ENOTCACHED',
        `${paths.join(', ') || 'tracked data'}: the work tree holds the data of another version than the pointer (git changed the pointer), and the pointer's data is not in the local cache; committing would record the old data`,
        {
          hint: `run 'mk pull' to get the pointer's data, or 'mk add ${paths.join(' ') || '<path>'}' to keep the work tree's data; then commit again`,
        },
      );
    }
    result.restored = r.restored;
    states = r.states;
  }
  const named = await namedArtifacts(ctx);
  const withheld = readWithheld(ctx.stateDir);
  const stat = new StatCache(ctx.stateDir);
  const stamps = new Stamps(ctx.stateDir);
  const changed: string[] = [];
  for (const t of tracked) {
    // Reconciling classified every artifact already (only a merge being concluded compares here).
    const workspace = states?.get(t.path) ?? (await compareWorkspace(ctx, stat, t.path, t.pointer, stamps)).workspace;
    if (workspace === 'modified') {
      if (named && !named.includes(t.path)) result.notNamed.push(t.path);
      else changed.push(t.path);
    } else if (workspace === 'deleted') {
      // Data this clone may not read is absent by design: withheld, never a deletion to record.
      const w = withheldFor(withheld, t.path, routeOf(ctx.config, t));
      if (w) result.withheld.push(w);
      else result.missing.push(t.path);
    }
  }
  if (changed.length) result.staleSide = await placedMerges(ctx, stat, changed, tracked);
  if (changed.length && !result.staleSide.length && (merging || existsSync(join(ctx.gitDir, 'REBASE_HEAD')))) result.staleSide = await staleSides(ctx, stat, changed, tracked);
  stat.save();
  stamps.save();
  if (result.staleSide.length) return result;
  if (changed.length) {
    const { record } = await import('../../worktree/record.js');
    const r = await record(changed, { cwd: ctx.root });
    result.updated.push(...r.filter((a) => a.changed).map((a) => a.path));
  }
  result.wouldBeEmpty = nothingElse && (result.autoTracked.length > 0 || result.updated.length > 0);
  // What the reference-transaction hook of this very commit compares with: the new commit's
  // pointers are the data just recorded (not for a partial commit, whose index is temporary).
  await recordPointerState(ctx.root, ctx.stateDir, { forget: named !== undefined });
  if (!result.autoTracked.length && !result.updated.length && !result.missing.length && candidates.length === 0 && !filtered.changed) {
    const { writeFastPath } = await import('./fast-path.js');
    await writeFastPath(ctx, trackedPaths, startedAt).catch(() => undefined);
  }
  return result;
}

/**
 * Changed folders that hold exactly the partly merged data the merge driver placed during a
 * conflicted merge (while that merge is open, or after it was aborted without 'mk checkout'),
 * not the staged pointer: committing would record a half merge.
 */
async function placedMerges(ctx: RepoContext, stat: StatCache, changed: string[], tracked: TrackedPointer[]): Promise<PreCommitResult['staleSide']> {
  const out: PreCommitResult['staleSide'] = [];
  const placed = readPlacedMerges(ctx.stateDir);
  for (const path of changed) {
    const digest = placed[path];
    const staged = tracked.find((x) => x.path === path)?.pointer;
    if (!digest || !staged || staged.digest === digest || staged.type !== 'dir') continue;
    if ((await compareWorkspace(ctx, stat, path, { ...staged, digest })).workspace === 'clean') out.push({ path, side: 'placed' });
  }
  return out;
}

/** Changed artifacts whose work-tree data is exactly what HEAD, MERGE_HEAD (a merge) or REBASE_HEAD (a rebase) records (and not the staged pointer). */
async function staleSides(ctx: RepoContext, stat: StatCache, changed: string[], tracked: TrackedPointer[]): Promise<PreCommitResult['staleSide']> {
  const out: PreCommitResult['staleSide'] = [];
  const { pointersAtCommit } = await import('../../git/pointers.js');
  for (const side of ['HEAD', 'MERGE_HEAD', 'REBASE_HEAD'] as const) {
    const commit = (await git(ctx.root, ['rev-parse', '--verify', '--quiet', `${side}^{commit}`], { okCodes: [1, 128] })).trim();
    if (!commit) continue;
    for (const t of await pointersAtCommit(ctx.commonDir, commit, changed)) {
      if (!changed.includes(t.path) || out.some((o) => o.path === t.path)) continue;
      const staged = tracked.find((x) => x.path === t.path)?.pointer;
      if (!staged || staged.digest === t.pointer.digest) continue;
      if ((await compareWorkspace(ctx, stat, t.path, t.pointer)).workspace === 'clean') out.push({ path: t.path, side });
    }
  }
  return out;
}

/** Finds tracked folders the user moved and records each as a move (see movedFolders). */
async function recordMoves(ctx: RepoContext): Promise<Array<[string, string]>> {
  const added = await stagedPaths(ctx.root, 'A');
  if (!added.length) return [];
  const tracked = (await workspacePointers(ctx.root)).filter((t) => !t.filtered && t.pointer.type === 'dir');
  if (!tracked.length) return [];
  const { Session } = await import('../../worktree/session.js');
  const { movedFolders } = await import('../../worktree/moved.js');
  const { moveTracked } = await import('../../worktree/move.js');
  const session = await Session.writer(ctx);
  try {
    const moves = await movedFolders(session, tracked, added);
    for (const m of moves) {
      // Whatever git staged there leaves the index (the marker is staged again by the move).
      const unstage = (await git(ctx.root, ['ls-files', '-z', '--cached', '--', m.to])).split('\0').filter(Boolean);
      await moveTracked(session, m.from.path, m.to, m.from.pointer, { dataMoved: true, unstage });
    }
    return moves.map((m) => [m.from.path, m.to]);
  } finally {
    session.close();
  }
}

async function hasStagedChanges(root: string): Promise<boolean> {
  return (await stagedChanges(root)).length > 0;
}
