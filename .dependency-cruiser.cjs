/**
 * mk's layers point one way (README, "Design"): a module may import only from its own layer
 * and the layers below it. `npm run lint:deps` (run by CI) fails on any import that points up
 * or sideways, on cycles, and on a CLI that reaches below src/api.
 */
const LAYERS = [
  ['errors'],
  ['util'],
  ['content', 'hashing'],
  ['pointer'],
  ['stores'],
  ['repo'],
  ['git'],
  ['remote'],
  ['transfer'],
  ['artifact'],
  ['experiments'],
  ['modelkit'],
  ['signing'],
  ['api'],
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
    comment: 'the CLI parses and renders; everything it does goes through src/api',
    severity: 'error',
    from: { path: '(^|/)src/cli/' },
    to: { path: '(^|/)src/(?!cli/|api/)' },
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
