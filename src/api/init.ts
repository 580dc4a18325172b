import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { KITFILE_NAMES } from '../modelkit/kitfile.js';
import { defaultKitfile } from '../modelkit/kitfile-sync.js';
import { fileURLToPath } from 'node:url';
import { RepoContext, TEAM_CONFIG } from '../repo/context.js';
import { writeFileAtomic } from '../util/fs.js';
import { git } from '../git/run.js';
import { readAttributes, syncAttributes, unwritablePatterns, usesFilter } from '../repo/gitattributes.js';

export interface InitResult {
  root: string;
  created: string[];
  cache: string;
  /** Experiment files found in the repository and declared in the new `.mk/config.yaml` (README, "Experiments"). */
  experiments: { params: string[]; metrics: string[]; plots: string[] };
  /** `track:` patterns that could not go into .gitattributes. */
  warnings: string[];
}

const PARAMS_FILE = /^(params|hparams|hyperparams|hyperparameters)\.(ya?ml|json|toml)$/;
const METRICS_FILE = /^(metrics|scores)\.(json|ya?ml)$/;
const PLOT_FILE = /\.(csv|tsv|json)$/;
/** At most this many plots are declared on their own (a folder of hundreds is not a plot list). */
const MAX_PLOTS = 10;

/**
 * The params, metrics and plot files of a project, by their conventional names (as DVC's):
 * `params.yaml` (or hparams, .json, .toml), `metrics.json` (or scores, .yaml), and the CSV, TSV
 * and JSON series in a `plots/` folder. Files Git would commit (tracked, or untracked and not
 * ignored), outside `.mk/`.
 */
async function experimentFiles(root: string): Promise<InitResult['experiments']> {
  const files = (await git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])).split('\0').filter((f) => f && !f.startsWith('.mk/'));
  const name = (f: string) => f.slice(f.lastIndexOf('/') + 1);
  const shallow = (f: string) => f.split('/').length <= 3;
  const params = files.filter((f) => PARAMS_FILE.test(name(f)) && shallow(f)).sort();
  const metrics = files.filter((f) => METRICS_FILE.test(name(f)) && shallow(f)).sort();
  const plotFiles = files.filter((f) => /(^|\/)plots\/[^/]+$/.test(f) && PLOT_FILE.test(f) && !metrics.includes(f)).sort();
  return { params, metrics, plots: plotFiles.length <= MAX_PLOTS ? plotFiles : [] };
}

/** The config template with the experiment keys found declared (the commented examples otherwise stay). */
function withExperiments(template: string, found: InitResult['experiments']): string {
  let text = template;
  for (const key of ['params', 'metrics', 'plots'] as const) {
    const list = found[key];
    if (!list.length) continue;
    const line = `${key}: [${list.map((f) => JSON.stringify(f)).join(', ')}]`;
    const re = new RegExp(`^# ${key}: .*$`, 'm');
    text = re.test(text) ? text.replace(re, line) : `${text.trimEnd()}\n${line}\n`;
  }
  return text;
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
  let experiments: InitResult['experiments'] = { params: [], metrics: [], plots: [] };
  if (!existsSync(cfg)) {
    experiments = await experimentFiles(ctx.root);
    await writeFileAtomic(cfg, withExperiments(readFileSync(templatePath('config.yaml'), 'utf8'), experiments));
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
  return { root: ctx.root, created, cache: fresh.cacheDir, experiments, warnings: filter ? unwritablePatterns(fresh.config.track) : [] };
}
