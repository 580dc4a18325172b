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

/** Text that is plain in Markdown everywhere: no character that starts a link, an image, HTML, emphasis, code, a mention, an emoji or a table cell. */
const PLAIN = /^[A-Za-z0-9 .,%+\-/_]*$/;

/**
 * A value from the repository (a metric or param name or value, a path, a branch, a title) as
 * inert Markdown: plain when it is plain words and numbers, else an inline code span, the one
 * construct in which GitHub and GitLab make no link, image, HTML, emphasis, mention (`@name`),
 * issue or commit reference (`#12`, a hash) or autolink (`www.`, `https://`) of what it holds.
 * `inTable`: pipes escaped as a GFM table cell needs (also inside code spans).
 */
export function mdInline(s: string, inTable = false): string {
  const one = s.replace(/[\r\n]+/g, ' ');
  // An underscore is plain only inside a word (`val_loss`): at a word's edge it may start emphasis.
  if (PLAIN.test(one) && !/(^|[^A-Za-z0-9])_|_($|[^A-Za-z0-9])/.test(one) && !/www\./i.test(one) && !/[0-9a-f]{7,}/i.test(one)) return one;
  const run = (one.match(/`+/g) ?? []).reduce((m, r) => Math.max(m, r.length), 0);
  const fence = '`'.repeat(run + 1);
  // A code span's content that starts or ends with a backtick or a space is padded with one space (CommonMark strips it).
  const pad = /^[`\s]|[`\s]$/.test(one) ? ' ' : '';
  // GFM splits a row at a pipe after an even number of backslashes (code spans too): each pipe gets an odd number.
  const body = inTable ? one.replace(/(\\*)\|/g, (_m, bs: string) => `${bs}${bs.length % 2 ? '\\\\' : '\\'}|`) : one;
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** Text inside an image's alt text or a link's text: every ASCII punctuation character escaped (it stays text). */
export function mdEscapeAll(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/[!-/:-@[-`{-~]/g, (c) => `\\${c}`);
}

/** A GFM table whose every cell is inert text (see mdInline). */
export function mdTable(rows: string[][]): string {
  if (rows.length === 0) return '';
  const [head, ...body] = rows;
  const line = (r: string[]) => `| ${r.map((c) => mdInline(c, true)).join(' | ')} |`;
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
