#!/usr/bin/env node
// Loader only: everything lives in dist/ (compiled from src/).
if (process.argv[2] === 'filter-process' && process.argv.length === 3) {
  const { filterMain } = await import('../dist/cli/filter-entry.js');
  await filterMain();
} else if (process.argv[2] === 'hook' && process.argv[3] && !process.argv[3].startsWith('-')) {
  const { hookMain } = await import('../dist/cli/hook-entry.js');
  await hookMain(process.argv.slice(3));
} else {
  const { main } = await import('../dist/cli/main.js');
  await main(process.argv);
}
