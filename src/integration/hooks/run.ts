import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MkError } from '../../errors/index.js';
import { strictAccess, withheldLine } from '../../remote/access.js';
import { git } from '../../git/run.js';
import { RepoContext } from '../../repo/context.js';
import { HOOKS, hooksDir, PREVIOUS_SUFFIX, type HookName } from '../../git/hook-shims.js';

export interface HookOutcome {
  /** Lines for the user (stderr). */
  messages: string[];
  exitCode: number;
}

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}

/**
 * `mk hook <name> [args]`: runs the hook that was there before mk (if any), then mk's part.
 * Outside an mk repository, or when MK_HOOKS=0, it does nothing (exit 0).
 */
/**
 * The pre-commit framework (pre-commit.com) runs `mk hook <name>` with no arguments and an
 * empty stdin; it passes what git gave it in PRE_COMMIT_* variables instead. Rebuilds the
 * arguments (and, for pre-push, the ref line) git would have given. The framework reports
 * only the first pushed ref that has commits to push.
 */
export function fromPreCommitFramework(name: HookName, stdin: string, env: NodeJS.ProcessEnv = process.env): { args: string[]; stdin: string } {
  const e = (k: string) => env[`PRE_COMMIT_${k}`];
  switch (name) {
    case 'post-checkout':
      if (e('CHECKOUT_TYPE') !== undefined) return { args: [e('FROM_REF') ?? '', e('TO_REF') ?? '', e('CHECKOUT_TYPE')!], stdin };
      break;
    case 'post-merge':
      if (e('IS_SQUASH_MERGE') !== undefined) return { args: [e('IS_SQUASH_MERGE')!], stdin };
      break;
    case 'post-rewrite':
      if (e('REWRITE_COMMAND') !== undefined) return { args: [e('REWRITE_COMMAND')!], stdin };
      break;
    case 'pre-push': {
      const remote = e('REMOTE_NAME');
      if (remote === undefined) break;
      const local = e('LOCAL_BRANCH') ?? 'HEAD';
      // TO_REF is unset when the push starts at a root commit: the local ref names the commit then.
      const line = stdin.trim() ? '' : `${local} ${e('TO_REF') ?? local} ${e('REMOTE_BRANCH') ?? local} ${e('FROM_REF') ?? '0'.repeat(40)}\n`;
      return { args: [remote, e('REMOTE_URL') ?? remote], stdin: stdin + line };
    }
    default:
      break;
  }
  return { args: [], stdin };
}

export async function runHook(name: string, args: string[]): Promise<HookOutcome> {
  const out: HookOutcome = { messages: [], exitCode: 0 };
  if (!HOOKS.includes(name as HookName)) throw new MkError('EUSAGE', `unknown hook '${name}' (one of ${HOOKS.join(', ')})`);
  let stdin = name === 'pre-push' || name === 'reference-transaction' ? readStdin() : '';
  // The shim already ran the hook that was there before mk (it had to read stdin first).
  const previousDone = process.env.MK_PREVIOUS_DONE === '1';
  // The reference-transaction shim compared the pointers with those whose data is in place, and they differ.
  const pointersDiffer = process.env.MK_POINTERS_DIFFER === '1';
  delete process.env.MK_PREVIOUS_DONE;
  delete process.env.MK_POINTERS_DIFFER;
  if (args.length === 0) ({ args, stdin } = fromPreCommitFramework(name as HookName, stdin));
  let ctx: RepoContext;
  try {
    ctx = RepoContext.open();
  } catch {
    return out;
  }
  const previous = previousDone ? '' : join(await hooksDir(ctx), name + PREVIOUS_SUFFIX);
  if (previous && existsSync(previous)) {
    const r = spawnSync(previous, args, { stdio: ['pipe', 'inherit', 'inherit'], input: stdin, cwd: ctx.root });
    if (r.status !== 0 && (name === 'pre-commit' || name === 'pre-push' || (name === 'reference-transaction' && args[0] === 'prepared'))) return { messages: [], exitCode: r.status ?? 1 };
  }
  if (process.env.MK_HOOKS === '0' || !ctx.initialized) return out;
  switch (name as HookName) {
    case 'pre-commit': {
      const { preCommit } = await import('./pre-commit.js');
      const r = await preCommit(ctx);
      if (r.staleSide.length) {
        const paths = r.staleSide.map((s) => s.path);
        const first = r.staleSide[0]!;
        const held = first.side === 'placed' ? 'the partly merged data mk placed during a conflicted merge' : `${first.side === 'HEAD' ? 'our' : 'their'} side's data`;
        out.messages.push(
          `mk: ${paths.join(', ')}: the work tree holds ${held}, but the pointer being committed records another version; committing would record the work tree's data and undo the merge resolution`,
        );
        out.messages.push(`hint: run 'mk checkout' to get the data the pointer records (then commit again), or 'mk add ${paths.join(' ')}' to keep the work tree's data`);
        out.exitCode = 1;
        return out;
      }
      for (const [from, to] of r.moved) out.messages.push(`mk: recorded the move of ${from} to ${to} (the same data: nothing hashed or uploaded again)`);
      for (const p of r.restored) out.messages.push(`mk: ${p} held the data of another version than its pointer (git changed the pointer): restored the pointer's data, nothing recorded`);
      for (const p of r.notNamed) out.messages.push(`mk: ${p} has changed data, left out of this commit (its pointer is not among the paths committed)`);
      for (const p of r.autoTracked)
        out.messages.push(
          existsSync(join(ctx.root, `${p}.mk.yaml`))
            ? `mk: tracking ${p} (its pointer ${p}.mk.yaml is committed instead)`
            : `mk: tracking ${p} through mk's Git filter (a .gitattributes line; git commits its pointer, mk keeps its bytes)`,
        );
      for (const p of r.updated) out.messages.push(`mk: recorded the new data of ${p}`);
      for (const p of r.missing) out.messages.push(`mk: warning: ${p} is tracked but missing from the work tree; its pointer stays as it was`);
      for (const w of r.warnings) out.messages.push(`mk: warning: ${w}`);
      if (r.withheld.length) {
        // Remotes by path: the pointer stays; strict access makes it stop the commit.
        out.messages.push(`mk: ${withheldLine(r.withheld)}`);
        if (strictAccess(ctx)) {
          out.messages.push('hint: access is strict (MK_STRICT_ACCESS, access.strict): ask for read access to that repository, or commit where the data can be read');
          out.exitCode = 1;
          return out;
        }
      }
      if (r.wouldBeEmpty) {
        out.messages.push('mk: only tracked data changed, and git counts a commit as empty before its hooks run: the updated pointers are now in the work tree.');
        out.messages.push("hint: run the same 'git commit -a ...' again (or 'git add' the .mk.yaml pointers and commit) to commit them");
        out.exitCode = 1;
      }
      return out;
    }
    case 'post-commit': {
      // `git commit <paths>` stages the paths into the real index after the hook ran on a
      // temporary one: take tracked data files back out of the real index.
      const { workspacePointerPaths } = await import('../../git/pointers.js');
      const { dataPathFor } = await import('../../formats/pointer.js');
      const paths = (await workspacePointerPaths(ctx.root)).map(dataPathFor);
      if (paths.length) {
        const inIndex = (await git(ctx.root, ['ls-files', '-z', '--cached', '--', ...paths])).split('\0').filter(Boolean);
        if (inIndex.length) await git(ctx.root, ['rm', '-q', '--cached', '--', ...inIndex]);
      }
      await syncIndexAfterPartialCommit(ctx.root);
      return out;
    }
    case 'reference-transaction':
    case 'post-checkout':
    case 'post-merge':
    case 'post-rewrite': {
      const { rebasing, restoreAfterGit, pointersInPlace } = await import('../../worktree/reconcile.js');
      // During a rebase the intermediate checkouts restore nothing; post-rewrite (which git runs
      // before it removes its rebase state) restores once, at the end.
      if (name !== 'post-rewrite' && rebasing(ctx)) return out;
      if (name === 'post-rewrite' && args[0] === 'amend') return out;
      // Large files git just wrote through the smudge filter: settled so git need not read them again.
      const settle = async () => {
        try {
          const { settleSmudgedFiles } = await import('../filter/settle.js');
          await settleSmudgedFiles(ctx.root, ctx.stateDir);
        } catch {
          /* best effort: git reads the files again, as it would anyway */
        }
      };
      let prev: string | undefined;
      let popped: string | undefined;
      if (name === 'reference-transaction') {
        // Only a committed transaction that moved HEAD (or the current branch) can have changed the work tree.
        if (args[0] !== 'committed') return out;
        const lines = stdin.split('\n').map((l) => l.split(' '));
        const updated = (f: string[]) => f.length >= 3 && !/^0+$/.test(f[1]!);
        let moved = lines.find((f) => updated(f) && f[2] === 'HEAD');
        if (!moved && lines.some((f) => updated(f) && f[2]!.startsWith('refs/heads/'))) {
          const branch = (await git(ctx.root, ['symbolic-ref', '-q', 'HEAD'], { okCodes: [1, 128] })).trim();
          moved = lines.find((f) => updated(f) && f[2] === branch);
        }
        // `git stash pop` changes the work tree and only the stash ref.
        const stashLine = lines.find((f) => f[2] === 'refs/stash');
        const stash = stashLine !== undefined;
        if (!moved && !stash) return out;
        const { gitCommands, discardsChanges, stashVerb } = await import('./git-command.js');
        const cmds = gitCommands();
        const verb = stashVerb(cmds[0]);
        if (stash && verb === 'push' && stashLine[1] && !/^0+$/.test(stashLine[1])) {
          // A stash is being made: the edited data goes with it (git resets the work tree next).
          const { stashEdits } = await import('../../worktree/stash.js');
          const paths = await stashEdits(ctx, stashLine[1]);
          if (paths.length) out.messages.push(`mk: stashed your unsaved changes to ${shown(paths)} with the rest`);
          return out;
        }
        if (verb === 'pop' && stashLine?.[0] && !/^0+$/.test(stashLine[0])) popped = stashLine[0];
        await settle();
        const { Journal } = await import('../../worktree/journal.js');
        const busy = existsSync(Journal.path(ctx.stateDir)) || discardsChanges(cmds[0]);
        if (moved && !stash && !busy && !pointersDiffer && (await pointersInPlace(ctx.root, ctx.stateDir, moved[1]!))) return out;
        prev = moved?.[0];
      } else {
        await settle();
        prev = name === 'post-checkout' ? args[0] : (await git(ctx.root, ['rev-parse', '--verify', '--quiet', 'ORIG_HEAD'], { okCodes: [1] })).trim() || undefined;
      }
      // A pointer checked out while a merge is concluded (`git checkout --theirs -- <pointer>`):
      // the pre-commit hook stops the commit on stale data instead (see pre-commit.ts, staleSides).
      if (name === 'post-checkout' && args[2] === '0' && existsSync(join(ctx.gitDir, 'MERGE_HEAD'))) return out;
      const firstCheckout = name === 'post-checkout' && /^0+$/.test(args[0] ?? '');
      if (firstCheckout) {
        // A clone's first checkout, started by the hook Git's template gave it ('mk install --global'): the rest of
        // mk's hooks go in too, silently, as the template's own hooks do (the per-user setup asked for it once).
        const { hooksDir, installHooks } = await import('../../git/hook-shims.js');
        const pre = join(await hooksDir(ctx), 'pre-commit');
        if (!existsSync(pre) || !readFileSync(pre, 'utf8').includes('mk-hook-shim')) await installHooks(ctx);
      }
      try {
        if (ctx.config.verifySignaturesKey) await (await import('../../signing/gate.js')).requireSignedRevision({ cwd: ctx.root }); // config verify_signatures
        // A file checkout (`git checkout <rev> -- <pointer>`): git wrote the pointer; its data follows by the same rule.
        const { autoFetch } = await import('../fetch.js');
        const { discardsChanges, gitCommands } = await import('./git-command.js');
        const cmds = gitCommands();
        const discard = (name === 'post-checkout' || name === 'reference-transaction') && discardsChanges(cmds[0]);
        const r = await restoreAfterGit(ctx, prev, { fileCheckout: name === 'post-checkout' && args[2] === '0', fetch: autoFetch(ctx), discard });
        // git stash's own reset: the changes it discards went with the stash (said when it was made).
        if (cmds.some((c) => c[0] === 'stash')) r.discarded = [];
        reportReconcile(r, out);
        if (r.withheld.length) {
          out.messages.push(`mk: ${withheldLine(r.withheld)}`);
          if (strictAccess(ctx)) out.exitCode = 1;
        }
        if (popped) {
          const { unstashEdits } = await import('../../worktree/stash.js');
          const u = await unstashEdits(ctx, popped);
          if (u.applied.length) out.messages.push(`mk: brought back your stashed changes to ${shown(u.applied)}`);
          for (const [p, why] of u.left) out.messages.push(`mk: left your stashed changes to ${p} out: ${why} (they are kept in .git/mk/stash/${popped}.json)`);
        }
      } catch (e) {
        if (firstCheckout && e instanceof MkError && e.code === 'EUNSIGNED') {
          // A clone of an unsigned revision: the clone itself succeeds with the data withheld. The filter
          // refuses the files it writes on its own (pointer text, recorded for mk status, said in one line
          // when git ends it); the hook names only what it alone would have placed.
          const { workspacePointers } = await import('../../git/pointers.js');
          const own = (await workspacePointers(ctx.root)).filter((t) => !t.filtered).map((t) => t.path);
          if (own.length) out.messages.push(`mk: left the data of ${shown(own)} out: ${e.message}`);
          return out;
        }
        if (e instanceof MkError) {
          out.messages.push(`mk: could not restore the data of this revision: ${e.message}`);
          if (e.hint) out.messages.push(`hint: ${e.hint}; then run 'mk checkout'`);
          out.exitCode = 1;
          return out;
        }
        throw e;
      }
      return out;
    }
    case 'pre-push': {
      const { prePush } = await import('./pre-push.js');
      try {
        const rs = await prePush(ctx, args[0] ?? 'origin', stdin);
        const { heldTagError } = await import('../../sync/transfer.js');
        // Loaded here, not at the top: every other hook would load them (and undici) for nothing.
        const { signedNote } = await import('../../signing/describe.js');
        const { announcementLines } = await import('../../notify/announce.js');
        for (const r of rs) {
          const mounted = r.mounted ? `${r.mounted} mounted from another repository of the registry, ` : '';
          out.messages.push(`mk: ${r.ref}: uploaded ${r.copied} blob(s) to '${r.remote}' (${mounted}${r.skipped} already there)`);
          if (r.runCache?.entries) out.messages.push(`mk: pushed ${r.runCache.entries} run cache entr${r.runCache.entries === 1 ? 'y' : 'ies'}`);
          if (r.runCache?.problem) out.messages.push(`mk: warning: the run cache was not pushed: ${r.runCache.problem}`);
          // Each pushed commit has its ModelKit: those with a ref tag are named, the others counted.
          const named = r.modelkits.filter((m) => m.tags.length > 1 || r.modelkits.length <= 3);
          for (const m of named) out.messages.push(`mk: published ModelKit ${m.digest.slice(0, 19)} as ${m.tags.join(', ')}${signedNote(m.signatures)}`);
          const rest = r.modelkits.filter((m) => !named.includes(m));
          if (rest.length) {
            const signed = rest.filter((m) => m.signatures !== undefined).length;
            const note = signed === rest.length ? ', each signed' : signed ? `, ${signed} of them signed` : '';
            out.messages.push(`mk: published ${named.length ? `${rest.length} more ModelKits` : `${rest.length} ModelKits`}, each tagged with its commit id${note}`);
          }
          for (const m of r.routed) if (!m.existed) out.messages.push(`mk: published the ModelKit of ${m.path} as ${m.tag} on '${m.remote}'${signedNote(m.signatures)}`);
          for (const w of r.warnings) out.messages.push(`mk: warning: ${w}`);
          if (r.withheld.length) {
            out.messages.push(`mk: ${withheldLine(r.withheld)}`);
            if (strictAccess(ctx)) {
              // Everything else was uploaded; the ref is refused, as strict access asks.
              out.messages.push('mk: push refused: access is strict (MK_STRICT_ACCESS, access.strict) and data was withheld');
              out.exitCode = 1;
              return out;
            }
          }
          const said = announcementLines(r.announced);
          for (const l of said.done) out.messages.push(`mk: ${l}`);
          for (const w of said.warnings) out.messages.push(`mk: warning: ${w}`);
          for (const w of new Set(r.modelkits.flatMap((m) => m.warnings ?? []))) out.messages.push(`mk: warning: ${w}`);
          for (const h of r.held) {
            const e = heldTagError(h);
            out.messages.push(`mk: warning: ${e.message}`);
            if (e.hint) out.messages.push(`hint: ${e.hint}`);
          }
        }
      } catch (e) {
        if (e instanceof MkError) {
          out.messages.push(`mk: push refused: ${e.message}`);
          if (e.hint) out.messages.push(`hint: ${e.hint}`);
          out.exitCode = 1;
          return out;
        }
        throw e;
      }
      return out;
    }
  }
  return out;
}

/** Up to five paths, then how many more. */
function shown(paths: string[]): string {
  return paths.slice(0, 5).join(', ') + (paths.length > 5 ? ` and ${paths.length - 5} more` : '');
}

/**
 * One line per outcome of a hook's reconcile. The exit status is non-zero only when mk
 * refused to place data the git command asked for (an artifact left as it was because the
 * user changed files the new version changes too): the user's changes kept elsewhere are
 * said in one line, as git lists local changes it carried across a switch.
 */
function reportReconcile(r: import('../../worktree/reconcile.js').ReconcileResult, out: HookOutcome): void {
  const n = r.restored.length;
  if (n) out.messages.push(`mk: restored the data of ${n} artifact(s)`);
  if (r.removed.length) out.messages.push(`mk: removed the data of ${r.removed.length} artifact(s) this revision does not track`);
  if (r.discarded.length) out.messages.push(`mk: discarded your unsaved changes to ${shown(r.discarded)}, as git does for files`);
  if (r.edited.length) out.messages.push(`mk: kept your unsaved changes to ${shown(r.edited)} (record them with 'mk add' or a commit; 'mk checkout --force -- <path>' drops them)`);
  if (r.kept.length) {
    const files = r.artifacts.flatMap((a) => (a.action === 'kept' ? (a.conflicts ?? []) : []));
    out.messages.push(`mk: left ${shown(r.kept)} as ${r.kept.length === 1 ? 'it was' : 'they were'} (not this revision's data): your unsaved changes to ${shown(files)} would be overwritten`);
    out.messages.push("hint: keep them with 'mk add <path>' and commit, or take this revision's data with 'mk checkout --force -- <path>'");
    out.exitCode = 1;
  }
}

/** Files the pre-commit hook writes and stages: pointers, .gitignore files, the Kitfile. */
function hookManaged(p: string, kitfiles: readonly string[], isPointer: (p: string) => boolean): boolean {
  return isPointer(p) || p === '.gitignore' || p.endsWith('/.gitignore') || kitfiles.includes(p);
}

/**
 * `git commit <paths>` runs pre-commit on a temporary index: the pointers, .gitignore and
 * Kitfile the hook staged there are committed, but the real index keeps their old versions
 * (git status then shows them as staged reversals). Puts the committed versions in the real
 * index, for the files the commit changed whose work-tree copy is exactly what was committed.
 * After any other commit the index equals HEAD and this stops at the first git call.
 */
async function syncIndexAfterPartialCommit(root: string): Promise<void> {
  const staged = (await git(root, ['diff', '--cached', '--name-only', '-z', '--no-renames', 'HEAD'], { okCodes: [128] })).split('\0').filter(Boolean);
  if (staged.length === 0) return;
  const { isPointerPath } = await import('../../formats/pointer.js');
  const { KITFILE_NAMES } = await import('../../formats/kitfile.js');
  const mine = staged.filter((p) => hookManaged(p, KITFILE_NAMES, isPointerPath));
  if (mine.length === 0) return;
  const inCommit = new Set((await git(root, ['diff-tree', '-r', '--root', '--no-commit-id', '--name-only', '-z', '--no-renames', 'HEAD', '--', ...mine])).split('\0').filter(Boolean));
  const candidates = mine.filter((p) => inCommit.has(p));
  if (candidates.length === 0) return;
  // Only where the work-tree file is exactly what was committed: other index entries are the user's business.
  const committed = new Map<string, string>();
  for (const line of (await git(root, ['ls-tree', '-r', '-z', 'HEAD', '--', ...candidates])).split('\0').filter(Boolean)) {
    const tab = line.indexOf('\t');
    committed.set(line.slice(tab + 1), line.slice(0, tab).split(' ')[2]!);
  }
  const present = candidates.filter((p) => committed.has(p) && existsSync(join(root, p)));
  if (present.length === 0) return;
  const hashes = (await git(root, ['hash-object', '--', ...present])).split('\n').filter(Boolean);
  const reset = present.filter((p, i) => hashes[i] === committed.get(p));
  if (reset.length) await git(root, ['reset', '-q', 'HEAD', '--', ...reset]);
}
