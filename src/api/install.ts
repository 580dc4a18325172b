import { RepoContext } from '../repo/context.js';
import { readAttributes, syncAttributes, unwritablePatterns, usesFilter } from '../repo/gitattributes.js';
import { git } from '../git/run.js';
import { installHooks, uninstallHooks, type InstallResult } from '../git/hook-shims.js';
import { installFilterConfig, uninstallFilterConfig } from '../git/filter-config.js';

export type { InstallResult };
/** A line saying mk's Git filter is not set up for this user, or undefined when it is. */
export { setupWarning } from '../git/filter-config.js';

/**
 * Installs mk's Git hooks, the pointer merge driver and mk's Git filter in the repository at
 * `cwd`. With `global`, the filter goes into the user's global Git config instead (as
 * `git lfs install`), so every clone smudges and cleans through mk from its first checkout;
 * the hooks are installed too when `cwd` is inside a repository.
 */
export async function install(opts: { cwd?: string; global?: boolean } = {}): Promise<InstallResult & { filter: 'local' | 'global'; attributes: boolean; warnings: string[] }> {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.global) {
    await installFilterConfig(cwd, true);
    let ctx: RepoContext | undefined;
    try {
      ctx = RepoContext.open(cwd);
    } catch {
      return { dir: '', installed: [], kept: [], filter: 'global', attributes: false, warnings: [] };
    }
    const r = await installHooks(ctx);
    return { ...r, filter: 'global', attributes: await syncTracked(ctx), warnings: trackWarnings(ctx) };
  }
  const ctx = RepoContext.open(cwd);
  const r = await installHooks(ctx);
  await installFilterConfig(ctx.root, false);
  return { ...r, filter: 'local', attributes: await syncTracked(ctx), warnings: trackWarnings(ctx) };
}

/** The `track:` patterns mk could not write into .gitattributes (in a repository that uses the filter). */
function trackWarnings(ctx: RepoContext): string[] {
  return usesFilter(readAttributes(ctx.root)) ? unwritablePatterns(ctx.config.track) : [];
}

/** In a repository that keeps files through the filter, the `track:` file patterns become .gitattributes lines (staged). */
async function syncTracked(ctx: RepoContext): Promise<boolean> {
  if (!usesFilter(readAttributes(ctx.root))) return false;
  if (!(await syncAttributes(ctx.root, ctx.config.track))) return false;
  await git(ctx.root, ['add', '--', '.gitattributes']);
  return true;
}

/** Removes mk's hooks (putting back the ones that were there before) and its filter config; `global`: the filter of the global config only. */
export async function uninstall(opts: { cwd?: string; global?: boolean } = {}): Promise<{ dir: string; removed: string[]; restored: string[] }> {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.global) {
    await uninstallFilterConfig(cwd, true);
    return { dir: '', removed: [], restored: [] };
  }
  const ctx = RepoContext.open(cwd);
  const r = await uninstallHooks(ctx);
  await uninstallFilterConfig(ctx.root, false);
  return r;
}
