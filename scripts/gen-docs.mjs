// `npm run docs`: writes the generated blocks (name, synopsis, arguments, options, examples) of
// every page in docs/commands/ from the command definitions, as tsc built them into dist/cli/.
// The hand-written rest of each page is kept; a command without a page gets a skeleton to fill
// in. See src/cli/docs-page.ts; test/unit/docs/ fails when a page is missing or out of date.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { buildProgram } = await import(join(root, 'dist/cli/main.js'));
const { commandPages, regenerate } = await import(join(root, 'dist/cli/docs-page.js'));
const dir = join(root, 'docs', 'commands');

const pages = commandPages(buildProgram());
let changed = 0;
for (const p of pages) {
  const file = join(dir, `${p.page}.md`);
  const before = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  const after = regenerate(p, before);
  if (after === before) continue;
  writeFileSync(file, after);
  changed++;
  console.log(`${before === undefined ? 'created' : 'updated'} docs/commands/${p.page}.md${before === undefined ? ' (write its description)' : ''}`);
}
const known = new Set(pages.map((p) => `${p.page}.md`));
for (const f of readdirSync(dir)) if (f.endsWith('.md') && !known.has(f)) console.log(`docs/commands/${f}: no such command any more (remove it, or rename it)`);
// package.json "man": the man page of every command, so npm installs them all (man mk-add).
const pkgFile = join(root, 'package.json');
const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
const man = pages.map((p) => `dist/man/${p.page}.1`).sort();
if (JSON.stringify(pkg.man) !== JSON.stringify(man)) {
  pkg.man = man;
  writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + '\n');
  console.log('updated the man pages in package.json');
}
console.log(`${pages.length} command pages, ${changed} written`);
