import type { ValueChange, ValuesDiff } from './diff.js';
import type { Scalar } from './values.js';

/** A value as shown in a table: numbers as written, text as is, `-` for none. */
export function showValue(v: Scalar | undefined): string {
  if (v === undefined) return '-';
  if (v === null) return 'null';
  // One line per value: a line break or tab in a text value would break the table.
  return String(v).replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
}

function signed(n: number, suffix = ''): string {
  return `${n > 0 ? '+' : ''}${n}${suffix}`;
}

export function showChange(c: ValueChange): string {
  if (c.change === undefined) return c.status === 'added' ? 'added' : c.status === 'removed' ? 'removed' : c.status === 'unchanged' ? '-' : 'changed';
  return signed(c.change);
}

export function showPercent(c: ValueChange): string {
  if (c.changePercent === undefined) return '-';
  return signed(Number(c.changePercent.toFixed(2)), '%');
}

export const DIFF_HEADER = ['Path', 'Key', 'Old', 'New', 'Change', 'Change %'];

export function diffRows(d: ValuesDiff): string[][] {
  return d.changes.map((c) => [c.path, c.key, showValue(c.old), showValue(c.new), showChange(c), showPercent(c)]);
}

/** Text for Markdown table cells: pipes and line breaks escaped, HTML-looking text made inert. */
export function mdCell(s: string): string {
  return s
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

export function mdTable(rows: string[][]): string {
  if (rows.length === 0) return '';
  const [head, ...body] = rows;
  const line = (r: string[]) => `| ${r.map(mdCell).join(' | ')} |`;
  return [line(head!), `|${head!.map(() => '---').join('|')}|`, ...body.map(line)].join('\n');
}

export function textTable(rows: string[][]): string {
  if (rows.length === 0) return '';
  const w = rows[0]!.map((_, i) => rows.reduce((m, r) => Math.max(m, (r[i] ?? '').length), 0));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ')).join('\n');
}

export function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export function htmlTable(rows: string[][]): string {
  if (rows.length === 0) return '';
  const [head, ...body] = rows;
  return `<table>\n<thead><tr>${head!.map((c) => `<th>${htmlEscape(c)}</th>`).join('')}</tr></thead>\n<tbody>\n${body.map((r) => `<tr>${r.map((c) => `<td>${htmlEscape(c)}</td>`).join('')}</tr>`).join('\n')}\n</tbody>\n</table>`;
}

/** Notes on files missing or unreadable at one side, one line each. */
export function fileNotes(d: ValuesDiff, aLabel: string, bLabel: string): string[] {
  return d.files.map((f) => {
    const side = (s: string, label: string) => (s === 'missing' ? `missing at ${label}` : s === 'invalid' ? `unreadable at ${label}` : '');
    const parts = [side(f.old, aLabel), side(f.new, bLabel)].filter(Boolean);
    return `${f.path}: ${parts.join(', ')}${f.problem ? ` (${f.problem})` : ''}`;
  });
}
