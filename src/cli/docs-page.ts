/**
 * The generated parts of the command pages in docs/commands/ (`npm run docs`, through
 * scripts/gen-docs.mjs): a page per command and subcommand, whose name, synopsis, arguments,
 * options and examples come from the commander definitions, so `--help` and the page cannot
 * drift (test/unit/docs/ checks it). The rest of each page is written by hand and kept
 * across regeneration: the generated parts sit between markers.
 */
import type { Command, Help } from 'commander';
import { EXAMPLES, formatExamples } from './examples.js';

/** The two generated blocks of a page: `head` (name and synopsis), `reference` (arguments, options, subcommands, examples). */
export type BlockName = 'head' | 'reference';
export const BLOCKS: readonly BlockName[] = ['head', 'reference'];

export const begin = (b: BlockName): string => `<!-- generated:${b} by 'npm run docs' from src/cli (edit there, not here) -->`;
export const end = (b: BlockName): string => `<!-- end generated:${b} -->`;

/** A command with its full name (`remote add`; '' for mk itself) and its page's name (`mk-remote-add`). */
export interface CommandPage {
  name: string;
  page: string;
  command: Command;
}

/** Every command and subcommand, hidden ones included, mk itself first. */
export function commandPages(program: Command): CommandPage[] {
  const pages: CommandPage[] = [{ name: '', page: 'mk', command: program }];
  const walk = (c: Command, prefix: string) => {
    for (const s of c.commands) {
      const name = `${prefix}${s.name()}`;
      pages.push({ name, page: `mk-${name.replace(/ /g, '-')}`, command: s });
      walk(s, `${name} `);
    }
  };
  walk(program, '');
  return pages;
}

const code = (s: string) => (s.includes('`') ? `\`\` ${s} \`\`` : `\`${s}\``);

/** What a generated block holds, as Markdown (no markers). */
export function generatedBlock(p: CommandPage, block: BlockName): string {
  const c = p.command;
  const help: Help = c.createHelp();
  const full = p.name ? `mk ${p.name}` : 'mk';
  if (block === 'head') {
    const lines = [`# ${p.page}(1) -- ${text(c.description())}`, '', '## Synopsis', '', '```', `${full} ${c.usage()}`.trimEnd()];
    for (const a of c.aliases()) lines.push(`mk ${[...p.name.split(' ').slice(0, -1), a].join(' ')} ${c.usage()}`.trimEnd());
    lines.push('```');
    return lines.join('\n');
  }
  const out: string[] = [];
  const args = c.registeredArguments;
  if (args.length) {
    out.push('## Arguments', '');
    for (const a of args) {
      const term = `${a.name()}${a.variadic ? '...' : ''}`;
      out.push(`- ${code(a.required ? `<${term}>` : `[${term}]`)}${a.description ? `: ${text(help.argumentDescription(a))}` : ''}`);
    }
    out.push('');
  }
  const options = help.visibleOptions(c).filter((o) => o.long !== '--help');
  if (options.length) {
    out.push('## Options', '');
    for (const o of options) out.push(`- ${code(help.optionTerm(o))}: ${text(help.optionDescription(o))}${o.mandatory ? ' (required)' : ''}`);
    out.push('');
  }
  const subs = c.commands;
  if (subs.length) {
    out.push('## Commands', '');
    for (const s of subs) out.push(`- [${full} ${s.name()}](${p.page}-${s.name()}.md): ${text(s.description())}`);
    out.push('');
  }
  const examples = EXAMPLES[p.name];
  if (examples?.length) out.push('## Examples', '', '```sh', formatExamples(examples), '```', '');
  return out.join('\n').trimEnd();
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
/** Help text as Markdown text: one line, with the characters Markdown would read as markup escaped (`<path>` would be an HTML tag). */
const text = (s: string) => oneLine(s).replace(/[\\`*_<>[\]]/g, (c) => `\\${c}`);

/** The Markdown between a block's markers in a page, or undefined when the page lacks them. */
export function blockOf(page: string, block: BlockName): string | undefined {
  const b = page.indexOf(begin(block));
  const e = page.indexOf(end(block));
  if (b < 0 || e < b) return undefined;
  return page.slice(b + begin(block).length, e).trim();
}

/** The page with each generated block replaced by what the command says now; a page without markers gets a skeleton. */
export function regenerate(p: CommandPage, existing: string | undefined): string {
  const wrap = (b: BlockName) => `${begin(b)}\n${generatedBlock(p, b)}\n${end(b)}`;
  if (existing === undefined || BLOCKS.some((b) => blockOf(existing, b) === undefined)) {
    return [
      wrap('head'),
      '',
      '## Description',
      '',
      SKELETON,
      '',
      wrap('reference'),
      '',
      '## Exit status',
      '',
      '0 on success; 1 when mk refuses or fails, with one line saying why; 2 for bad usage.',
      '',
    ].join('\n');
  }
  let page = existing;
  for (const b of BLOCKS) {
    const from = page.indexOf(begin(b));
    const to = page.indexOf(end(b)) + end(b).length;
    page = page.slice(0, from) + wrap(b) + page.slice(to);
  }
  return page;
}

/** What a new page's description says until someone writes it (test/unit/docs/ fails on it). */
export const SKELETON = 'TODO: what this command does, for a user (written by hand; npm run docs keeps it).';
