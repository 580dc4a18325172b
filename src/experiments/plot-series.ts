import { MkError } from '../errors/index.js';
import type { PlotConfig } from '../repo/config.js';
import type { RepoContext } from '../repo/context.js';
import { parseSeries } from './series.js';
import { readSourceFile } from './source.js';
import { sourceOf, type Revision } from './revisions.js';
import type { RevisionSeries } from './plots.js';

/** A plot file may be larger than a params file: a long training log. */
const MAX_PLOT_FILE = 64 * 1024 * 1024;

/** A revision a plot could not be drawn for: the file is missing there, or cannot be read (`problem`). */
export interface PlotMissing {
  revision: string;
  problem?: string;
}

/** The series of one plot at each revision (a revision without the file is reported, not drawn). */
export async function plotSeries(ctx: RepoContext, plot: PlotConfig, revs: Revision[]): Promise<{ series: RevisionSeries[]; missing: PlotMissing[] }> {
  const series: RevisionSeries[] = [];
  const missing: PlotMissing[] = [];
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
