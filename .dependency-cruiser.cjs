/**
 * mk's layers point one way (README, "Design"): a module may import only from its own layer
 * and the layers below it. `npm run lint:deps` (run by CI) fails on any import that points up
 * or sideways, on cycles, and on a CLI that reaches below src/api.
 */
const LAYERS = [
  ['errors'],
  ['util'],
  ['content', 'hashing'],
  ['formats'],
  ['stores'],
  ['repo'],
  ['git'],
  ['remote'],
  ['transfer'],
  ['worktree'],
  ['experiments'],
  ['modelkit'],
  ['pipeline'],
  ['signing'],
  ['notify'],
  ['api'],
  // Git's entry points (hooks, the filter process, the merge driver). They still call some verbs
  // (restore after checkout, push in pre-push): the work-tree engine (issue 23) takes those calls
  // below both, after which integration and api sit side by side and never import each other.
  ['integration'],
  ['cli'],
];

const rank = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i])));
const forbidden = [];
for (const [name, r] of rank) {
  const above = [...rank].filter(([n, q]) => n !== name && q >= r).map(([n]) => n);
  if (!above.length) continue;
  forbidden.push({
    name: `${name}-points-up`,
    comment: `src/${name} (layer ${r}) may import only from lower layers: not from ${above.join(', ')}`,
    severity: 'error',
    from: { path: `(^|/)src/${name}/` },
    to: { path: `(^|/)src/(${above.join('|')})/` },
  });
}
forbidden.push(
  {
    name: 'cli-only-calls-the-library',
    comment: 'the CLI parses and renders; everything it does goes through src/api (or, for what Git starts, src/integration)',
    severity: 'error',
    from: { path: '(^|/)src/cli/' },
    to: { path: '(^|/)src/(?!cli/|api/|integration/)' },
  },
  {
    name: 'no-cycles',
    comment: 'modules do not import each other in a circle',
    severity: 'error',
    from: { path: '(^|/)src/' },
    to: { circular: true },
  },
);

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
  },
};
