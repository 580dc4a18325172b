import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { git } from './run.js';
import type { RepoContext } from '../repo/context.js';
import { launchCommand, mkScript, projectDir } from './launch.js';
import { MkError } from '../errors/index.js';

export const HOOKS = ['pre-commit', 'post-commit', 'post-checkout', 'post-merge', 'post-rewrite', 'pre-push', 'reference-transaction'] as const;
export type HookName = (typeof HOOKS)[number];
const MARKER = 'mk-hook-shim';
/** Where a hook that was there before mk is kept (and run first by 'mk hook'). */
export const PREVIOUS_SUFFIX = '.pre-mk';

/** The folder git runs hooks from: core.hooksPath (relative to the work tree) or <common git dir>/hooks. */
export async function hooksDir(ctx: RepoContext): Promise<string> {
  return hooksDirFrom(ctx, await git(ctx.root, ['config', '--get', 'core.hooksPath'], { okCodes: [1] }));
}

/** hooksDir, given the value of core.hooksPath ('' when unset). */
export function hooksDirFrom(ctx: RepoContext, hooksPath: string): string {
  const configured = hooksPath.trim();
  if (!configured) return join(ctx.commonDir, 'hooks');
  const p = configured.replace(/^~(?=\/)/, process.env.HOME ?? '~');
  return isAbsolute(p) ? p : resolve(ctx.root, p);
}

function isOurs(path: string): boolean {
  try {
    return readFileSync(path, 'utf8').includes(MARKER);
  } catch {
    return false;
  }
}

/**
 * A hook's shim: the template in hooks/ with this Node and this bin/mk.js written in (the
 * template's first choice; it falls back to `node` and `mk` on PATH when they are gone).
 */
function shimText(name: HookName): string {
  const template = readFileSync(join(projectDir(), 'hooks', name), 'utf8');
  const inQuotes = (s: string) => s.replaceAll("'", "'\\''");
  return template.replaceAll('@MK_SCRIPT@', inQuotes(mkScript())).replaceAll('@NODE@', inQuotes(process.execPath));
}

export interface InstallResult {
  dir: string;
  installed: string[];
  kept: string[];
}

/**
 * Installs mk's hook shims. A hook that is already there and is not mk's is moved aside to
 * `<name>.pre-mk` and still runs (first) on every call. Idempotent: running it again
 * refreshes mk's shims and keeps what was moved aside.
 */
export async function installHooks(ctx: RepoContext): Promise<InstallResult> {
  const dir = await hooksDir(ctx);
  mkdirSync(dir, { recursive: true });
  const installed: string[] = [];
  const kept: string[] = [];
  // Checked for every hook before any is touched: a refusal leaves the hooks folder as it was.
  for (const name of HOOKS) {
    const path = join(dir, name);
    const prev = path + PREVIOUS_SUFFIX;
    if (existsSync(path) && !isOurs(path) && existsSync(prev)) {
      throw new MkError('EHOOK', `the ${name} hook (${path}) is another tool's, and ${name}${PREVIOUS_SUFFIX}, where mk keeps such a hook, is taken too; nothing was installed`, {
        hint: `merge ${name} into ${name}${PREVIOUS_SUFFIX} by hand (mk runs ${name}${PREVIOUS_SUFFIX} first, then its own), remove ${name}, then run 'mk install' again; or let a hook manager call 'mk hook ${name}'`,
      });
    }
  }
  for (const name of HOOKS) {
    const path = join(dir, name);
    if (existsSync(path) && !isOurs(path)) {
      const prev = path + PREVIOUS_SUFFIX;
      renameSync(path, prev);
      kept.push(name);
    }
    writeFileSync(path + '.mk-tmp', shimText(name), { mode: 0o755 });
    renameSync(path + '.mk-tmp', path);
    chmodSync(path, 0o755);
    installed.push(name);
  }
  await installMergeDriver(ctx);
  return { dir, installed, kept };
}

const ATTR_LINE = '*.mk.yaml merge=mk';

/** Registers the pointer merge driver (local config and .git/info/attributes; nothing committed). */
async function installMergeDriver(ctx: RepoContext): Promise<void> {
  await git(ctx.root, ['config', 'merge.mk.name', 'mk pointer files']);
  await git(ctx.root, ['config', 'merge.mk.driver', launchCommand('merge-driver %O %A %B %P', "mk's merge driver for pointer files", 'mk install')]);
  const attrs = join(ctx.commonDir, 'info', 'attributes');
  mkdirSync(dirname(attrs), { recursive: true });
  let text = '';
  try {
    text = readFileSync(attrs, 'utf8');
  } catch {
    /* none yet */
  }
  if (!text.split('\n').includes(ATTR_LINE)) writeFileSync(attrs, `${text}${text && !text.endsWith('\n') ? '\n' : ''}${ATTR_LINE}\n`);
}

async function uninstallMergeDriver(ctx: RepoContext): Promise<void> {
  await git(ctx.root, ['config', '--remove-section', 'merge.mk'], { okCodes: [128, 5] }).catch(() => undefined);
  const attrs = join(ctx.commonDir, 'info', 'attributes');
  try {
    const text = readFileSync(attrs, 'utf8');
    writeFileSync(
      attrs,
      text
        .split('\n')
        .filter((l) => l !== ATTR_LINE)
        .join('\n'),
    );
  } catch {
    /* none */
  }
}

/** Removes mk's shims and puts back the hooks that were there before. */
export async function uninstallHooks(ctx: RepoContext): Promise<{ dir: string; removed: string[]; restored: string[] }> {
  const dir = await hooksDir(ctx);
  const removed: string[] = [];
  const restored: string[] = [];
  for (const name of HOOKS) {
    const path = join(dir, name);
    if (existsSync(path) && isOurs(path)) {
      rmSync(path);
      removed.push(name);
    }
    const prev = path + PREVIOUS_SUFFIX;
    if (existsSync(prev) && !existsSync(path)) {
      renameSync(prev, path);
      restored.push(name);
    }
  }
  await uninstallMergeDriver(ctx);
  return { dir, removed, restored };
}
