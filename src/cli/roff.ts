import { MkError } from '../api/common.js';
/**
 * Renders a command page of docs/commands/ (the Markdown `npm run docs` and people write:
 * headings, paragraphs, lists, tables, fenced code, inline code, emphasis, links) to a man
 * page (roff, man macros), for `mk help` and `man mk-<command>`. `npm run build` runs it
 * through scripts/man.mjs into dist/man/. Not a general Markdown renderer: what the pages do
 * not use is passed through as text.
 */

/** The man page of a Markdown page whose first heading is `# name(1) -- what it does`. */
export function markdownToRoff(markdown: string, version: string): string {
  const lines = markdown.replace(/<!--[^]*?-->/g, '').split('\n');
  const out: string[] = [];
  let i = 0;
  const title = /^# ([\w.-]+)\((\d)\) -- (.*)$/.exec(lines.find((l) => l.startsWith('# ')) ?? '');
  // mk's own pages: a page without its title line is a bug in mk.
  if (!title) throw new MkError('EINTERNAL', 'a command page starts with "# name(1) -- what it does"');
  const [, name, section, what] = title as unknown as [string, string, string, string];
  out.push(`.TH "${name.toUpperCase()}" "${section}" "" "mk ${version}" "mk manual"`, '.SH "NAME"', `${escape(name)} \\- ${inline(what)}`);
  const isBlockStart = (l: string) => /^(#{1,3} |```|\||- |\s*$)/.test(l);
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.startsWith('# ') || line.trim() === '') {
      i++;
    } else if (line.startsWith('## ')) {
      out.push(`.SH "${inline(line.slice(3)).toUpperCase()}"`);
      i++;
    } else if (line.startsWith('### ')) {
      out.push(`.SS "${inline(line.slice(4))}"`);
      i++;
    } else if (line.startsWith('```')) {
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) code.push(lines[i]!);
      i++;
      out.push('.PP', '.RS 4', '.nf', ...code.map((l) => guardLine(escape(l))), '.fi', '.RE');
    } else if (line.startsWith('|')) {
      const rows: string[][] = [];
      for (; i < lines.length && lines[i]!.startsWith('|'); i++) rows.push(cells(lines[i]!));
      // The header row and the |---| row say nothing a man page needs.
      for (const row of rows.slice(2)) out.push('.TP', guardLine(`\\fB${inline(row[0] ?? '')}\\fR`), guardLine(row.slice(1).map(inline).join(' \\(em ')));
    } else if (line.startsWith('- ')) {
      for (; i < lines.length && lines[i]!.startsWith('- ');) {
        const item = [lines[i]!.slice(2)];
        for (i++; i < lines.length && /^ {2}\S/.test(lines[i]!); i++) item.push(lines[i]!.trim());
        const text = item.join(' ');
        const term = /^`([^`]+)`(?:: (.*))?$/.exec(text);
        if (term) out.push('.TP', guardLine(`\\fB${code(term[1]!)}\\fR`), guardLine(inline(term[2] ?? '')));
        else out.push('.IP \\(bu 2', guardLine(inline(text)));
      }
    } else {
      const para: string[] = [];
      for (; i < lines.length && !isBlockStart(lines[i]!); i++) para.push(lines[i]!);
      out.push('.PP', ...para.map((l) => guardLine(inline(l))));
    }
  }
  return out.join('\n') + '\n';
}

function cells(row: string): string[] {
  // Split on | that is not escaped (\|) nor inside a code span.
  const out: string[] = [];
  let cur = '';
  let inCode = false;
  const body = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\' && body[i + 1] === '|') {
      cur += '|';
      i++;
    } else if (c === '`') {
      inCode = !inCode;
      cur += c;
    } else if (c === '|' && !inCode) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

/** Roff's escape character, and nothing else: text stays text. */
const escape = (s: string) => s.replace(/\\/g, '\\e');
/** Inside code: hyphens are real minus signs (options copied from a man page must work). */
const code = (s: string) => escape(s).replace(/-/g, '\\-');
/** A line that starts with a dot or an apostrophe would be read as a request. */
const guardLine = (s: string) => (/^[.']/.test(s) ? `\\&${s}` : s);

/** Inline Markdown: code spans, escapes, bold, emphasis, links (their text only). */
function inline(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '`') {
      const ticks = /^`+/.exec(s.slice(i))![0];
      const close = s.indexOf(ticks, i + ticks.length);
      if (close > 0) {
        out += `\\fB${code(s.slice(i + ticks.length, close).trim())}\\fR`;
        i = close + ticks.length;
        continue;
      }
    }
    if (c === '\\' && i + 1 < s.length && /[\\`*_<>[\]|#()!-]/.test(s[i + 1]!)) {
      out += escape(s[i + 1]!);
      i += 2;
      continue;
    }
    if (s.startsWith('**', i)) {
      const close = s.indexOf('**', i + 2);
      if (close > 0) {
        out += `\\fB${inline(s.slice(i + 2, close))}\\fR`;
        i = close + 2;
        continue;
      }
    }
    if (c === '*' && s[i + 1] !== ' ') {
      const close = s.indexOf('*', i + 1);
      if (close > i + 1) {
        out += `\\fI${inline(s.slice(i + 1, close))}\\fR`;
        i = close + 1;
        continue;
      }
    }
    if (c === '[') {
      const link = /^\[([^\]]*)\]\(([^)\s]*)\)/.exec(s.slice(i));
      if (link) {
        out += inline(link[1]!);
        i += link[0].length;
        continue;
      }
    }
    out += escape(c);
    i++;
  }
  return out;
}
