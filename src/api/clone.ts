import { basename, resolve } from 'node:path';
import { git } from '../git/run.js';
import { installHooks } from './hooks/install.js';
import { installFilterConfig } from './filter/setup.js';
import { RepoContext } from '../repo/context.js';
import { pull } from './transfer.js';

/** `git clone`, `mk install` (hooks and filter), then `mk pull` (files Git left as pointer text are restored too): a working copy with its data in one step. */
export async function clone(url: string, dir?: string, opts: { cwd?: string; branch?: string } = {}): Promise<{ dir: string; restored: number }> {
  const target = resolve(opts.cwd ?? process.cwd(), dir ?? basename(url.replace(/\/+$/, '')).replace(/\.git$/, ''));
  await git(opts.cwd ?? process.cwd(), ['clone', '-q', ...(opts.branch ? ['-b', opts.branch] : []), '--', url, target]);
  const ctx = RepoContext.open(target);
  if (!ctx.initialized) return { dir: target, restored: 0 };
  await installHooks(ctx);
  await installFilterConfig(target, false);
  if (ctx.config.remotes.length === 0) return { dir: target, restored: 0 };
  const r = await pull({ cwd: target });
  return { dir: target, restored: r.checkout.artifacts.filter((a) => a.action === 'restored').length };
}
