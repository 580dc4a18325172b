import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MkError } from '../errors/index.js';
import { git } from '../git/run.js';
import { RepoContext } from '../repo/context.js';
import { HOOKS, hooksDir, PREVIOUS_SUFFIX, type HookName } from './install.js';

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
export async function runHook(name: string, args: string[]): Promise<HookOutcome> {
  const out: HookOutcome = { messages: [], exitCode: 0 };
  if (!HOOKS.includes(name as HookName)) throw new MkError('EUSAGE', `unknown hook '${name}' (one of ${HOOKS.join(', ')})`, { exitCode: 2 });
  const stdin = name === 'pre-push' ? readStdin() : '';
  let ctx: RepoContext;
  try {
    ctx = RepoContext.open();
  } catch {
    return out;
  }
  const previous = join(await hooksDir(ctx), name + PREVIOUS_SUFFIX);
  if (existsSync(previous)) {
    const r = spawnSync(previous, args, { stdio: ['pipe', 'inherit', 'inherit'], input: stdin, cwd: ctx.root });
    if (r.status !== 0 && (name === 'pre-commit' || name === 'pre-push')) return { messages: [], exitCode: r.status ?? 1 };
  }
  if (process.env.MK_HOOKS === '0' || !ctx.initialized) return out;
  switch (name as HookName) {
    case 'pre-commit': {
      const { preCommit } = await import('./pre-commit.js');
      const r = await preCommit(ctx);
      for (const p of r.autoTracked) out.messages.push(`mk: tracking ${p} (its pointer ${p}.mk.yaml is committed instead)`);
      for (const p of r.updated) out.messages.push(`mk: recorded the new data of ${p}`);
      for (const p of r.missing) out.messages.push(`mk: warning: ${p} is tracked but missing from the work tree; its pointer stays as it was`);
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
      const { workspacePointerPaths } = await import('../git/pointers.js');
      const { dataPathFor } = await import('../pointer/pointer.js');
      const paths = (await workspacePointerPaths(ctx.root)).map(dataPathFor);
      if (paths.length) {
        const inIndex = (await git(ctx.root, ['ls-files', '-z', '--cached', '--', ...paths])).split('\0').filter(Boolean);
        if (inIndex.length) await git(ctx.root, ['rm', '-q', '--cached', '--', ...inIndex]);
      }
      return out;
    }
    case 'post-checkout':
    case 'post-merge':
    case 'post-rewrite': {
      const { rebasing, restoreAfterGit } = await import('./restore.js');
      if (rebasing(ctx)) return out;
      if (name === 'post-checkout' && args[2] === '0') return out; // a file checkout: git restored what was asked
      if (name === 'post-rewrite' && args[0] === 'amend') return out;
      const prev = name === 'post-checkout' ? args[0] : (await git(ctx.root, ['rev-parse', '--verify', '--quiet', 'ORIG_HEAD'], { okCodes: [1] })).trim() || undefined;
      try {
        const r = await restoreAfterGit(ctx, prev);
        const n = r?.artifacts.filter((a) => a.action === 'restored').length ?? 0;
        if (n) out.messages.push(`mk: restored the data of ${n} artifact(s)`);
      } catch (e) {
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
        for (const r of rs) {
          out.messages.push(`mk: ${r.ref}: uploaded ${r.copied} blob(s) to '${r.remote}' (${r.skipped} already there)`);
          for (const m of (r as { modelkits?: Array<{ digest: string; tags: string[] }> }).modelkits ?? []) out.messages.push(`mk: published ModelKit ${m.digest.slice(0, 19)} as ${m.tags.join(', ')}`);
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
