import { mkdirSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { diffValues } from '../experiments/diff.js';
import { lineSpec, renderSvg } from '../experiments/plots.js';
import { DIFF_HEADER, diffRows, fileNotes, htmlEscape, htmlTable, mdEscapeAll, mdInline, mdTable } from '../experiments/render.js';
import { MkError, UsageError } from '../errors/index.js';
import { remoteConfig } from '../remote/remotes.js';
import { parseRemoteUrl } from '../remote/url.js';
import { RepoContext } from '../repo/context.js';
import { writeFileAtomic } from '../util/fs.js';
import { diff as dataDiff } from './diff.js';
import { declaredFiles, revision, valuesAt, type Revision } from '../experiments/revisions.js';
import type { ExperimentDiff } from './experiments.js';
import { plotSeries } from './plots.js';
import { declaredAt } from '../experiments/source.js';

export interface ReportData {
  base: Revision;
  head: Revision;
  params: ExperimentDiff;
  metrics: ExperimentDiff;
  /** Tracked artifacts changed between base and head (undefined: not known, see `dataProblem`). */
  data?: Array<{ path: string; change: string; added: number; removed: number; modified: number }>;
  dataProblem?: string;
  plots: Array<{ path: string; title: string; revisions: string[]; svg: string; file?: string }>;
  /** The commit's ModelKit on the default remote, and the commands that get it (kit's for a registry). */
  modelkit?: { reference: string; commands: string[] };
}

export interface ReportResult extends ReportData {
  format: 'md' | 'html';
  /** The report itself (also written to `file` when asked). */
  text: string;
  file?: string;
}

/** The ModelKit reference of a commit on the default remote (what `mk push` tags it with). */
function modelKitOf(ctx: RepoContext, commit: string): ReportData['modelkit'] {
  try {
    const rc = remoteConfig(ctx);
    const u = parseRemoteUrl(rc.url, ctx.root);
    if (u.type !== 'registry') {
      const reference = `oci:${u.path}:${commit}`;
      return { reference, commands: [`mk modelkit unpack ${reference} -d ./${basename(ctx.root)}`] };
    }
    const reference = `${u.host}/${u.repository}:${commit}`;
    return { reference, commands: [`kit pull ${reference}`, `kit unpack ${reference} -d ./${basename(u.repository)}`] };
  } catch {
    return undefined;
  }
}

async function gather(ctx: RepoContext, baseRev: string): Promise<ReportData> {
  const head = await revision(ctx, undefined, 'HEAD');
  if (!head.commit) throw new MkError('ENOCOMMIT', 'there is no commit to report on yet', { hint: 'commit first' });
  const base = await revision(ctx, baseRev, undefined);
  const compare = async (kind: 'params' | 'metrics', all: boolean): Promise<ExperimentDiff> => {
    const files = await declaredFiles(ctx, kind, [base, head]);
    const [a, b] = await Promise.all([valuesAt(ctx, base, files), valuesAt(ctx, head, files)]);
    return { kind, a: base, b: head, ...diffValues(a, b, { all }) };
  };
  const report: ReportData = { base, head, params: await compare('params', false), metrics: await compare('metrics', true), plots: [] };
  try {
    const d = await dataDiff({ cwd: ctx.root, from: base.commit, to: head.commit });
    report.data = d.artifacts.map((a) => ({
      path: a.path,
      change: a.change,
      added: a.files.filter((f) => f.change === 'added').length,
      removed: a.files.filter((f) => f.change === 'removed').length,
      modified: a.files.filter((f) => f.change === 'modified').length,
    }));
  } catch (e) {
    if (!(e instanceof MkError)) throw e;
    report.dataProblem = e.message;
  }
  const plots = [...ctx.config.plots];
  for (const p of (await declaredAt({ kind: 'commit', gitDir: ctx.commonDir, commit: head.commit })).plots) if (!plots.some((q) => q.path === p.path)) plots.push(p);
  for (const plot of plots) {
    const { series } = await plotSeries(ctx, plot, [base, head]);
    if (!series.length) continue;
    const title = plot.title ?? plot.path;
    report.plots.push({ path: plot.path, title, revisions: series.map((s) => s.revision), svg: await renderSvg(lineSpec(title, series)) });
  }
  const mk = modelKitOf(ctx, head.commit);
  if (mk) report.modelkit = mk;
  return report;
}

const short = (r: Revision) => (r.commit ? `${r.label} (${r.commit.slice(0, 12)})` : r.label);
const MARKER = '<!-- mk-report -->';

/** A revision in Markdown: its label (from the command line or the repository) and commit, inert. */
const mdShort = (r: Revision) => mdInline(short(r));

/** A fenced block that no line of `lines` can close (each line one line). */
function mdFence(lines: string[], info = ''): string[] {
  const flat = lines.map((l) => l.replace(/[\r\n]+/g, ' '));
  const run = flat.flatMap((l) => l.match(/`+/g) ?? []).reduce((m, r) => Math.max(m, r.length), 0);
  const fence = '`'.repeat(Math.max(3, run + 1));
  return [fence + info, ...flat, fence];
}

function diffMd(d: ExperimentDiff): string {
  if (!d.changes.length && !d.files.length) return `No ${d.kind} changed.`;
  // Notes quote file names and parser messages (which quote the file): inert text.
  const notes = fileNotes(d, d.a.label, d.b.label).map((n) => `> ${mdInline(n)}`);
  return [d.changes.length ? mdTable([DIFF_HEADER, ...diffRows(d)]) : `No ${d.kind} changed.`, ...(notes.length ? ['', ...notes] : [])].join('\n');
}

function dataRows(r: ReportData): string[][] {
  return [['Artifact', 'Change', 'Files added', 'removed', 'modified'], ...(r.data ?? []).map((a) => [a.path, a.change, String(a.added), String(a.removed), String(a.modified)])];
}

function markdown(r: ReportData): string {
  const out = [MARKER, `## mk report: ${mdShort(r.head)} against ${mdShort(r.base)}`, '', '### Metrics', '', diffMd(r.metrics), '', '### Params', '', diffMd(r.params), '', '### Data', ''];
  if (r.dataProblem) out.push(`Not compared: ${mdInline(r.dataProblem)}`);
  else if (!r.data?.length) out.push('No tracked data changed.');
  else out.push(mdTable(dataRows(r)));
  if (r.plots.length) {
    out.push('', '### Plots', '');
    for (const p of r.plots) {
      // An image's alt text is an attribute, never markup: every punctuation character escaped keeps it text.
      if (p.file) out.push(`![${mdEscapeAll(p.title)}](${encodeURI(p.file).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)})`);
      else out.push(`- ${mdInline(p.title)}: ${mdInline(p.revisions.join(' vs '))} (write the report with -o to get the SVG)`);
    }
  }
  out.push('', '### ModelKit', '');
  if (r.modelkit) out.push(mdInline(r.modelkit.reference), '', ...mdFence(r.modelkit.commands, 'sh'));
  else out.push('No mk remote: this commit has no published ModelKit reference.');
  return out.join('\n') + '\n';
}

const CSS = `body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1000px;color:#1f2328;background:#fff;padding:0 1rem}
h1{font-size:1.5rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.35rem .7rem;text-align:left;font-variant-numeric:tabular-nums}
th{background:#f6f8fa}tbody tr:nth-child(even){background:#fbfcfd}.note{color:#57606a}code,pre{background:#f6f8fa;border-radius:6px;padding:.2rem .4rem}pre{padding:.8rem}
figure{margin:1rem 0}figcaption{color:#57606a;font-size:.9rem}`;

function diffHtml(d: ExperimentDiff): string {
  const notes = fileNotes(d, d.a.label, d.b.label)
    .map((n) => `<p class="note">${htmlEscape(n)}</p>`)
    .join('\n');
  return (d.changes.length ? htmlTable([DIFF_HEADER, ...diffRows(d)]) : `<p>No ${d.kind} changed.</p>`) + notes;
}

function html(r: ReportData): string {
  const title = `mk report: ${short(r.head)} against ${short(r.base)}`;
  const parts = [`<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${htmlEscape(title)}</title><style>${CSS}</style></head><body>`, `<h1>${htmlEscape(title)}</h1>`];
  parts.push('<h2>Metrics</h2>', diffHtml(r.metrics), '<h2>Params</h2>', diffHtml(r.params), '<h2>Data</h2>');
  if (r.dataProblem) parts.push(`<p class="note">Not compared: ${htmlEscape(r.dataProblem)}</p>`);
  else if (!r.data?.length) parts.push('<p>No tracked data changed.</p>');
  else parts.push(htmlTable(dataRows(r)));
  if (r.plots.length) {
    parts.push('<h2>Plots</h2>');
    // The SVGs are Vega's output from our own spec (text escaped by Vega), inlined: one self-contained page.
    for (const p of r.plots) parts.push(`<figure>${p.svg.replace(/^<\?xml[^>]*>\s*/, '')}<figcaption>${htmlEscape(p.title)}: ${htmlEscape(p.revisions.join(' vs '))}</figcaption></figure>`);
  }
  parts.push('<h2>ModelKit</h2>');
  if (r.modelkit) parts.push(`<p><code>${htmlEscape(r.modelkit.reference)}</code></p><pre>${htmlEscape(r.modelkit.commands.join('\n'))}</pre>`);
  else parts.push('<p class="note">No mk remote: this commit has no published ModelKit reference.</p>');
  parts.push('</body></html>');
  return parts.join('\n') + '\n';
}

/**
 * A pull-request report (as CML's): params and metrics against the base, the tracked data that
 * changed, the plots, and the commit's ModelKit with the `kit pull` / `kit unpack` commands.
 * Markdown (for a PR comment; starts with a marker a CI job finds to update its comment) or
 * one self-contained HTML page. With `file`, written there (Markdown's plots as SVGs beside it).
 */
export async function report(opts: { cwd?: string; base?: string; format?: 'md' | 'html'; file?: string } = {}): Promise<ReportResult> {
  const ctx = RepoContext.open(opts.cwd);
  const format = opts.format ?? 'md';
  const data = await gather(ctx, opts.base ?? 'HEAD~1');
  let file: string | undefined;
  if (opts.file) {
    file = resolve(opts.cwd ?? process.cwd(), opts.file);
    if ([ctx.commonDir, ctx.gitDir].some((g) => relative(g, file!).split(/[\\/]/)[0] !== '..') || file.split(/[\\/]/).includes('.git'))
      throw new UsageError(`'${opts.file}' is inside .git; write the report somewhere else`);
    mkdirSync(dirname(file), { recursive: true });
    if (format === 'md' && data.plots.length) {
      const dir = `${file.replace(/\.[^./\\]*$/, '')}-plots`;
      mkdirSync(dir, { recursive: true });
      for (const p of data.plots) {
        const name = `${p.path.replace(/[^A-Za-z0-9._-]+/g, '_')}.svg`;
        await writeFileAtomic(join(dir, name), p.svg);
        p.file = `${basename(dir)}/${name}`;
      }
    }
  }
  const text = format === 'html' ? html(data) : markdown(data);
  if (file) await writeFileAtomic(file, text);
  return { ...data, format, text, ...(file ? { file } : {}) };
}
