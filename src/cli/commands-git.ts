import type { Command } from 'commander';
import { out } from './output.js';

export function registerGit(program: Command): void {
  program
    .command('install')
    .description('install the Git hooks (pre-commit, post-commit, post-checkout, post-merge, post-rewrite, pre-push, reference-transaction) and the Git filter; keeps hooks already there')
    .option('--global', "set up mk's Git filter in your global Git config, for every clone (as 'git lfs install')")
    .action(async (o: { global?: boolean }) => {
      const { install } = await import('../api/install.js');
      const r = await install({ global: o.global });
      if (o.global) out.line("set up mk's Git filter in the global Git config");
      if (r.dir) out.line(`installed mk hooks in ${r.dir}: ${r.installed.join(', ')}`);
      if (r.attributes) out.line('updated .gitattributes from track: (staged)');
      if (r.kept.length) out.line(`kept your own ${r.kept.join(', ')} (moved to <hook>.pre-mk; still runs first)`);
      for (const w of r.warnings) out.err(`warning: ${w}`);
    });
  program
    .command('uninstall')
    .description('remove the Git hooks (restoring the ones that were there before) and the Git filter config')
    .option('--global', "remove mk's Git filter from your global Git config")
    .action(async (o: { global?: boolean }) => {
      const { uninstall } = await import('../api/install.js');
      const r = await uninstall({ global: o.global });
      if (o.global) out.line("removed mk's Git filter from the global Git config");
      else out.line(`removed mk hooks from ${r.dir}${r.restored.length ? `; restored ${r.restored.join(', ')}` : ''}`);
    });
  program
    .command('hook')
    .description("run mk's part of a Git hook (called by the installed hook shims)")
    .argument('<name>', 'pre-commit, post-commit, post-checkout, post-merge, post-rewrite or pre-push')
    .argument('[args...]', 'the arguments git gave the hook')
    .allowUnknownOption()
    .action(async (name: string, args: string[]) => {
      const { runHook } = await import('../integration/hooks/run.js');
      const r = await runHook(name, args);
      for (const m of r.messages) out.err(m);
      process.exitCode = r.exitCode;
    });
  program
    .command('filter-process', { hidden: true })
    .description("git's long-running filter for files kept by mk (filter.mk.process, set up by mk install)")
    .action(async () => {
      const { filterProcess } = await import('../integration/filter/process.js');
      await filterProcess();
    });
  program
    .command('merge-driver', { hidden: true })
    .description('git merge driver for pointer files (registered by mk install)')
    .arguments('<base> <ours> <theirs> <path>')
    .action(async (base: string, ours: string, theirs: string, path: string) => {
      const { mergePointers } = await import('../integration/hooks/merge-driver.js');
      const messages: string[] = [];
      process.exitCode = await mergePointers(base, ours, theirs, path, messages);
      for (const m of messages) out.err(m);
    });
  program
    .command('clone')
    .description('git clone, install the hooks and pull the data: a working copy with its data in one step')
    .argument('<url>', 'the Git repository')
    .argument('[dir]', 'where to clone')
    .option('-b, --branch <name>', 'check out this branch')
    .option('--depth <n>', "a shallow clone of the last <n> commits (git clone --depth); mk restores the checked-out commit's data")
    .option('-j, --jobs <n>', 'transfers at once (default 6, or MK_CONCURRENCY)')
    .option('--progress', 'show progress even when not on a terminal')
    .option('-q, --quiet', 'print nothing but errors')
    .option('--json', 'print the result as JSON')
    .option('--strict-access', 'data routed to a remote you may not read (withheld) is an error, not a warning (also MK_STRICT_ACCESS=1, access.strict)')
    .action(async (url: string, dir: string | undefined, o: { branch?: string; depth?: string; jobs?: string; progress?: boolean; quiet?: boolean; json?: boolean; strictAccess?: boolean }) => {
      const { UsageError } = await import('../api/common.js');
      const whole = (name: string, v: string | undefined) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive whole number, not '${v}'`);
        return n;
      };
      const depth = whole('--depth', o.depth);
      const concurrency = whole('--jobs', o.jobs);
      const { progressBar, wantProgress } = await import('./progress.js');
      const bar = progressBar('clone', wantProgress(o));
      try {
        const { clone } = await import('../api/clone.js');
        const r = await clone(url, dir, { branch: o.branch, depth, concurrency, onProgress: bar.update });
        bar.stop();
        if (o.json) out.json(r);
        else if (!o.quiet)
          out.line(`cloned into ${r.dir}; restored the data of ${r.restored} artifact(s)${r.runCache ? `; fetched ${r.runCache} run cache entr${r.runCache === 1 ? 'y' : 'ies'}` : ''}`);
        const { setupWarning } = await import('../api/install.js');
        const w = await setupWarning(r.dir);
        if (w) out.err(w);
        if (r.withheld.length) {
          const { withheldNotice } = await import('../api/access.js');
          const line = withheldNotice(r.withheld, { cwd: r.dir, strict: o.strictAccess });
          if (line) out.err(`mk: ${line}`);
        }
      } finally {
        bar.stop();
      }
    });
}
