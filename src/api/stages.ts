import { describeReason, ParamsReader, stageState } from '../pipeline/status.js';
import { hasherFor, loadPipeline, Locks, requirePipeline } from '../pipeline/pipeline.js';
import { edgeKey } from '../pipeline/dag.js';
import { RepoContext } from '../repo/context.js';

export interface StageStatus {
  stage: string;
  stale: boolean;
  frozen: boolean;
  /** Why it would run: "deps changed: data/raw.csv", "params changed: train.lr", "outs missing: model.pkl", "command changed". */
  reasons: string[];
}

/** The stale stages of the pipeline (every stage with `all`), or undefined when the repository has no dvc.yaml. */
export async function stageStatus(opts: { cwd?: string; all?: boolean } = {}): Promise<{ stages: StageStatus[] } | undefined> {
  const ctx = RepoContext.open(opts.cwd);
  const pipe = await loadPipeline(ctx.root);
  if (!pipe) return undefined;
  const hasher = hasherFor(ctx.root, ctx.stateDir);
  const params = new ParamsReader(ctx.root);
  const locks = new Locks(ctx.root);
  const out: StageStatus[] = [];
  try {
    for (const s of pipe.dag.order) {
      const st = await stageState(s, locks.of(s), hasher, params, { all: true });
      if (st.stale || opts.all) out.push({ stage: s.address, stale: st.stale, frozen: s.frozen, reasons: st.reasons.map(describeReason) });
    }
  } finally {
    hasher.save();
  }
  return { stages: out };
}

export interface DagStage {
  stage: string;
  cmd: string | string[];
  wdir: string;
  deps: string[];
  outs: string[];
  frozen: boolean;
  /** Stages it reads outputs of. */
  upstream: string[];
  downstream: string[];
}

export interface DagResult {
  /** In dependency order. */
  stages: DagStage[];
  edges: Array<{ from: string; to: string; paths: string[] }>;
}

/** `mk dag`: the stages and the outputs that link them. */
export async function dag(opts: { cwd?: string } = {}): Promise<DagResult> {
  const ctx = RepoContext.open(opts.cwd);
  const pipe = await requirePipeline(ctx.root);
  const d = pipe.dag;
  const stages = d.order.map((s) => ({
    stage: s.address,
    cmd: s.cmd,
    wdir: s.wdir,
    deps: s.deps.map((x) => x.path),
    outs: s.outs.map((x) => x.path),
    frozen: s.frozen,
    upstream: d.upstream.get(s.address)!.map((u) => u.address),
    downstream: d.downstream.get(s.address)!.map((u) => u.address),
  }));
  const edges = d.order.flatMap((to) => d.upstream.get(to.address)!.map((from) => ({ from: from.address, to: to.address, paths: [...new Set(d.via.get(edgeKey(from, to))!.map((v) => v.dep))] })));
  return { stages, edges };
}
