import { diffValues, type ValuesDiff } from '../experiments/diff.js';
import { DIFF_HEADER, diffRows, fileNotes, mdInline, mdTable, textTable } from '../experiments/render.js';
import type { FlatValues } from '../experiments/values.js';
import { RepoContext } from '../repo/context.js';
import { MkError } from '../errors/index.js';
import { declaredFiles, revision, valuesAt, WORKSPACE, type Revision } from '../experiments/revisions.js';
import type { FileValues } from '../experiments/collect.js';

export type { FlatValues, Scalar } from '../experiments/values.js';
export type { ValueChange, FileNote } from '../experiments/diff.js';
export { declaredFiles, revision, sourceOf, valuesAt, WORKSPACE, type Revision } from '../experiments/revisions.js';

export interface ExperimentDiff extends ValuesDiff {
  kind: 'params' | 'metrics';
  a: Revision;
  b: Revision;
}

function noneDeclared(kind: 'params' | 'metrics'): MkError {
  return new MkError('ENOEXP', `no ${kind} files are declared`, { hint: `list them in .mk/config.yaml, e.g. '${kind}: [${kind === 'params' ? 'params.yaml' : 'metrics.json'}]'` });
}

async function valuesDiff(kind: 'params' | 'metrics', opts: { cwd?: string; a?: string; b?: string; all?: boolean }): Promise<ExperimentDiff> {
  const ctx = RepoContext.open(opts.cwd);
  const a = await revision(ctx, opts.a, 'HEAD');
  const b = await revision(ctx, opts.b, undefined);
  const files = await declaredFiles(ctx, kind, [a, b]);
  if (!files.length) throw noneDeclared(kind);
  const [va, vb] = await Promise.all([valuesAt(ctx, a, files), valuesAt(ctx, b, files)]);
  return { kind, a, b, ...diffValues(va, vb, { all: opts.all }) };
}

/** Parameters that differ between `a` (default HEAD) and `b` (default the work tree), key by key. */
export function paramsDiff(opts: { cwd?: string; a?: string; b?: string; all?: boolean } = {}): Promise<ExperimentDiff> {
  return valuesDiff('params', opts);
}

/** Metrics that differ between `a` (default HEAD) and `b` (default the work tree), with the change. */
export function metricsDiff(opts: { cwd?: string; a?: string; b?: string; all?: boolean } = {}): Promise<ExperimentDiff> {
  return valuesDiff('metrics', opts);
}

export interface MetricsAtRevision {
  revision: Revision;
  metrics: FlatValues;
  files: Array<{ path: string; status: FileValues['status']; problem?: string }>;
}

/** The metrics of each revision (default: the work tree), all declared files merged. */
export async function metricsShow(opts: { cwd?: string; revs?: string[] } = {}): Promise<{ revisions: MetricsAtRevision[] }> {
  const ctx = RepoContext.open(opts.cwd);
  const revs = await Promise.all((opts.revs?.length ? opts.revs : [WORKSPACE]).map((r) => revision(ctx, r, undefined)));
  const files = await declaredFiles(ctx, 'metrics', revs);
  if (!files.length) throw noneDeclared('metrics');
  const revisions: MetricsAtRevision[] = [];
  for (const r of revs) {
    const values = await valuesAt(ctx, r, files);
    // One file: its keys; several: each key after its file's path (`eval.json:acc`).
    const metrics: FlatValues = {};
    for (const f of values) for (const [k, v] of Object.entries(f.values)) metrics[files.length === 1 ? k : `${f.path}:${k}`] = v;
    revisions.push({ revision: r, metrics, files: values.map((f) => ({ path: f.path, status: f.status, ...(f.problem ? { problem: f.problem } : {}) })) });
  }
  return { revisions };
}

/** A diff as a table: `text` for a terminal, `md` for a pull request (notes on missing files below it). */
export function formatDiff(d: ExperimentDiff, format: 'text' | 'md'): string {
  const rows = [DIFF_HEADER, ...diffRows(d)];
  const notes = fileNotes(d, d.a.label, d.b.label);
  const label = (l: string) => (format === 'md' ? mdInline(l) : l);
  const table = d.changes.length ? (format === 'md' ? mdTable(rows) : textTable(rows)) : `no ${d.kind} changed between ${label(d.a.label)} and ${label(d.b.label)}`;
  return [table, ...notes.map((n) => (format === 'md' ? `\n> ${mdInline(n)}` : `note: ${n}`))].join('\n');
}

/** Metrics of several revisions as one table: a row per metric, a column per revision. */
export function formatMetrics(r: { revisions: MetricsAtRevision[] }, format: 'text' | 'md'): string {
  const keys = [...new Set(r.revisions.flatMap((x) => Object.keys(x.metrics)))];
  const rows = [['Metric', ...r.revisions.map((x) => x.revision.label)], ...keys.map((k) => [k, ...r.revisions.map((x) => (Object.hasOwn(x.metrics, k) ? String(x.metrics[k]) : '-'))])];
  return format === 'md' ? mdTable(rows) : textTable(rows);
}
