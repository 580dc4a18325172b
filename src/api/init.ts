import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { KITFILE_NAMES } from '../modelkit/kitfile.js';
import { defaultKitfile } from '../modelkit/kitfile-sync.js';
import { fileURLToPath } from 'node:url';
import { RepoContext, TEAM_CONFIG } from '../repo/context.js';
import { writeFileAtomic } from '../util/fs.js';
import { git } from '../git/run.js';
import { readAttributes, syncAttributes, usesFilter } from '../repo/gitattributes.js';

export interface InitResult {
  root: string;
  created: string[];
  cache: string;
}

export function templatePath(name: string): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'templates', name);
}

/**
 * Creates `.mk/config.yaml` (team settings, staged), a Kitfile, the root `.gitattributes`
 * block that sends the `track:` file patterns through mk's Git filter (unless `filter` is
 * false: then files are tracked with pointer files beside them, as folders are), and the
 * local cache. Idempotent.
 */
export async function init(opts: { cwd?: string; stage?: boolean; filter?: boolean } = {}): Promise<InitResult> {
  const ctx = RepoContext.open(opts.cwd);
  const created: string[] = [];
  const cfg = join(ctx.root, TEAM_CONFIG);
  if (!existsSync(cfg)) {
    await writeFileAtomic(cfg, readFileSync(templatePath('config.yaml'), 'utf8'));
    created.push(TEAM_CONFIG);
    if (opts.stage !== false) await git(ctx.root, ['add', '--', TEAM_CONFIG]);
  }
  if (!KITFILE_NAMES.some((n) => existsSync(join(ctx.root, n)))) {
    await writeFileAtomic(join(ctx.root, 'Kitfile'), defaultKitfile(basename(ctx.root)));
    created.push('Kitfile');
    if (opts.stage !== false) await git(ctx.root, ['add', '--', 'Kitfile']);
  }
  const fresh = RepoContext.open(ctx.root);
  // A new setup keeps files through the filter; an existing one keeps its way (mk migrate changes it).
  const filter = opts.filter !== false && (created.includes(TEAM_CONFIG) || usesFilter(readAttributes(ctx.root)));
  if (filter && (await syncAttributes(ctx.root, fresh.config.track))) {
    created.push('.gitattributes');
    if (opts.stage !== false) await git(ctx.root, ['add', '--', '.gitattributes']);
  }
  void fresh.cache; // creates the layout
  return { root: ctx.root, created, cache: fresh.cacheDir };
}
