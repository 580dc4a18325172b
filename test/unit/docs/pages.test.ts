/**
 * The reference cannot drift from the commands: every command and subcommand has a page in
 * docs/commands/ whose generated parts (name, synopsis, arguments, options, examples) are
 * exactly what the commander definitions give `--help` (src/cli/docs-page.ts), with a
 * description written by hand; package.json ships each page's man page; the README indexes
 * every command; and no link of the README or docs/ points nowhere.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../../../src/cli/main.js';
import { BLOCKS, SKELETON, blockOf, commandPages, generatedBlock } from '../../../src/cli/docs-page.js';
import { markdownToRoff } from '../../../src/cli/roff.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PAGES = join(ROOT, 'docs', 'commands');
const pages = commandPages(buildProgram());
const read = (f: string) => readFileSync(f, 'utf8');
const FIX = "run 'npm run docs' (it rewrites the generated parts from src/cli and creates missing pages)";

describe('docs/commands: a page per command', () => {
  it.each(pages.map((p) => [p.page, p] as const))('%s: exists, generated parts current, description written', (_name, p) => {
    const file = join(PAGES, `${p.page}.md`);
    expect(existsSync(file), `${relative(ROOT, file)} is missing: ${FIX}`).toBe(true);
    const text = read(file);
    for (const b of BLOCKS) expect(blockOf(text, b), `${p.page}.md, generated:${b} differs from the command: ${FIX}`).toBe(generatedBlock(p, b));
    const description = /\n## Description\n([^]*?)\n(<!--|## )/.exec(text)?.[1]?.trim() ?? '';
    expect(description.length, `${p.page}.md has no description`).toBeGreaterThan(40);
    expect(text, `${p.page}.md: write its description`).not.toContain(SKELETON);
    expect(text).toMatch(/\n## Exit status\n/);
  });

  it('has no page for a command that does not exist', () => {
    const known = new Set(pages.map((p) => `${p.page}.md`));
    expect(readdirSync(PAGES).filter((f) => f.endsWith('.md') && !known.has(f))).toEqual([]);
  });

  it('every visible command has examples, which --help shows', () => {
    for (const p of pages) {
      if ((p.command as unknown as { _hidden?: boolean })._hidden) continue;
      const examples = /## Examples\n\n```sh\n([^]*?)\n```/.exec(generatedBlock(p, 'reference'))?.[1];
      expect(examples, `${p.page}: add examples in src/cli/examples.ts`).toBeTruthy();
      let help = '';
      p.command.configureOutput({ writeOut: (s) => (help += s) });
      p.command.outputHelp();
      for (const line of examples!.split('\n')) expect(help).toContain(line);
    }
  });

  it('package.json ships the man page of every page', () => {
    const pkg = JSON.parse(read(join(ROOT, 'package.json'))) as { man: string[]; files: string[] };
    expect([...pkg.man].sort()).toEqual(pages.map((p) => `dist/man/${p.page}.1`).sort());
    expect(pkg.files).toContain('dist');
  });

  it('every page renders to a man page', () => {
    for (const p of pages) {
      const roff = markdownToRoff(read(join(PAGES, `${p.page}.md`)), '0');
      expect(roff.startsWith(`.TH "${p.page.toUpperCase()}" "1"`), p.page).toBe(true);
      expect(roff).toContain('.SH "SYNOPSIS"');
      expect(roff).toContain('.SH "DESCRIPTION"');
      expect(roff, `${p.page}: markup left over`).not.toMatch(/<!--|\]\(|^#/m);
    }
  });
});

describe('the README indexes every command', () => {
  it('links each visible command of mk to its page', () => {
    const readme = read(join(ROOT, 'README.md'));
    const index = /\n## Commands\n([^]*?)\n## /.exec(readme)![1]!;
    const linked = new Set([...index.matchAll(/\]\(docs\/commands\/(mk[a-z-]*)\.md\)/g)].map((m) => m[1]));
    // A command group (mk remote) is indexed by its own page or by its subcommands' pages.
    const top = buildProgram().commands.map((c) => `mk-${c.name()}`);
    expect(top.filter((p) => !linked.has(p) && ![...linked].some((l) => l!.startsWith(`${p}-`)))).toEqual([]);
  });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

function markdownFiles(): string[] {
  const out = [join(ROOT, 'README.md')];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.md')) out.push(join(d, e.name));
    }
  };
  walk(join(ROOT, 'docs'));
  return out;
}

describe('links in the README and docs/', () => {
  it('every relative link names a file (and a heading) that exists', () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      const text = read(file).replace(/```[^]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue; // http(s):, mailto:
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const to = path ? resolve(dirname(file), path) : file;
        if (!existsSync(to)) {
          broken.push(`${relative(ROOT, file)}: ${target}`);
          continue;
        }
        if (anchor && statSync(to).isFile() && to.endsWith('.md')) {
          const headings = [...read(to).matchAll(/^#{1,6} (.*)$/gm)].map((h) => slug(h[1]!));
          if (!headings.includes(anchor)) broken.push(`${relative(ROOT, file)}: ${target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
