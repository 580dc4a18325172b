import type { Command } from 'commander';
import { KINDS, LINK_TYPES, MkError, UsageError, type Kind, type LinkType } from '../api/common.js';
import { bytes, short, table } from './format.js';
import { out } from './output.js';
import { revsAndPathsOf } from './args.js';
import { diffFileLines, diffStat } from './diff-format.js';
import { printRemoteStatus, sayWithheld, strictAccessOption } from './commands-remote.js';

function kindOpt(v: string | undefined): Kind | undefined {
  if (v === undefined) return undefined;
  if (!KINDS.includes(v as Kind)) throw new UsageError(`unknown kind '${v}'`, `use one of: ${KINDS.join(', ')}`);
  return v as Kind;
}

function linkOpt(v: string | undefined): LinkType | undefined {
  if (v === undefined) return undefined;
  if (!LINK_TYPES.includes(v as LinkType)) throw new UsageError(`unknown link type '${v}'`, `use one of: ${LINK_TYPES.join(', ')}`);
  return v as LinkType;
}

export function registerCore(program: Command): void {
  program
    .command('init')
    .description('set up mk in this Git repository: .mk/config.yaml (committed) and the local cache')
    .option('--no-stage', 'do not stage .mk/config.yaml')
    .option('--no-filter', 'track files with pointer files beside them (as folders), not through the Git filter and .gitattributes')
    .option('--json', 'print the result as JSON')
    .action(async (o: { stage: boolean; filter: boolean; json?: boolean }) => {
      const { init } = await import('../api/init.js');
      const r = await init({ stage: o.stage, filter: o.filter });
      for (const w of r.warnings) out.err(`warning: ${w}`);
      if (o.json) return out.json(r);
      out.line(r.created.length ? `Initialised mk in ${r.root} (created ${r.created.join(', ')})` : `mk is already set up in ${r.root}`);
      const found = (['params', 'metrics', 'plots'] as const).filter((k) => r.experiments[k].length).map((k) => `${k}: ${r.experiments[k].join(', ')}`);
      if (found.length) out.line(`declared in .mk/config.yaml for mk params/metrics diff and mk exp show (edit to change): ${found.join('; ')}`);
    });

  program
    .command('add')
    .description('track files or directories: store their bytes, write pointers, update .gitignore, stage')
    .argument('<path...>', 'files or directories to track')
    .option('-k, --kind <kind>', `what the artifact is: ${KINDS.join(', ')} (default: guessed from the name)`)
    .option('-d, --description <text>', 'a description kept in the pointer')
    .option('--no-stage', 'do not stage the pointer and .gitignore with git')
    .option('--json', 'print the result as JSON')
    .action(async (paths: string[], o: { kind?: string; description?: string; stage: boolean; json?: boolean }) => {
      const { add } = await import('../api/add.js');
      const r = await add(paths, { kind: kindOpt(o.kind), description: o.description, stage: o.stage });
      if (o.json) return out.json({ artifacts: r });
      for (const a of r) {
        const what = a.pointer.type === 'dir' ? `${a.pointer.files} files, ${bytes(a.pointer.size)}` : bytes(a.pointer.size);
        out.line(`${a.changed ? 'tracked' : 'unchanged'}  ${a.path} (${a.pointer.kind}, ${what}) ${short(a.pointer.digest)}${a.newBlobs ? `  +${a.newBlobs} blob(s) ${bytes(a.newBytes)}` : ''}`);
        for (const w of a.warnings) out.err(`warning: ${w}`);
        if (a.skipped.length) out.err(`warning: ${a.path}: ${a.skipped.length} entries are not regular files and were not tracked (e.g. ${a.skipped[0]})`);
      }
    });

  program
    .command('rm')
    .description('stop tracking artifacts: remove their pointers, .gitignore and Kitfile entries (the data stays unless --data)')
    .argument('<path...>', 'tracked artifacts')
    .option('--data', 'delete the data from the work tree too, if its bytes are saved in the cache (they stay there until mk gc)')
    .option('-f, --force', 'with --data: delete it even when it holds unsaved changes')
    .option('--no-stage', 'do not stage the changes')
    .option('--json', 'print the result as JSON')
    .action(async (paths: string[], o: { data?: boolean; force?: boolean; stage: boolean; json?: boolean }) => {
      const { remove } = await import('../api/remove.js');
      const r = await remove(paths, { data: o.data, force: o.force, stage: o.stage });
      if (o.json) return out.json({ artifacts: r });
      for (const a of r) out.line(`untracked ${a.path}${a.dataRemoved ? ' (data deleted)' : a.dataPresent ? ' (data kept in the work tree)' : ' (no data in the work tree)'}`);
    });

  program
    .command('mv')
    .description('move a tracked artifact: its data (renamed, not copied), pointer, .gitignore line and Kitfile entry, staged')
    .argument('<source>', 'a tracked artifact (or a path git tracks: moved with git mv)')
    .argument('<destination>', 'the new path, or an existing folder to move it into')
    .option('--no-stage', 'do not stage the changes')
    .option('--json', 'print the result as JSON')
    .action(async (source: string, destination: string, o: { stage: boolean; json?: boolean }) => {
      const { move } = await import('../api/mv.js');
      const r = await move(source, destination, { stage: o.stage });
      if (o.json) return out.json(r);
      out.line(`moved  ${r.from} -> ${r.to}${r.by === 'git' ? ' (git mv)' : ''}`);
    });

  program
    .command('status')
    .description('show each tracked artifact: clean, modified, stale, deleted, withheld, new, not cached; and the stale stages of dvc.yaml, with why')
    .argument('[path...]', 'limit to these paths')
    .option('--json', 'print the result as JSON')
    .option('-v, --verbose', 'list changed files inside directories')
    .option('--remote [name]', 'also show what is missing on a remote (default: the default remote)')
    .action(async (paths: string[], o: { json?: boolean; verbose?: boolean; remote?: string | boolean }) => {
      if (o.remote !== undefined) return printRemoteStatus({ remote: typeof o.remote === 'string' ? o.remote : undefined, json: o.json });
      const { status } = await import('../api/status.js');
      const { setupWarning } = await import('../api/install.js');
      const { stageStatus } = await import('../api/stages.js');
      // The setup check (two config reads) and the pipeline's stages run while the work tree is scanned.
      // A pipeline file mk cannot read is a warning here: the artifacts' status stands on its own
      // (and a problem both share, a bad config, is the artifacts' error, said once).
      const [r, w, stages] = await Promise.all([status({ paths }), setupWarning(), paths.length ? undefined : stageStatus().catch((e: unknown) => ({ error: e }))]);
      if (w) out.err(w);
      let st: Awaited<ReturnType<typeof stageStatus>>;
      if (stages && 'error' in stages) {
        if (!(stages.error instanceof MkError)) throw stages.error;
        out.err(`warning: pipeline: ${stages.error.message}`);
      } else st = stages;
      if (o.json) return out.json({ artifacts: r, ...(st ? { stages: st.stages } : {}) });
      const { stageLines } = await import('./commands-pipeline.js');
      if (r.length === 0) {
        out.line("no tracked artifacts (track some with 'mk add <path>')");
        if (st) out.line(stageLines(st.stages));
        return;
      }
      const rows = r.map((s) => {
        const flags = [
          s.workspace === 'stale'
            ? 'stale (pointer changed by git; run mk checkout)'
            : s.withheld
              ? `withheld (no read access to ${s.withheld.repository}, ${s.withheld.reason})`
              : s.refused
                ? `refused (${s.refused})`
                : s.workspace,
          s.commit === 'committed' ? '' : s.commit === 'new' ? 'new' : 'uncommitted',
          s.cached || s.withheld ? '' : 'not cached',
        ]
          .filter(Boolean)
          .join(', ');
        const detail = s.changes.length && s.type === 'dir' && s.workspace !== 'stale' ? ` (${s.changes.length} file${s.changes.length === 1 ? '' : 's'} changed)` : '';
        return [flags, s.path + detail];
      });
      out.line(table(rows));
      if (o.verbose) for (const s of r) for (const c of s.changes) out.line(`    ${c.change.padEnd(8)} ${s.type === 'dir' ? `${s.path}/${c.path}` : c.path}`);
      if (st) out.line(stageLines(st.stages));
    });

  strictAccessOption(program.command('checkout'))
    .description('restore the data recorded by the pointers (of <rev>, whose pointers are restored too)')
    .argument('[rev]', 'a commit, branch or tag (default: the pointers of the work tree)')
    .argument('[paths...]', "only these paths ('--' before them when one could be read as a revision)")
    .option('-f, --force', 'overwrite unsaved changes to tracked data')
    .option('--link <type>', `how to place files: ${LINK_TYPES.join(', ')}; copy tries a reflink first, so reflink is the same as copy (default from config: copy)`)
    .option('--ours', "while a folder's pointer is in conflict: take our side's version of the given files (git's 'ours'; the upstream during a rebase)")
    .option('--theirs', "while a folder's pointer is in conflict: take their side's version of the given files (git's 'theirs'; your commit during a rebase)")
    .option('--json', 'print the result as JSON')
    .action(async function (this: Command, a1: string | undefined, rest: string[], o: { force?: boolean; link?: string; json?: boolean; ours?: boolean; theirs?: boolean; strictAccess?: boolean }) {
      const {
        revs: [rev],
        paths,
      } = await revsAndPathsOf('checkout', [a1, ...rest], 1);
      if (o.ours || o.theirs) {
        if (o.ours && o.theirs) throw new UsageError('--ours and --theirs exclude each other');
        if (rev !== undefined) throw new UsageError('--ours and --theirs take no revision', 'mk checkout --theirs -- <folder>/<file>...');
        const { checkoutSide } = await import('../api/checkout-side.js');
        const r = await checkoutSide({ side: o.ours ? 'ours' : 'theirs', paths });
        if (o.json) return out.json({ files: r });
        for (const f of r) out.line(`${f.action.padEnd(9)} ${f.path}`);
        return;
      }
      const { checkout } = await import('../api/checkout.js');
      const r = await checkout({ rev, paths, force: o.force, link: linkOpt(o.link) });
      if (o.json) out.json(r);
      else {
        const changed = r.artifacts.filter((a) => a.action === 'restored');
        for (const a of changed) out.line(`restored  ${a.path} (${a.written} written${a.removed ? `, ${a.removed} removed` : ''})`);
        if (changed.length === 0) out.line('data is up to date');
      }
      await sayWithheld(r.withheld, o.strictAccess);
    });

  program
    .command('diff')
    .description('files added, removed, modified and renamed in tracked artifacts between two revisions (or a revision and the work tree)')
    .argument('[rev...]', "[<from> [<to>]]: revisions (default HEAD and the work tree); then paths (after '--' when one could be read as a revision)")
    .option('--stat', 'one line per artifact (files added, removed, modified, renamed, and bytes), then a total')
    .option('--no-renames', 'show moved files and artifacts as removed and added')
    .option('-r, --remote <name>', 'where to read file lists the local cache lacks (default: the default remote)')
    .option('--json', 'print the result as JSON')
    .option('--strict-access', 'a folder whose file lists you may not read (withheld) is an error, not a warning (also MK_STRICT_ACCESS=1, access.strict)')
    .action(async (args: string[], o: { stat?: boolean; renames: boolean; remote?: string; json?: boolean; strictAccess?: boolean }) => {
      const {
        revs: [from, to],
        paths,
      } = await revsAndPathsOf('diff', args, 2);
      const { diff } = await import('../api/diff.js');
      const r = await diff({ from, to, paths, remote: o.remote, renames: o.renames });
      if (o.json) out.json(r);
      else if (r.artifacts.length === 0) out.line(`no data changes between ${r.from} and ${r.to}`);
      else if (o.stat) out.line(diffStat(r));
      else
        for (const a of r.artifacts) {
          out.line(a.change === 'renamed' ? `renamed ${a.from} -> ${a.path}` : `${a.change} ${a.path}`);
          for (const line of diffFileLines(a.files)) out.line(`  ${line}`);
        }
      // Folders routed to a repository this user may not read were left out: one line saying so.
      await sayWithheld(r.withheld, o.strictAccess);
    });

  program
    .command('ls')
    .description('list tracked artifacts at a revision (default: the work tree), with sizes and digests')
    .argument('[rev]', 'a commit, branch or tag')
    .option('--json', 'print the result as JSON')
    .action(async (rev: string | undefined, o: { json?: boolean }) => {
      const { ls } = await import('../api/ls.js');
      const r = await ls({ rev });
      if (o.json) return out.json(r);
      out.line(table(r.artifacts.map((a) => [a.kind, a.type === 'dir' ? `${a.files} files` : 'file', bytes(a.size), short(a.digest), a.path])));
    });

  program
    .command('gc')
    .description('remove cache blobs nothing needs; never data that exists nowhere else (unpushed commits, the reflog, other worktrees, clones sharing the cache)')
    .option('--all-branches', 'also keep what every branch tip needs, even where a remote holds it')
    .option('--all-tags', 'also keep what every tagged commit needs, even where a remote holds it')
    .option('--all-commits', 'also keep what any commit reachable from any ref needs, even where a remote holds it')
    .option('--verify-remote', 'ask the remotes whether they hold each blob that goes because a remote is believed to hold it')
    .option('-n, --dry-run', 'only print what would be removed')
    .option('-y, --yes', 'do not ask for confirmation on a terminal')
    .option('--json', 'print the result as JSON')
    .action(async (o: { allBranches?: boolean; allTags?: boolean; allCommits?: boolean; verifyRemote?: boolean; dryRun?: boolean; yes?: boolean; json?: boolean }) => {
      const { gc } = await import('../api/gc.js');
      const opts = { allBranches: o.allBranches, allTags: o.allTags, allCommits: o.allCommits, verifyRemote: o.verifyRemote };
      let only: Set<string> | undefined;
      if (!o.dryRun && !o.yes && !o.json && process.stdin.isTTY && process.stdout.isTTY) {
        const plan = await gc({ ...opts, dryRun: true });
        printGc(plan);
        if (plan.removed.length === 0) return;
        if (!(await confirm(`remove these ${plan.removed.length} blob(s) from the cache? [y/N] `))) return out.line('nothing removed');
        only = new Set(plan.removed.map((b) => b.digest));
      }
      const r = await gc({ ...opts, dryRun: o.dryRun, only });
      if (o.json) return out.json(r);
      printGc(r);
    });
}

function printGc(r: import('../api/gc.js').GcResult): void {
  if (r.dryRun) for (const b of r.removed) out.line(`would remove ${short(b.digest)} (${bytes(b.size)})`);
  out.line(
    `${r.dryRun ? 'would free' : 'freed'} ${bytes(r.freedBytes)} in ${r.removed.length} blob(s); kept ${r.kept} needed by ${r.commits} commit(s) and ${r.worktrees} work tree(s)${r.clones ? ` (with ${r.clones} other clone(s) sharing the cache)` : ''}`,
  );
  if (r.unpushed.blobs) out.line(`kept ${r.unpushed.blobs} blob(s), ${bytes(r.unpushed.bytes)}, that older or unpushed commits need and no remote is known to hold (push them, then gc again)`);
}

async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
