#!/usr/bin/env node
// Loader only: everything lives in dist/bundle/ (src/ compiled by `npm run build`: tsc, then
// scripts/bundle.mjs). Hooks and the Git filter take the short way, without the command-line parser.
// On Node 22 and later, the module compile cache keeps the compiled bundle on disk (in the
// system's temporary folder, or NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1 turns it
// off): every hook Git starts skips compiling it again. Node 20 has no such cache.
import module from 'node:module';
module.enableCompileCache?.();
if (process.argv[2] === 'filter-process' && process.argv.length === 3) {
  const { filterMain } = await import('../dist/bundle/filter/filter.js');
  await filterMain();
} else if (process.argv[2] === 'hook' && process.argv[3] && !process.argv[3].startsWith('-')) {
  const { hookMain } = await import('../dist/bundle/hook/hook.js');
  await hookMain(process.argv.slice(3));
} else {
  const { main } = await import('../dist/bundle/main.js');
  await main(process.argv);
}
