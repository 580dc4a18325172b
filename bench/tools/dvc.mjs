// DVC: `dvc init`, `dvc add`, git add + commit of the .dvc file, `dvc push` to a local directory
// remote (+ `git push`), `git clone` + `dvc pull`, `git checkout` + `dvc checkout`.
// No `dvc install` hooks: its no-op commit is plain git, and `dvc status` is timed as its status.
import { join } from 'node:path';
import { sh } from '../lib/proc.mjs';

export function dvcTool(ctx) {
  const dvc = (...a) => [ctx.bins.dvc, ...a];
  return {
    id: 'dvc',
    label: 'DVC',

    // DVC keeps its hash cache ("state") and other per-repo data in a site cache dir keyed by
    // repo path; a fresh one per scenario keeps repetitions independent.
    env: (dir) => ({ DVC_SITE_CACHE_DIR: join(dir, 'dvc-site-cache'), DVC_NO_ANALYTICS: '1' }),

    async setup(S) {
      const o = { cwd: S.repo, env: S.env };
      S.remote = join(S.remoteBase, 'remote-dvc');
      sh(dvc('init', '-q'), o);
      sh(dvc('config', 'core.analytics', 'false'), o);
      sh(dvc('remote', 'add', '-d', 'store', S.remote), o);
      sh(['git', 'add', '-A', '.dvc', '.dvcignore'], o);
    },

    addCommit: (S, msg) => [{ argv: dvc('add', '-q', S.ds.path) }, { argv: ['git', 'add', '--', `${S.ds.path}.dvc`, '.gitignore'] }, { argv: ['git', 'commit', '-q', '-m', msg] }],
    status: () => [{ argv: dvc('status', '-q') }],
    noop: () => [{ argv: ['git', 'commit', '-q', '--allow-empty', '-m', 'no-op'] }],
    noopNote: () => 'no DVC hooks (`dvc install` not run): plain git',
    push: () => [{ argv: dvc('push', '-q') }, { argv: ['git', 'push', '-q', 'origin', 'main'] }],
    clone: (S) => [
      { argv: ['git', 'clone', '-q', `file://${S.bare}`, S.clone], cwd: S.dir },
      { argv: dvc('pull', '-q'), cwd: S.clone },
    ],
    // `dvc status -q` exits 1 when something changed (which is the case here).
    dirtyStatus: () => [{ argv: ['sh', '-c', '"$@"; test $? -le 1', 'dvc-status', ...dvc('status', '-q')] }],
    rename: (S, to) => [{ argv: dvc('move', '-q', S.ds.path, to) }, { argv: ['git', 'add', '-A'] }, { argv: ['git', 'commit', '-q', '-m', 'rename'] }],
    switchTo: (S, rev) => [{ argv: ['git', 'checkout', '-q', rev] }, { argv: dvc('checkout', '-q') }],
    storeDirs: (S) => [join(S.repo, '.dvc', 'cache')],
    remoteDirs: (S) => [S.remote, S.bare],
  };
}
