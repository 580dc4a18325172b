import { mkdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { MkError, UsageError } from '../errors/index.js';
import { lineSpec, pngRenderer, renderSvg, type RevisionSeries } from '../experiments/plots.js';
import { parseSeries } from '../experiments/series.js';
import { declaredAt, readSourceFile } from '../experiments/source.js';
import type { PlotConfig } from '../repo/config.js';
import { RepoContext } from '../repo/context.js';
import { writeFileAtomic } from '../util/fs.js';
import { revision, sourceOf, WORKSPACE, type Revision } from '../experiments/revisions.js';

/** A plot file may be larger than a params file: a long training log. */
const MAX_PLOT_FILE = 64 * 1024 * 1024;

export interface RenderedPlot {
  path: string;
  title: string;
  /** The SVG written (and the Vega-Lite spec beside it, `.vl.json`). */
  file: string;
  /** The PNG written beside it (with `png`). */
  png?: string;
  spec: string;
  /** Revisions drawn, one line each, and those where the file is missing or unreadable. */
  revisions: string[];
  missing: Array<{ revision: string; problem?: string }>;
}

export interface PlotsDiffResult {
  dir: string;
  plots: RenderedPlot[];
}

/** The plots declared by the work tree's config, then those the revisions' own configs add. */
async function declaredPlots(ctx: RepoContext, revs: Revision[]): Promise<PlotConfig[]> {
  const plots = [...ctx.config.plots];
  for (const r of revs) {
    if (!r.commit) continue;
    for (const p of (await declaredAt({ kind: 'commit', gitDir: ctx.commonDir, commit: r.commit })).plots) if (!plots.some((q) => q.path === p.path)) plots.push(p);
  }
  return plots;
}

/** A file name for a plot path: `plots/loss.csv` -> `plots_loss.csv.svg`. */
function fileName(path: string): string {
  return path.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
}

/** The series of one plot at each revision (a revision without the file is reported, not drawn). */
export async function plotSeries(ctx: RepoContext, plot: PlotConfig, revs: Revision[]): Promise<{ series: RevisionSeries[]; missing: RenderedPlot['missing'] }> {
  const series: RevisionSeries[] = [];
  const missing: RenderedPlot['missing'] = [];
  for (const r of revs) {
    const src = sourceOf(ctx, r);
    try {
      const bytes = src && (await readSourceFile(src, plot.path, MAX_PLOT_FILE));
      if (!bytes) {
        missing.push({ revision: r.label });
        continue;
      }
      series.push({ revision: r.label, series: parseSeries(bytes, plot.path, plot) });
    } catch (e) {
      if (!(e instanceof MkError)) throw e;
      missing.push({ revision: r.label, problem: e.message });
    }
  }
  return { series, missing };
}

/** Revisions to compare: as named, else HEAD and the work tree. */
export async function plotRevisions(ctx: RepoContext, revs: string[] | undefined): Promise<Revision[]> {
  if (revs?.length) return Promise.all(revs.map((r) => revision(ctx, r, undefined)));
  const head = await revision(ctx, undefined, 'HEAD');
  return head.commit ? [head, { label: WORKSPACE }] : [{ label: WORKSPACE }];
}

/**
 * Renders each declared plot into one SVG in `dir`, with one line per revision (default:
 * HEAD and the work tree), through a Vega-Lite spec rendered headless by Vega.
 */
export async function plotsDiff(opts: { cwd?: string; revs?: string[]; dir: string; png?: boolean }): Promise<PlotsDiffResult> {
  const ctx = RepoContext.open(opts.cwd);
  const dir = resolve(opts.cwd ?? process.cwd(), opts.dir);
  const inside = (parent: string, child: string) => {
    const rel = relative(resolve(parent), child);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  if ([ctx.gitDir, ctx.commonDir].some((g) => inside(g, dir)) || dir.split(sep).includes('.git')) throw new UsageError(`'${opts.dir}' is inside .git; write the plots somewhere else`);
  const revs = await plotRevisions(ctx, opts.revs);
  const declared = await declaredPlots(ctx, revs);
  if (!declared.length) throw new MkError('ENOEXP', 'no plots are declared', { hint: "list them in .mk/config.yaml, e.g. 'plots: [plots/loss.csv]' or '{path: plots/loss.csv, x: step, y: loss}'" });
  const toPng = opts.png ? await pngRenderer() : undefined;
  mkdirSync(dir, { recursive: true });
  const plots: RenderedPlot[] = [];
  for (const plot of declared) {
    const { series, missing } = await plotSeries(ctx, plot, revs);
    const title = plot.title ?? plot.path;
    const spec = lineSpec(title, series);
    const svg = await renderSvg(spec);
    const file = join(dir, `${fileName(plot.path)}.svg`);
    const specFile = join(dir, `${fileName(plot.path)}.vl.json`);
    await writeFileAtomic(specFile, JSON.stringify(spec, null, 2) + '\n');
    await writeFileAtomic(file, svg);
    const png = toPng ? join(dir, `${fileName(plot.path)}.png`) : undefined;
    if (png) await writeFileAtomic(png, toPng!(svg));
    plots.push({ path: plot.path, title, file, ...(png ? { png } : {}), spec: specFile, revisions: series.map((s) => s.revision), missing });
  }
  return { dir, plots };
}
