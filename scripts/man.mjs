// Renders the command pages (docs/commands/*.md) to man pages in dist/man/ (run by
// `npm run build` after tsc; shipped in the package: package.json "man"), which
// `mk help <command>` and, once installed, `man mk-<command>` show. See src/cli/roff.ts.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { markdownToRoff } = await import(join(root, 'dist/cli/roff.js'));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const src = join(root, 'docs', 'commands');
const out = join(root, 'dist', 'man');
mkdirSync(out, { recursive: true });
let n = 0;
for (const f of readdirSync(src).sort()) {
  if (!/^mk(-[a-z-]+)?\.md$/.test(f)) continue;
  writeFileSync(join(out, f.replace(/\.md$/, '.1')), markdownToRoff(readFileSync(join(src, f), 'utf8'), version));
  n++;
}
if (!n) throw new Error('no command pages in docs/commands');
