import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shell examples of the README and docs/guides/: every ```bash (or sh, shell) block says
 * whether it runs as written, by the word after the language: `runnable` (the e2e test runs
 * it) or `no-run (why)`. test/unit/docs/examples.test.ts checks every block says one;
 * test/e2e/docs/examples.test.ts runs the runnable ones.
 */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ShellBlock {
  /** Path from the project root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  mark: 'runnable' | 'no-run' | undefined;
  code: string;
}

/** The README, then the guides in name order. */
export function docFiles(): string[] {
  const guides = join(ROOT, 'docs', 'guides');
  return [
    'README.md',
    ...readdirSync(guides)
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => relative(ROOT, join(guides, f))),
  ];
}

export function shellBlocks(file: string): ShellBlock[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(\S*)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, fence, lang, rest] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j]!.startsWith(fence); j++) body.push(lines[j]!);
    if (['bash', 'sh', 'shell'].includes(lang)) {
      const word = rest.trim().split(/\s+/)[0];
      out.push({ file, line: i + 1, mark: word === 'runnable' || word === 'no-run' ? word : undefined, code: body.join('\n') });
    }
    i = j;
  }
  return out;
}
