import { join } from 'node:path';
import { git } from './run.js';
import { launchCommand } from './launch.js';

/** The command git runs as mk's long-running filter (this Node and mk, else node or mk on PATH). */
export function filterCommand(global: boolean): string {
  return launchCommand('filter-process', "mk's Git filter (filter.mk.process)", global ? 'mk install --global' : 'mk install');
}

function scopeArgs(global: boolean): string[] {
  return global ? ['--global'] : ['--local'];
}

/**
 * Registers mk's Git filter (`filter.mk.process`, `required = true`, as `git lfs install`
 * does for LFS): in this repository's config, or with `global` in the user's global config,
 * so that every clone has it before its first checkout.
 */
export async function installFilterConfig(cwd: string, global: boolean): Promise<void> {
  const s = scopeArgs(global);
  await git(cwd, ['config', ...s, 'filter.mk.process', filterCommand(global)]);
  await git(cwd, ['config', ...s, 'filter.mk.required', 'true']);
}

export async function uninstallFilterConfig(cwd: string, global: boolean): Promise<void> {
  await git(cwd, ['config', ...scopeArgs(global), '--remove-section', 'filter.mk'], { okCodes: [128, 5] }).catch(() => undefined);
}

/** The filter command git would run here (any scope), or undefined when mk's filter is not set up. */
export async function configuredFilter(cwd: string): Promise<string | undefined> {
  const v = (await git(cwd, ['config', '--get', 'filter.mk.process'], { okCodes: [1] }).catch(() => '')).trim();
  return v || undefined;
}

/**
 * One line when this clone lacks what mk needs from Git (its hooks, or the filter a
 * repository with mk's .gitattributes block relies on), saying what to run; else undefined.
 * `mk pull`, `mk status` and `mk clone` print it.
 */
export async function setupWarning(cwd?: string): Promise<string | undefined> {
  const { RepoContext } = await import('../repo/context.js');
  const { readAttributes, usesFilter } = await import('../repo/gitattributes.js');
  const { existsSync, readFileSync } = await import('node:fs');
  const { hooksDirFrom } = await import('./hook-shims.js');
  let ctx;
  try {
    ctx = RepoContext.open(cwd);
  } catch {
    return undefined;
  }
  if (!ctx.initialized) return undefined;
  const missing: string[] = [];
  // Both settings in one git call.
  const config = new Map<string, string>();
  const listed = await git(ctx.root, ['config', '-z', '--get-regexp', '^(core\\.hookspath|filter\\.mk\\.process)$'], { okCodes: [1] }).catch(() => '');
  for (const entry of listed.split('\0')) {
    const nl = entry.indexOf('\n');
    if (nl > 0) config.set(entry.slice(0, nl), entry.slice(nl + 1));
  }
  const pre = join(hooksDirFrom(ctx, config.get('core.hookspath') ?? ''), 'pre-commit');
  if (!existsSync(pre) || !readFileSync(pre, 'utf8').includes('mk-hook-shim')) missing.push('hooks');
  if (usesFilter(readAttributes(ctx.root)) && !config.get('filter.mk.process')?.trim()) missing.push('Git filter');
  if (!missing.length) return undefined;
  const fix = missing.includes('hooks') ? "run 'mk install' here" : "run 'mk install' here, or 'mk install --global' once for all your clones";
  return `mk: this clone lacks mk's ${missing.join(' and ')}, so git commands alone will not keep the data right; ${fix}`;
}
