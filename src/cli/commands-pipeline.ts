import type { Command } from 'commander';
import type { ReproEvent, StageOutcome } from '../api/repro.js';
import type { DagResult } from '../api/stages.js';
import { out } from './output.js';
import { table } from './format.js';

function why(o: StageOutcome): string {
  return o.reasons.length ? ` (${o.reasons.join('; ')})` : '';
}

export function renderEvent(e: ReproEvent, json: boolean): void {
  if (json) return;
  const o = e.outcome;
  if (e.type === 'start') {
    out.line(`Running stage '${o.stage}'${why(o)}:`);
    for (const c of e.cmd) out.line(`> ${c}`);
    return;
  }
  switch (o.action) {
    case 'skipped':
      out.line(`Stage '${o.stage}' is up to date, skipped`);
      break;
    case 'restored':
      if (o.from === 'lock') out.line(`Restored the outputs of stage '${o.stage}' as dvc.lock records them, without running it${why(o)}`);
      else out.line(`Restored stage '${o.stage}' from the run cache${o.from === 'remote' ? ' (fetched from the remote)' : ''}${why(o)}`);
      break;
    case 'frozen':
      out.line(`Stage '${o.stage}' is frozen: ${o.reasons.length ? `not run, outputs recorded as they are${why(o)}` : 'not run'}`);
      break;
    case 'would-run':
      out.line(`would run '${o.stage}': ${o.reasons.join('; ')}`);
      break;
    case 'may-run':
      out.line(`may run '${o.stage}': after ${o.after!.map((a) => `'${a}'`).join(', ')}, if ${o.after!.length === 1 ? 'its' : 'their'} outputs change`);
      break;
    case 'ran':
      break;
  }
}

export function registerPipeline(program: Command): void {
  program
    .command('repro')
    .description('run the stale stages of dvc.yaml in dependency order (their outputs restored from the run cache when these inputs ran before), record the outputs with mk and write dvc.lock')
    .argument('[stages...]', 'stages to bring up to date, with what they depend on (default: all); a stage name, a foreach/matrix group, or a dvc.yaml path')
    .option('-f, --force', 'run the stages even if nothing changed (and let them overwrite outputs that hold unsaved changes); skips the run cache')
    .option('--dry', 'only say which stages would run, and why')
    .option('-s, --single-item', 'the named stages only, not the stages they depend on')
    .option('--downstream', 'the named stages and every stage that depends on them')
    .option('--no-run-cache', 'neither restore outputs from the run cache nor add to it')
    .option('-r, --remote <name>', 'the remote whose run cache to look in (default: the default remote)')
    .option('--no-stage', 'do not stage the outputs and dvc.lock with git')
    .option('--json', "print the result as JSON (the commands' own output goes to stderr)")
    .action(async (stages: string[], o: { force?: boolean; dry?: boolean; singleItem?: boolean; downstream?: boolean; runCache: boolean; remote?: string; stage: boolean; json?: boolean }) => {
      const { repro } = await import('../api/repro.js');
      const json = !!o.json;
      const r = await repro({
        targets: stages,
        force: o.force,
        dry: o.dry,
        single: o.singleItem,
        downstream: o.downstream,
        runCache: o.runCache,
        remote: o.remote,
        stage: o.stage,
        output: json ? 'stderr' : 'inherit',
        onEvent: (e) => renderEvent(e, json),
      });
      if (json) return out.json(r);
      const did = r.stages.filter((s) => s.action === 'ran' || s.action === 'restored' || s.action === 'frozen');
      if (o.dry) {
        if (!r.stages.some((s) => s.action !== 'skipped')) out.line('Every stage is up to date');
        return;
      }
      if (!did.length) out.line('Every stage is up to date');
      else if (r.locks.length) out.line(`Updated ${r.locks.join(', ')}${o.stage ? ' (staged with the outputs; commit to keep them)' : ''}`);
    });

  program
    .command('dag')
    .description('show the stages of dvc.yaml and the outputs that link them')
    .option('--dot', 'print the graph in Graphviz DOT')
    .option('--json', 'print the graph as JSON')
    .action(async (o: { dot?: boolean; json?: boolean }) => {
      const { dag } = await import('../api/stages.js');
      const d = await dag();
      if (o.json) return out.json(d);
      if (o.dot) return out.line(dot(d));
      out.line(ascii(d));
    });
}

/** The graph as Graphviz DOT. */
export function dot(d: DagResult): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ['strict digraph {', ...d.stages.map((s) => `\t${q(s.stage)};`), ...d.edges.map((e) => `\t${q(e.from)} -> ${q(e.to)};`), '}'];
  return lines.join('\n');
}

/**
 * The graph as text: each stage from the first, what follows from it indented below, a stage
 * met a second time marked "(see above)", and the paths that link them.
 */
export function ascii(d: DagResult): string {
  if (!d.stages.length) return 'no stages';
  const lines: string[] = [];
  const shown = new Set<string>();
  const by = new Map(d.stages.map((s) => [s.stage, s]));
  const via = new Map(d.edges.map((e) => [`${e.from}\0${e.to}`, e.paths]));
  const walk = (name: string, prefix: string, last: boolean, from?: string) => {
    const s = by.get(name)!;
    const link = from ? `  [${via.get(`${from}\0${name}`)!.join(', ')}]` : '';
    const seen = shown.has(name);
    lines.push(`${prefix}${from ? (last ? '└─> ' : '├─> ') : ''}${name}${s.frozen ? ' (frozen)' : ''}${seen ? ' (see above)' : ''}${link}`);
    if (seen) return;
    shown.add(name);
    const kids = s.downstream;
    const next = from ? prefix + (last ? '    ' : '│   ') : prefix;
    kids.forEach((k, i) => walk(k, next, i === kids.length - 1, name));
  };
  for (const s of d.stages) if (!s.upstream.length) walk(s.stage, '', true);
  return lines.join('\n');
}

/** Stale stages under `mk status`'s table. */
export function stageLines(stages: Array<{ stage: string; reasons: string[] }>): string {
  if (!stages.length) return 'pipeline: every stage is up to date';
  return `pipeline: ${stages.length} stale stage${stages.length === 1 ? '' : 's'} (run 'mk repro')\n` + table(stages.map((s) => ['  ' + s.stage, s.reasons.join('; ')]));
}
