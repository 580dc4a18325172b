// Git LFS: `git lfs track`, `git add` + `git commit` (the clean filter hashes and stores),
// `git push` to a file:// bare remote (git-lfs >= 3.3 stores objects in remote.git/lfs via
// its lfs-standalone-file adapter), `git clone` (the smudge filter restores).
import { join } from 'node:path';
import { sh } from '../lib/proc.mjs';

export function lfsTool() {
  return {
    id: 'lfs',
    label: 'Git LFS',

    async setup(S) {
      const o = { cwd: S.repo, env: S.env };
      sh(['git', 'lfs', 'install', '--local'], o);
      sh(['git', 'lfs', 'track', S.ds.lfsPattern], o);
      sh(['git', 'add', '.gitattributes'], o);
    },

    addCommit: (S, msg) => [{ argv: ['git', 'add', '-A'] }, { argv: ['git', 'commit', '-q', '-m', msg] }],
    status: () => [{ argv: ['git', 'status', '--porcelain'] }],
    noop: () => [{ argv: ['git', 'commit', '-q', '--allow-empty', '-m', 'no-op'] }],
    noopNote: () => 'with the hooks `git lfs install` puts in place (post-commit)',
    push: () => [{ argv: ['git', 'push', '-q', 'origin', 'main'] }],
    clone: (S) => [{ argv: ['git', 'clone', '-q', `file://${S.bare}`, S.clone], cwd: S.dir }],
    dirtyStatus: () => [{ argv: ['git', 'status', '--porcelain'] }],
    rename: (S, to) => [{ argv: ['git', 'mv', S.ds.path, to] }, { argv: ['git', 'commit', '-q', '-m', 'rename'] }],
    switchTo: (S, rev) => [{ argv: ['git', 'checkout', '-q', rev] }],
    storeDirs: (S) => [join(S.repo, '.git', 'lfs', 'objects')],
    remoteDirs: (S) => [S.bare],
  };
}
