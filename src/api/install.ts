import { RepoContext } from '../repo/context.js';
import { installHooks, uninstallHooks, type InstallResult } from './hooks/install.js';

export type { InstallResult };

/** Installs mk's Git hooks (and the pointer merge driver) in the repository at `cwd`. */
export async function install(opts: { cwd?: string } = {}): Promise<InstallResult> {
  return installHooks(RepoContext.open(opts.cwd));
}

/** Removes mk's hooks and puts back the ones that were there before. */
export async function uninstall(opts: { cwd?: string } = {}): Promise<{ dir: string; removed: string[]; restored: string[] }> {
  return uninstallHooks(RepoContext.open(opts.cwd));
}
