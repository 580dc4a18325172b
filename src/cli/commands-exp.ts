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
  registerExpShow(program);
  registerPlots(program);
  registerReport(program);
}

function registerExpShow(program: Command): void {
  const exp = program.command('exp').description('experiments: a row per commit with its params, metrics, model and ModelKit');
  exp
    .command('show')
    .description("a row per commit of HEAD's history (and branch tips, tags), or per ModelKit published on a remote")
    .option('-A, --all-branches', 'add the tip of every branch')
    .option('-T, --all-tags', 'add every tagged commit')
    .option('-n, --num <n>', "commits of HEAD's history (with --remote: ModelKits, newest first); default 20")
    .option('--sort-by <name>', 'sort by this metric (or param), highest first')
    .option('--sort-order <order>', 'asc or desc (default desc)')
    .option('-r, --remote <name>', 'read the ModelKits published on this remote, not Git history')
    .option('--md', 'print a Markdown table')
    .option('--json', 'print the result as JSON')
    .action(async (o: { allBranches?: boolean; allTags?: boolean; num?: string; sortBy?: string; sortOrder?: string; remote?: string; md?: boolean; json?: boolean }) => {
      noBoth(o);
      if (o.sortOrder !== undefined && o.sortOrder !== 'asc' && o.sortOrder !== 'desc') throw new UsageError(`--sort-order must be asc or desc, not '${o.sortOrder}'`);
      const n = o.num === undefined ? undefined : /^\d+$/.test(o.num) ? Number(o.num) : NaN;
      const { expShow, formatExpShow } = await import('../api/exp.js');
      const r = await expShow({ n, allBranches: o.allBranches, allTags: o.allTags, sortBy: o.sortBy, sortOrder: o.sortOrder as 'asc' | 'desc' | undefined, remote: o.remote });
      if (o.json) return out.json(r);
      out.line(formatExpShow(r, format(o)));
    });
  registerExpRun(exp);
  program
    .command('promote')
    .description("tag a commit's published ModelKit (default: champion) and record the promotion in Git")
    .argument('<rev>', 'a commit, branch or tag whose ModelKit is published')
    .option('--as <tag>', 'the tag to give it', 'champion')
    .option('-r, --remote <name>', 'the remote (default: the default remote)')
    .option('--json', 'print the result as JSON')
    .action(async (rev: string, o: { as: string; remote?: string; json?: boolean }) => {
      const { promote } = await import('../api/exp.js');
      const r = await promote(rev, { as: o.as, remote: o.remote });
      if (o.json) return out.json(r);
      out.line(`promoted ${r.commit.slice(0, 12)} to ${r.tag}: ${r.reference} (${r.digest.replace(/^sha256:/, '').slice(0, 12)})`);
      out.line(`recorded in git notes (${'refs/notes/mk-promotions'}); share it with 'git push origin refs/notes/mk-promotions'`);
    });
}

function registerPlots(program: Command): void {
  const plots = program.command('plots').description('plots of experiments (the series `plots:` in .mk/config.yaml lists)');
  plots
    .command('diff')
    .description('render each declared plot into one SVG with a line per revision (default: HEAD and the work tree)')
    .argument('[rev...]', 'revisions; `workspace` is the work tree')
    .option('-o, --out <dir>', 'the folder to write the SVGs (and their Vega-Lite specs) into (required)')
    .option('--png', 'also write a PNG of each plot (twice the SVG size; needs the optional package @resvg/resvg-js)')
    .option('--json', 'print the result as JSON')
    .action(async (revs: string[], o: { out?: string; png?: boolean; json?: boolean }) => {
      if (!o.out) throw new UsageError('name the folder to write the plots into: -o <dir>');
      const { plotsDiff } = await import('../api/plots.js');
      const r = await plotsDiff({ revs, dir: o.out, png: o.png });
      if (o.json) return out.json(r);
      for (const p of r.plots) {
        out.line(`${p.file}${p.png ? ` (and ${p.png})` : ''}  (${p.revisions.length} revision(s): ${p.revisions.join(', ')})`);
        for (const m of p.missing) out.err(`note: ${p.path}: ${m.problem ?? `missing at ${m.revision}`}`);
      }
    });
}

function registerReport(program: Command): void {
  program
    .command('report')
    .description('a pull-request report: params and metrics against the base, the data that changed, plots, and the ModelKit with kit pull/unpack commands')
    .option('-b, --base <rev>', 'the revision to compare with (default HEAD~1; in CI, the target branch)')
    .option('--md', 'Markdown, for a pull-request comment (the default)')
    .option('--html', 'one self-contained HTML page')
    .option('-o, --out <file>', 'write the report to this file (Markdown: its plots as SVGs in <file>-plots/)')
    .option('--json', 'print the report data as JSON')
    .action(async (o: { base?: string; md?: boolean; html?: boolean; out?: string; json?: boolean }) => {
      if (o.md && o.html) throw new UsageError('--md and --html cannot be used together');
      const { report } = await import('../api/report.js');
      const r = await report({ base: o.base, format: o.html ? 'html' : 'md', file: o.out });
      if (o.json) {
        const { text: _t, ...rest } = r;
        return out.json({ ...rest, plots: r.plots.map(({ svg: _s, ...p }) => p) });
      }
      if (r.file) out.line(`wrote ${r.file}`);
      else out.line(r.text.trimEnd());
    });
}

function registerExpRun(exp: Command): void {
  exp
    .command('run')
    .description(
      "run the pipeline (dvc.yaml) with params set, in a temporary Git worktree (the work tree, index and HEAD stay as they are; mk's cache and run cache are shared); the result is kept as refs/mk/exps/<name>, which 'mk exp show' lists",
    )
    .option(
      '-S, --set-param <[file:]key=value>',
      'set a param for this experiment (file default params.yaml; the value is read as YAML); repeatable',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('-n, --name <name>', 'name the experiment (default exp-<6 hex>)')
    .option('--queue', "only queue it; 'mk exp run --run-all' runs the queue")
    .option('--run-all', 'run every queued experiment')
    .option('-j, --jobs <n>', 'with --run-all: experiments at once (default 1); each logs to .git/mk/exps/logs/<name>.log')
    .option('--json', 'print the result as JSON')
    .action(async (o: { setParam: string[]; name?: string; queue?: boolean; runAll?: boolean; jobs?: string; json?: boolean }) => {
      const jobs = o.jobs === undefined ? undefined : /^\d+$/.test(o.jobs) ? Number(o.jobs) : NaN;
      if (jobs !== undefined && !o.runAll) throw new UsageError('-j goes with --run-all', "queue experiments with --queue, then 'mk exp run --run-all -j <n>'");
      const { expRun } = await import('../api/exp-run.js');
      const r = await expRun({
        set: o.setParam,
        name: o.name,
        queue: o.queue,
        runAll: o.runAll,
        jobs,
        output: o.json ? 'log' : 'inherit',
        onEvent: (e) => {
          if (o.json) return;
          if (e.type === 'queued' && o.queue) out.line(`queued ${e.name}${e.sets.length ? `: ${e.sets.join(', ')}` : ''}`);
          else if (e.type === 'start' && e.log) out.line(`running ${e.name} (log: ${e.log})`);
          else if (e.type === 'end') out.line(e.ok ? `done ${e.name}` : `failed ${e.name}${e.log ? `: see ${e.log}` : ''}`);
        },
      });
      if (o.json) out.json(r);
      else if (o.runAll && !r.ran.length) out.line('no queued experiments');
      else if (r.ran.some((x) => x.status === 'done')) out.line("'mk exp show' lists the results; 'mk exp apply <name>' brings one into the work tree");
      if (r.ran.some((x) => x.status === 'failed')) process.exitCode = 1;
    });
  exp
    .command('exec', { hidden: true })
    .description('run one queued experiment in this process (what mk exp run starts)')
    .argument('<name>')
    .action(async (name: string) => {
      const { expExec } = await import('../api/exp-run.js');
      const { renderEvent } = await import('./commands-pipeline.js');
      const r = await expExec(name, { onEvent: (e) => renderEvent(e, false) });
      out.line(`experiment ${r.name} is commit ${r.commit.slice(0, 12)} (refs/mk/exps/${r.name})`);
    });
  exp
    .command('apply')
    .description("bring an experiment's files (params, dvc.lock, metrics, outputs) into the work tree and the index, their data from the cache; HEAD stays: 'git commit' keeps it")
    .argument('<name>', 'the experiment')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, o: { json?: boolean }) => {
      const { expApply } = await import('../api/exp-run.js');
      const r = await expApply(name);
      if (o.json) return out.json(r);
      out.line(`applied ${r.name} (${r.commit.slice(0, 12)}): ${r.changed.length} file(s) changed, staged; commit with 'git commit'`);
    });
  exp
    .command('branch')
    .description('keep an experiment as a Git branch')
    .argument('<name>', 'the experiment')
    .argument('<branch>', 'the new branch')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, branch: string, o: { json?: boolean }) => {
      const { expBranch } = await import('../api/exp-run.js');
      const r = await expBranch(name, branch);
      if (o.json) return out.json(r);
      out.line(`branch ${r.branch} is experiment ${r.name} (${r.commit.slice(0, 12)})`);
    });
  exp
    .command('remove')
    .description('forget experiments (done, queued or failed); their data stays in the cache until mk gc')
    .argument('[names...]', 'the experiments')
    .option('--queue', 'every queued experiment')
    .option('-A, --all', 'every experiment')
    .option('--json', 'print the result as JSON')
    .action(async (names: string[], o: { queue?: boolean; all?: boolean; json?: boolean }) => {
      const { expRemove } = await import('../api/exp-run.js');
      const r = await expRemove(names, { queue: o.queue, all: o.all });
      if (o.json) return out.json(r);
      for (const n of r.removed) out.line(`removed ${n}`);
    });
}
