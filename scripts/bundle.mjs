// Bundles the CLI (src/cli/main.ts, src/cli/hook-entry.ts, src/cli/filter-entry.ts) into dist/bundle/ for bin/mk.js:
// Git hooks start mk on every commit and checkout, and loading ~50 modules one by one (each
// resolved, read and compiled, CommonJS dependencies lexed for their exports) cost more than
// the hook's own work. ESM with code splitting: what src loads lazily (`await import(...)`)
// stays in chunks loaded on demand. `tsc` still typechecks and emits dist/ (the library
// entry point, `main` in package.json, and the source the tests import is src/ itself).
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');

/**
 * `import.meta.url` keeps meaning "this module's file in dist/" (src/x/y.ts -> dist/x/y.js):
 * code that finds the project's hooks/ and templates/ or the pack worker relative to itself
 * works the same bundled or not.
 */
const moduleUrl = (outdir) => ({
  name: 'module-url',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const compiled = join(root, 'dist', relative(join(root, 'src'), args.path)).replace(/\.ts$/, '.js');
      const rel = relative(outdir, compiled).split('\\').join('/');
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'ts' };
    });
  },
});

const common = {
  absWorkingDir: root,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  legalComments: 'none',
  chunkNames: 'chunk-[hash]',
  // tinypool starts its workers from its own files; yaml is also loaded with require() (to
  // parse the config synchronously) and must be the same instance; undici is only on the
  // network path and loads its own parts at run time. vega and vega-lite (mk plots diff, mk
  // report only) are 1.4 MB bundled: loaded from node_modules, where npm puts them anyway; so
  // is @sigstore/* (signing only; 1 MB with its HTTP stack, twice: in main's and the hooks'
  // chunks); @resvg/resvg-js (mk plots diff --png only) is a native addon and an optional peer.
  external: ['tinypool', 'yaml', 'undici', 'vega', 'vega-lite', '@resvg/resvg-js', '@sigstore/sign', '@sigstore/bundle', '@sigstore/core'],
  // Bundled CommonJS dependencies require() Node's built-in modules.
  banner: { js: "import{createRequire as __mkRequire}from'node:module';const require=__mkRequire(import.meta.url);" },
  logLevel: 'warning',
};
// Two builds: the hooks' chunks are cut along the hooks' own lazy imports only, not along
// what they share with the command-line parser's (16 files for the post-checkout hook
// instead of 26).
await build({ ...common, entryPoints: { main: 'src/cli/main.ts' }, outdir, plugins: [moduleUrl(outdir)] });
await build({ ...common, entryPoints: { hook: 'src/cli/hook-entry.ts' }, outdir: join(outdir, 'hook'), plugins: [moduleUrl(join(outdir, 'hook'))] });
// The Git filter process (git starts it once per command that touches filtered files).
await build({ ...common, entryPoints: { filter: 'src/cli/filter-entry.ts' }, outdir: join(outdir, 'filter'), plugins: [moduleUrl(join(outdir, 'filter'))] });
