import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../api/common.js';
import { EXAMPLES, formatExamples } from './examples.js';
import { out } from './output.js';

/** The package's root: dist/cli/ (or src/cli/) is two levels below it. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The man pages `npm run build` renders from docs/commands/ (shipped in the package). */
export const MAN_DIR = join(ROOT, 'dist', 'man');
/** The command pages, shipped in the package too. */
export const PAGES_DIR = join(ROOT, 'docs', 'commands');

/** `--help` of every command ends with its examples (src/cli/examples.ts; its page shows the same). */
export function addExamples(program: Command): void {
  const walk = (c: Command, prefix: string) => {
    const examples = EXAMPLES[prefix.trim()];
    if (examples?.length) c.addHelpText('after', `\nExamples:\n${formatExamples(examples, '  ')}`);
    for (const s of c.commands) walk(s, `${prefix}${s.name()} `);
  };
  walk(program, '');
}

export function registerHelp(program: Command): void {
  program.helpCommand(false);
  program
    .command('help')
    .description("show the manual page of a command (through man when it is installed, else the page's text)")
    .argument('[command...]', 'a command, or a command and its subcommand (default: mk itself)')
    .action((names: string[]) => {
      let c: Command = program;
      for (const [i, n] of names.entries()) {
        const next = c.commands.find((s) => s.name() === n || s.aliases().includes(n));
        if (!next) throw new UsageError(`no such command: 'mk ${names.slice(0, i + 1).join(' ')}'`, "'mk --help' lists the commands");
        c = next;
      }
      const page = ['mk', ...pathOf(c)].join('-');
      const man = join(MAN_DIR, `${page}.1`);
      if (existsSync(man) && onPath('man')) {
        const r = spawnSync('man', ['-l', man], { stdio: 'inherit' });
        if (r.status === 0) return;
      }
      const text = join(PAGES_DIR, `${page}.md`);
      if (existsSync(text))
        return out.line(
          readFileSync(text, 'utf8')
            .replace(/<!--[^]*?-->\n?/g, '')
            .trimEnd(),
        );
      out.line(c.helpInformation().trimEnd());
    });
}

/** The names from mk down to a command (`['remote', 'add']`). */
function pathOf(c: Command): string[] {
  const names: string[] = [];
  for (let p: Command | null = c; p?.parent; p = p.parent) names.unshift(p.name());
  return names;
}

function onPath(exe: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, exe), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}
