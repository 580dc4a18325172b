import type { Command } from 'commander';
import { UsageError } from '../api/common.js';
import { bytes } from './format.js';
import { out } from './output.js';

interface MigrateFlags {
  toFilter?: boolean;
  fromDvc?: boolean;
  fromLfs?: boolean;
  history?: boolean;
  everything?: boolean;
  fetch?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description(
      'move data into mk: --from-dvc takes the outputs DVC tracks (.dvc files, dvc.lock) over, --from-lfs the files Git LFS keeps (the work tree, or every commit with --history); the bare form (--to-filter) converts file artifacts with a <file>.mk.yaml beside them to files kept through the Git filter',
    )
    .argument('[args...]', 'with --from-dvc: the outputs (or .dvc files) to take over, default all; with --from-lfs --history: the branches or tags to rewrite, default the current branch')
    .option('--to-filter', 'convert file artifacts with a <file>.mk.yaml beside them to files kept through the Git filter (the default mode)')
    .option(
      '--from-dvc',
      "take DVC's outputs over: bytes from the work tree or .dvc/cache (checked against DVC's md5), pointers staged, .dvc files and DVC's .gitignore lines removed; dvc.yaml and dvc.lock stay",
    )
    .option('--from-lfs', "send the files Git LFS keeps through mk's filter instead: bytes from .git/lfs/objects (checked against their oid), .gitattributes rewritten, pointers staged")
    .option('--history', 'with --from-lfs: rewrite every commit on the refs (as git lfs migrate import does); the old refs are kept under refs/mk-migrate-backup/')
    .option('--everything', 'with --from-lfs --history: rewrite every local branch and tag')
    .option('--fetch', "with --from-dvc: run 'dvc fetch' for outputs whose bytes are in neither the work tree nor DVC's cache")
    .option('-n, --dry-run', 'only say what would be done')
    .option('--json', 'print the result as JSON')
    .action(async (args: string[], o: MigrateFlags) => {
      const modes = [o.toFilter, o.fromDvc, o.fromLfs].filter(Boolean).length;
      if (modes > 1) throw new UsageError('choose one of --to-filter, --from-dvc and --from-lfs');
      if ((o.history || o.everything) && !o.fromLfs) throw new UsageError('--history and --everything go with --from-lfs');
      if (o.fetch && !o.fromDvc) throw new UsageError('--fetch goes with --from-dvc', "for Git LFS, run 'git lfs fetch --all' first");
      if (args.length && !o.fromDvc && !(o.fromLfs && o.history)) throw new UsageError(`unexpected argument '${args[0]}'`, 'paths go with --from-dvc, refs with --from-lfs --history');
      if (o.fromDvc) return fromDvc(args, o);
      if (o.fromLfs) return fromLfs(args, o);
      const { migrate } = await import('../api/migrate.js');
      const r = await migrate({ dryRun: o.dryRun });
      if (o.json) return out.json(r);
      for (const c of r.converted) out.line(`${r.dryRun ? 'would convert' : 'converted'}  ${c.path}`);
      for (const s of r.skipped) out.line(`skipped  ${s.path}: ${s.reason}`);
      if (!r.converted.length && !r.skipped.length) out.line('no file artifacts with pointer files to convert');
      else if (!r.dryRun && r.converted.length) out.line("staged; commit with 'git commit'");
    });
}

async function fromDvc(paths: string[], o: MigrateFlags): Promise<void> {
  const { migrateFromDvc } = await import('../api/migrate-dvc.js');
  const r = await migrateFromDvc({ paths, dryRun: o.dryRun, fetch: o.fetch });
  if (o.json) return out.json(r);
  for (const m of r.migrated) {
    const what = `${m.type === 'dir' ? `folder, ${m.files} file(s)` : 'file'}${m.size !== undefined ? `, ${bytes(m.size)}` : ''}`;
    const from = `${m.source}${m.stage ? ` (stage ${m.stage})` : ''}`;
    const cached = m.fromCache ? `; ${m.fromCache} from DVC's cache` : '';
    if (r.dryRun) out.line(`${m.problem ? 'cannot take' : 'would take'}  ${m.path}  (${what}, from ${from}${cached})${m.problem ? `: ${m.problem}` : ''}`);
    else out.line(`took  ${m.path}  (${what}, from ${from}${cached})`);
  }
  for (const s of r.skipped) out.line(`skipped  ${s.path} (${s.source}): ${s.reason}`);
  if (r.fetched.length) out.line(`ran dvc fetch for ${r.fetched.join(', ')}`);
  for (const f of r.removed) out.line(`removed  ${f}`);
  if (!r.migrated.length) out.line('no DVC outputs to take over');
  else if (!r.dryRun) out.line(`checked ${bytes(r.checkedBytes)} against DVC's md5s; staged; commit with 'git commit' (dvc.yaml and dvc.lock stay; .dvc/cache can go once no branch needs DVC)`);
}

async function fromLfs(refs: string[], o: MigrateFlags): Promise<void> {
  const { migrateFromLfs } = await import('../api/migrate-lfs.js');
  const progress = o.history && process.stderr.isTTY && !o.json;
  const r = await migrateFromLfs({
    history: o.history,
    refs,
    everything: o.everything,
    dryRun: o.dryRun,
    onProgress: progress ? (d, n) => (d === n || d % 100 === 0) && process.stderr.write(`\rreading history: ${d}/${n} commits${d === n ? '\n' : ''}`) : undefined,
  });
  if (o.json) return out.json(r);
  const would = r.dryRun ? 'would ' : '';
  if (r.mode === 'worktree') {
    if (!r.files && !r.attributes.length) return out.line('no files kept by Git LFS here');
    for (const p of r.paths ?? []) out.line(`${r.dryRun ? 'would convert' : 'converted'}  ${p}`);
    for (const a of r.attributes)
      out.line(`${r.dryRun ? 'would rewrite' : 'rewrote'}  ${a} (Git LFS's lines now name mk${a === '.gitattributes' ? '' : '; moved to the root .gitattributes, the only one mk reads'})`);
  } else {
    if (!r.refs?.length) return out.line(`no Git LFS files in the history of the ${refs.length || o.everything ? 'refs named' : 'current branch'}: nothing to rewrite`);
    out.line(`${would}${r.dryRun ? 'rewrite' : 'rewrote'} ${r.rewritten} of ${r.commits} commits (${r.files} LFS pointer(s) become mk pointers)`);
    for (const x of r.refs) out.line(`  ${x.ref}: ${x.old.slice(0, 12)} -> ${r.dryRun ? '(new)' : x.new.slice(0, 12)}`);
  }
  if (r.missing.length) out.line(`missing: ${r.missing.length} LFS object(s) are not here (first: sha256:${r.missing[0]}); run 'git lfs fetch --all' first`);
  out.line(`${r.objects} LFS object(s), ${bytes(r.bytes)}${r.dryRun ? '' : `: ${r.copied} copied into mk's cache, each checked against its oid`}`);
  for (const w of r.warnings) out.err(`warning: ${w}`);
  if (r.dryRun) return;
  if (r.mode === 'worktree') out.line("staged; commit with 'git commit'");
  else if (r.backup && r.refs?.length) {
    out.line(`the old refs are kept under ${r.backup}/; to go back: ${r.refs.map((x) => `git update-ref ${x.ref} ${r.backup}/${x.ref.replace(/^refs\//, '')}`).join('; ')}`);
    out.line("if these refs were pushed before: push them again with 'git push --force' (mk's pre-push hook uploads the data)");
    out.line("once no branch needs Git LFS, take its hooks and filter out of this clone: 'mk uninstall && git lfs uninstall --local && mk install'");
  }
}
