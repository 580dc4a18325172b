import type { Command } from 'commander';
import { UsageError } from '../api/common.js';
import { out } from './output.js';

type DiffOpts = { json?: boolean; md?: boolean; all?: boolean };

function format(o: { md?: boolean }): 'text' | 'md' {
  return o.md ? 'md' : 'text';
}

function noBoth(o: { json?: boolean; md?: boolean }): void {
  if (o.json && o.md) throw new UsageError('--json and --md cannot be used together');
}

export function registerExperiments(program: Command): void {
  const params = program.command('params').description('parameters of experiments (the files `params:` in .mk/config.yaml lists)');
  params
    .command('diff')
    .description('parameters that differ between two revisions; a defaults to HEAD, b to the work tree')
    .argument('[a]', 'the old revision (default HEAD)')
    .argument('[b]', 'the new revision (default: the work tree)')
    .option('-a, --all', 'list unchanged parameters too')
    .option('--md', 'print a Markdown table')
    .option('--json', 'print the result as JSON')
    .action(async (a: string | undefined, b: string | undefined, o: DiffOpts) => {
      noBoth(o);
      const { paramsDiff, formatDiff } = await import('../api/experiments.js');
      const d = await paramsDiff({ a, b, all: o.all });
      if (o.json) return out.json(d);
      out.line(formatDiff(d, format(o)));
    });

  const metrics = program.command('metrics').description('metrics of experiments (the files `metrics:` in .mk/config.yaml lists)');
  metrics
    .command('show')
    .description('the metrics of revisions (default: the work tree), a column per revision')
    .argument('[rev...]', 'revisions; `workspace` is the work tree')
    .option('--md', 'print a Markdown table')
    .option('--json', 'print the result as JSON')
    .action(async (revs: string[], o: DiffOpts) => {
      noBoth(o);
      const { metricsShow, formatMetrics } = await import('../api/experiments.js');
      const r = await metricsShow({ revs });
      if (o.json) return out.json(r);
      for (const x of r.revisions) for (const f of x.files) if (f.status !== 'ok') out.err(`note: ${f.path}: ${f.status} at ${x.revision.label}${f.problem ? ` (${f.problem})` : ''}`);
      out.line(formatMetrics(r, format(o)));
    });
  metrics
    .command('diff')
    .description('metrics that differ between two revisions, with the change; a defaults to HEAD, b to the work tree')
    .argument('[a]', 'the old revision (default HEAD)')
    .argument('[b]', 'the new revision (default: the work tree)')
    .option('-a, --all', 'list unchanged metrics too')
    .option('--md', 'print a Markdown table')
    .option('--json', 'print the result as JSON')
    .action(async (a: string | undefined, b: string | undefined, o: DiffOpts) => {
      noBoth(o);
      const { metricsDiff, formatDiff } = await import('../api/experiments.js');
      const d = await metricsDiff({ a, b, all: o.all });
      if (o.json) return out.json(d);
      out.line(formatDiff(d, format(o)));
    });
}
