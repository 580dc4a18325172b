import { PipelineError } from './errors.js';
import type { Stage } from './stages.js';

/** The stages and who feeds whom: an edge A → B when an output of A is (or holds, or lies inside) a dep of B. */
export interface Dag {
  stages: Stage[];
  /** Upstream stages of each stage (by address), in pipeline order. */
  upstream: Map<string, Stage[]>;
  downstream: Map<string, Stage[]>;
  /** Every stage after all of its upstream stages. */
  order: Stage[];
  /** For each edge, the paths that make it (A's output, B's dep). */
  via: Map<string, Array<{ out: string; dep: string }>>;
}

const within = (a: string, b: string) => a === b || a.startsWith(b + '/') || b === '.';

export const edgeKey = (from: Stage, to: Stage) => `${from.address}\0${to.address}`;

/** Builds the graph; refuses overlapping outputs and cycles, in one line each. */
export function buildDag(stages: Stage[]): Dag {
  const seen = new Set<string>();
  for (const s of stages) {
    if (seen.has(s.address)) throw new PipelineError(`stage '${s.address}' is defined twice`);
    seen.add(s.address);
  }
  const outs = stages.flatMap((s) => s.outs.map((o) => ({ s, o })));
  const byPath = new Map<string, { s: Stage; o: Stage['outs'][number] }>();
  for (const x of outs) {
    const other = byPath.get(x.o.path);
    if (other)
      throw new PipelineError(
        `output '${x.o.path}' is produced by two stages: '${other.s.address}' and '${x.s.address}'`,
        'each path may be the output of one stage only; give one of them another path',
      );
    byPath.set(x.o.path, x);
  }
  for (const x of outs) {
    const parts = x.o.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const a = byPath.get(parts.slice(0, i).join('/'));
      if (a)
        throw new PipelineError(
          `overlapping outputs: '${a.o.path}' (stage '${a.s.address}') holds '${x.o.path}' (stage '${x.s.address}')`,
          'each path may be the output of one stage only; give one of them another path',
        );
    }
  }
  const upstream = new Map<string, Stage[]>(stages.map((s) => [s.address, []]));
  const downstream = new Map<string, Stage[]>(stages.map((s) => [s.address, []]));
  const via = new Map<string, Array<{ out: string; dep: string }>>();
  for (const b of stages) {
    for (const o of b.outs) {
      const d = b.deps.find((x) => within(x.path, o.path) || within(o.path, x.path));
      if (d) throw new PipelineError(`stage '${b.address}' depends on its own output: '${d.def}' and '${o.def}'`, 'a stage cannot read what it writes; give the output another path');
    }
    for (const d of b.deps) {
      for (const { s: a, o } of outs) {
        if (a === b || !(within(d.path, o.path) || within(o.path, d.path))) continue;
        const k = edgeKey(a, b);
        if (!via.has(k)) {
          via.set(k, []);
          upstream.get(b.address)!.push(a);
          downstream.get(a.address)!.push(b);
        }
        via.get(k)!.push({ out: o.path, dep: d.path });
      }
    }
  }
  // Depth-first, in pipeline order: every stage after its upstream ones; a stage met again while on the path is a cycle.
  const order: Stage[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: Stage[] = [];
  const visit = (s: Stage) => {
    const st = state.get(s.address);
    if (st === 'done') return;
    if (st === 'open') {
      const from = path.findIndex((x) => x.address === s.address);
      const cycle = [...path.slice(from), s].map((x) => x.address).join(' -> ');
      throw new PipelineError(`the pipeline has a cycle: ${cycle}`, 'a stage cannot depend, through others, on its own outputs');
    }
    state.set(s.address, 'open');
    path.push(s);
    for (const u of upstream.get(s.address)!) visit(u);
    path.pop();
    state.set(s.address, 'done');
    order.push(s);
  };
  for (const s of stages) visit(s);
  return { stages, upstream, downstream, order, via };
}

/** The stages named: an address, a pipeline file's path (all its stages), or a foreach/matrix group name. */
export function findStages(dag: Dag, target: string): Stage[] {
  const t = target.replace(/^\.\//, '');
  const exact = dag.stages.filter((s) => s.address === t || (s.file === 'dvc.yaml' && `dvc.yaml:${s.name}` === t));
  if (exact.length) return exact;
  const group = dag.stages.filter((s) => s.address.startsWith(`${t}@`) && !s.address.slice(t.length + 1).includes(':'));
  if (group.length) return group;
  const file = dag.stages.filter((s) => s.file === t || s.file === `${t.replace(/\/$/, '')}/dvc.yaml`);
  if (file.length) return file;
  throw new PipelineError(
    `no stage named '${target}'`,
    `the stages are: ${dag.stages
      .map((s) => s.address)
      .slice(0, 12)
      .join(', ')}${dag.stages.length > 12 ? ', ...' : ''}`,
  );
}

/**
 * What `mk repro <targets>` considers, in the order it runs them: the targets and everything
 * upstream of them (default), the targets alone (single), or the targets and everything
 * downstream of them. No targets: the whole pipeline.
 */
export function plan(dag: Dag, targets: string[], opts: { single?: boolean; downstream?: boolean } = {}): Stage[] {
  if (!targets.length) return dag.order;
  const named = new Set(targets.flatMap((t) => findStages(dag, t)).map((s) => s.address));
  if (opts.single) return dag.order.filter((s) => named.has(s.address));
  const keep = new Set<string>();
  const walk = (addr: string, next: Map<string, Stage[]>) => {
    if (keep.has(addr)) return;
    keep.add(addr);
    for (const s of next.get(addr)!) walk(s.address, next);
  };
  for (const a of named) walk(a, opts.downstream ? dag.downstream : dag.upstream);
  return dag.order.filter((s) => keep.has(s.address));
}
