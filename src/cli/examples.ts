/**
 * The examples of each command, by its full name: one source for `--help` (main.ts adds them
 * after the options) and for the command's page in docs/commands/ (`npm run docs` writes
 * them into its generated block). Each is a command line and what it does.
 */
export type Example = readonly [command: string, what: string];

export const EXAMPLES: Readonly<Record<string, readonly Example[]>> = {
  '': [
    ['mk init && mk install', 'set up mk in a Git repository: config, Kitfile, hooks and filter'],
    ['mk -C ../other status', 'run a command as if started in ../other (as git -C)'],
    ['mk help add', 'the manual page of mk add'],
  ],
  init: [
    ['mk init', 'create .mk/config.yaml, a Kitfile and the .gitattributes block, all staged'],
    ['mk init --no-filter', 'single files get pointer files beside them, as folders do'],
  ],
  add: [
    ['mk add data/images', 'track a folder: one pointer (data/images.mk.yaml) for all its files'],
    ['mk add models/best.bin --kind model', 'track one file through the Git filter, as a model'],
    ['mk add data/raw -d "raw scans, 2026-11"', 'with a description kept in the pointer'],
  ],
  rm: [
    ['mk rm data/old', 'stop tracking data/old; its files stay in the work tree'],
    ['mk rm data/old --data', 'and delete them, if their bytes are saved in the cache'],
  ],
  mv: [
    ['mk mv data/imgs data/images', 'rename a tracked folder: data, pointer, .gitignore line, Kitfile entry'],
    ['mk mv models/m.onnx models/archive/', 'move a tracked file into a folder'],
  ],
  status: [
    ['mk status', 'each tracked artifact and its state'],
    ['mk status -v data/images', 'one artifact, with the files changed inside it'],
    ['mk status --remote', 'what the default remote lacks'],
  ],
  checkout: [
    ['mk checkout', 'place the data the pointers of the work tree record'],
    ['mk checkout v1.0 -- models', "restore v1.0's models (pointers too, staged)"],
    ['mk checkout --theirs -- data/imgs/a.png', "in a folder merge conflict: take their side's file"],
  ],
  diff: [
    ['mk diff', 'files changed in tracked data between HEAD and the work tree'],
    ['mk diff v1 v2 --stat', 'one line per artifact between two revisions'],
    ['mk diff HEAD~1 -- data/images', 'limited to one folder'],
  ],
  ls: [
    ['mk ls', 'tracked artifacts in the work tree'],
    ['mk ls v1.0 --json', 'those of v1.0, for a script'],
  ],
  gc: [
    ['mk gc --dry-run', 'what would be freed'],
    ['mk gc --verify-remote -y', 'ask the remotes before freeing what they are believed to hold; no question'],
  ],
  remote: [
    ['mk remote add origin oci://registry.example.com/team/proj', 'a registry'],
    ['mk remote list', 'the remotes, the default marked'],
  ],
  'remote add': [
    ['mk remote add origin oci://registry.example.com/team/proj', 'a registry repository (the first remote is the default)'],
    ['mk remote add nas /mnt/team/mk-store --create', 'a local OCI layout on a shared disk, created now'],
    ['mk remote add mine ../store --local', 'only in this clone (.git/mk/config.yaml)'],
  ],
  'remote list': [['mk remote list --json', 'the remotes, for a script']],
  'remote remove': [['mk remote remove nas', "forget the remote 'nas' (its data stays there)"]],
  'remote default': [['mk remote default nas', "make 'nas' the default remote"]],
  push: [
    ['mk push', 'upload what the default remote lacks for HEAD and publish its ModelKit'],
    ['mk push v1.0 -r backup', "v1.0's data and ModelKit, to the remote 'backup'"],
    ['mk push --no-modelkit -- data/images', 'one folder, no ModelKit'],
  ],
  fetch: [
    ['mk fetch', 'download what the cache lacks for HEAD and the work tree'],
    ['mk fetch main v1.0', 'for two revisions'],
  ],
  pull: [
    ['mk pull', 'fetch, then place the data of the work tree'],
    ['mk pull -- data/imgs/val/cat', 'restore one part of a tracked folder alone'],
  ],
  get: [
    ['mk get v1.0 models/best.onnx -o /tmp/best.onnx', 'one file of a revision, outside the work tree'],
    ['mk get data/imgs/val/cat.png', 'one file inside a tracked folder, read by its byte range'],
    ['mk get registry.example.com/team/proj:main models', 'from a ModelKit, without Git'],
  ],
  modelkit: [
    ['mk modelkit build', "build HEAD's ModelKit into the cache"],
    ['mk modelkit list origin', 'the ModelKits on a remote, newest first'],
  ],
  'modelkit build': [
    ['mk modelkit build', "build HEAD's ModelKit into the cache: reference and digest"],
    ['mk modelkit build v1.0 --json', "v1.0's, with its config and layers"],
  ],
  'modelkit inspect': [
    ['mk modelkit inspect origin:main', 'the ModelKit a remote tag names'],
    ['mk modelkit inspect oci:../store:main --json', 'from a layout on disk, manifest and config as JSON'],
  ],
  'modelkit list': [
    ['mk modelkit list', 'the ModelKits on the default remote'],
    ['mk modelkit list registry.example.com/team/proj', 'of a registry repository, outside any clone'],
  ],
  'modelkit unpack': [
    ['mk modelkit unpack origin:main -d out', 'every file of the ModelKit into out/'],
    ['mk modelkit unpack registry.example.com/team/proj:v1 --filter model -d m', 'the model only'],
    ['mk modelkit unpack origin:v1 -d m --signature m.sig', 'with its OpenSSF model signature'],
  ],
  'modelkit copy': [
    ['mk modelkit copy origin:main mirror:main', 'to another remote, referrers (file lists, signatures) included'],
    ['mk modelkit copy v1.0 oci:/backup/store', "a revision's ModelKit into a layout on disk"],
  ],
  verify: [
    ['mk verify HEAD', "rebuild HEAD's ModelKit and compare it with the default remote's"],
    ['mk verify registry.example.com/team/proj:v1 --key team.pub', 'check its signatures with a public key'],
  ],
  install: [
    ['mk install', 'the hooks and the filter, in this clone'],
    ['mk install --global', "once per user: the filter in ~/.gitconfig (as 'git lfs install')"],
  ],
  uninstall: [
    ['mk uninstall', 'remove the hooks (restoring the ones before) and the filter from this clone'],
    ['mk uninstall --global', 'remove the filter from ~/.gitconfig'],
  ],
  hook: [
    ['mk hook pre-commit', "run mk's pre-commit hook (e.g. from .husky/pre-commit)"],
    ['mk hook pre-push "$@"', "from a pre-push script: git's arguments passed on"],
  ],
  migrate: [
    ['mk migrate --dry-run', 'list the file artifacts that would move to the Git filter'],
    ['mk migrate', 'convert them, all staged'],
    ['mk migrate --from-dvc', "take DVC's outputs over (bytes from .dvc/cache), all staged"],
    ['mk migrate --from-lfs', "send Git LFS files through mk's filter from the next commit"],
    ['mk migrate --from-lfs --history main', 'rewrite every commit of main, the old refs kept'],
  ],
  'filter-process': [['git config filter.mk.process "mk filter-process"', 'what mk install sets up (with absolute paths)']],
  'merge-driver': [['git config merge.mk.driver "mk merge-driver %O %A %B %P"', 'what mk install sets up (with absolute paths)']],
  clone: [
    ['mk clone https://git.example.com/team/proj.git', 'clone, install the hooks, restore the data'],
    ['mk clone --depth 1 -b main file:///srv/git/proj.git proj', 'a shallow clone of one branch'],
  ],
  login: [
    ['mk login registry.example.com -u alice --password-stdin < token.txt', 'check the credentials and store them'],
    ['echo "$TOKEN" | mk login registry.example.com -u ci --password-stdin', 'in CI'],
  ],
  logout: [['mk logout registry.example.com', 'erase the stored credentials']],
  params: [['mk params diff main exp-a', 'parameters that differ between two revisions']],
  'params diff': [
    ['mk params diff', 'HEAD against the work tree'],
    ['mk params diff main exp-a --md', 'two revisions, as a Markdown table'],
  ],
  metrics: [['mk metrics diff', 'metrics that changed since HEAD, with the change']],
  'metrics show': [
    ['mk metrics show', 'the metrics of the work tree'],
    ['mk metrics show main exp-a workspace', 'a column per revision'],
  ],
  'metrics diff': [
    ['mk metrics diff', 'HEAD against the work tree, as dvc metrics diff'],
    ['mk metrics diff HEAD~1 HEAD --all --json', 'unchanged metrics too, for a script'],
  ],
  exp: [
    ['mk exp show -A --sort-by accuracy', 'every branch tip too, best first'],
    ['mk exp run -S train.lr=0.2', 'run the pipeline with another param, in a temporary worktree'],
  ],
  'exp show': [
    ['mk exp show', "a row per commit of HEAD's history: params, metrics, model, ModelKit"],
    ['mk exp show --all-branches --sort-by accuracy', 'branch tips too, best first'],
    ['mk exp show --remote registry.example.com/team/proj', 'from the published ModelKits alone'],
  ],
  'exp run': [
    ['mk exp run -S train.lr=0.2', 'run the pipeline with lr 0.2 in a temporary worktree'],
    ['mk exp run -S train.lr=0.1 --queue', 'queue it instead'],
    ['mk exp run --run-all -j 2', 'run the queued experiments, two at once'],
  ],
  'exp apply': [['mk exp apply exp-3f2a1c', "bring that experiment's params, lock, metrics and outputs into the work tree"]],
  'exp branch': [['mk exp branch exp-3f2a1c lr-02', 'keep that experiment as the branch lr-02']],
  'exp remove': [
    ['mk exp remove exp-3f2a1c', 'forget one experiment'],
    ['mk exp remove --queue', 'empty the queue'],
  ],
  repro: [
    ['mk repro', 'run the stale stages of dvc.yaml, in dependency order'],
    ['mk repro --dry', 'only say which stages would run, and why'],
    ['mk repro train -s', 'the train stage alone, not what it depends on'],
  ],
  dag: [
    ['mk dag', 'the stages and the outputs that link them'],
    ['mk dag --dot | dot -Tsvg > dag.svg', 'as a picture, with Graphviz'],
  ],
  promote: [
    ['mk promote HEAD', "tag HEAD's published ModelKit 'champion' and note it in Git"],
    ['mk promote exp-a --as candidate-2', 'another tag'],
  ],
  plots: [['mk plots diff HEAD~1 HEAD -o plots', 'one SVG per declared plot, a line per revision']],
  'plots diff': [
    ['mk plots diff -o plots', 'HEAD against the work tree'],
    ['mk plots diff main exp-a exp-b -o plots --png', 'three revisions, with PNGs'],
  ],
  report: [
    ['mk report --base origin/main', 'a Markdown pull-request report on stdout'],
    ['mk report --base origin/main --html -o report.html', 'one self-contained HTML page'],
  ],
  keygen: [
    ['mk keygen', 'mk.key and mk.pub in the current folder'],
    ['mk keygen --out ~/.config/mk/team', 'team.key and team.pub there (the folder must exist)'],
  ],
  sign: [
    ['mk sign HEAD', "sign HEAD's ModelKit on the default remote with signing.key"],
    ['mk sign registry.example.com/team/proj:v1 --key team.key', 'any published ModelKit, with a given key'],
  ],
  help: [
    ['mk help checkout', 'the manual page of mk checkout'],
    ['mk help modelkit unpack', 'of a subcommand'],
  ],
};

/** The examples as a block of text: each command line, its explanation aligned after `#`. */
export function formatExamples(examples: readonly Example[], indent = ''): string {
  const width = Math.min(Math.max(...examples.map(([c]) => c.length)), 60);
  return examples.map(([c, what]) => `${indent}${c.length > width ? `${c}\n${indent}${' '.repeat(width)}` : c.padEnd(width)}  # ${what}`).join('\n');
}
