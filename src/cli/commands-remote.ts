import type { Command } from 'commander';
import type { RunCacheTransfer } from '../api/transfer.js';
import { UsageError } from '../api/common.js';
import { bytes, table } from './format.js';
import { out } from './output.js';
import { revsAndPathsOf } from './args.js';
import type { progressBar as ProgressBar } from './progress.js';

async function progressBar(label: string, enabled: boolean): Promise<ReturnType<typeof ProgressBar>> {
  const m = await import('./progress.js');
  return m.progressBar(label, enabled);
}

function wantProgress(o: { json?: boolean; progress?: boolean; quiet?: boolean }): boolean {
  if (o.json || o.quiet) return false;
  return o.progress === true || !!process.stderr.isTTY;
}

interface TOpts {
  strictAccess?: boolean;
  remote?: string;
  jobs?: string;
  json?: boolean;
  progress?: boolean;
  quiet?: boolean;
}

function jobs(o: TOpts): number | undefined {
  if (o.jobs === undefined) return undefined;
  const n = Number(o.jobs);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--jobs must be a positive whole number, not '${o.jobs}'`);
  return n;
}

/**
 * Data routed to a remote this user may not read (remotes by path): one line on stderr, or the
 * command's error with --strict-access (MK_STRICT_ACCESS=1, access.strict).
 */
export async function sayWithheld(withheld: Array<{ path: string }> | undefined, strict?: boolean, cwd?: string): Promise<void> {
  if (!withheld?.length) return;
  const { withheldNotice } = await import('../api/access.js');
  const line = withheldNotice(withheld as Parameters<typeof withheldNotice>[0], { strict, cwd });
  if (line) out.err(`mk: ${line}`);
}

export const strictAccessOption = (c: Command) =>
  c.option('--strict-access', 'data routed to a remote you may not read (withheld) is an error, not a warning (also MK_STRICT_ACCESS=1, access.strict)');

const transferOptions = (c: Command) =>
  strictAccessOption(c)
    .option('-r, --remote <name>', 'the remote to use (default: the default remote; data routed to a remote by path always uses that one)')
    .option('-j, --jobs <n>', 'transfers at once (default 6, or MK_CONCURRENCY)')
    .option('--progress', 'show progress even when not on a terminal')
    .option('-q, --quiet', 'no progress display')
    .option('--json', 'print the result as JSON');

export function registerRemote(program: Command): void {
  const remote = program.command('remote').description('manage remotes: OCI registries (oci://host/repo) or local OCI layouts (a path)');
  remote
    .command('add')
    .description('add a remote; the first one becomes the default')
    .argument('<name>')
    .argument('<url>', 'oci://host[:port]/repository, or a path / file:// URL of a local OCI image layout')
    .option('--local', 'keep it in .git/mk/config.yaml (this clone only) instead of .mk/config.yaml')
    .option('--insecure', 'allow plain HTTP to a non-loopback registry')
    .option('--default', 'make it the default remote')
    .option('--create', 'create the local OCI layout now (otherwise the first push creates it)')
    .option(
      '--path <pattern>',
      'a remote by path: tracked paths matching the pattern (e.g. data/clinical/**) go to this registry repository instead of the default remote (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .action(async (name: string, url: string, o: { local?: boolean; insecure?: boolean; default?: boolean; create?: boolean; path?: string[] }) => {
      const { remoteAdd } = await import('../api/remote.js');
      const r = await remoteAdd(name, url, { local: o.local, insecure: o.insecure, makeDefault: o.default, create: o.create, paths: o.path });
      for (const w of r.warnings) out.err(`warning: ${w}`);
      out.line(`added remote '${name}' (${r.url})${o.path?.length ? ` for ${o.path.join(', ')}` : ''} to ${r.file}${o.create ? '; created the layout' : ''}`);
    });
  remote
    .command('list')
    .alias('ls')
    .description('list remotes')
    .option('--json', 'print the result as JSON')
    .action(async (o: { json?: boolean }) => {
      const { remoteList } = await import('../api/remote.js');
      const rows = remoteList();
      if (o.json) return out.json({ remotes: rows });
      if (rows.length === 0) return out.line("no remotes (add one with 'mk remote add <name> <url>')");
      const routed = rows.some((r) => r.paths);
      out.line(table(rows.map((r) => [r.default ? '*' : ' ', r.name, r.url, ...(routed ? [r.paths ? `paths: ${r.paths.join(', ')}` : '(every other path)'] : [])])));
    });
  remote
    .command('remove')
    .alias('rm')
    .description('remove a remote')
    .argument('<name>')
    .option('--local', 'remove it from .git/mk/config.yaml')
    .action(async (name: string, o: { local?: boolean }) => {
      const { remoteRemove } = await import('../api/remote.js');
      await remoteRemove(name, o);
      out.line(`removed remote '${name}'`);
    });
  remote
    .command('default')
    .description('set the default remote')
    .argument('<name>')
    .option('--local', 'set it in .git/mk/config.yaml only')
    .action(async (name: string, o: { local?: boolean }) => {
      const { remoteDefault } = await import('../api/remote.js');
      await remoteDefault(name, o);
      out.line(`default remote is now '${name}'`);
    });

  transferOptions(
    program
      .command('push')
      .description('upload the data of revisions (default: HEAD and the work tree) that the remote lacks, then publish their ModelKits')
      .argument('[rev...]', "revisions, then paths ('--' before them when one could be read as a revision)")
      .option('--no-modelkit', 'upload data only; publish no ModelKit')
      .option('--check-remote', 'ask the remote for every blob, not trusting what this repository knows it holds')
      .option('-f, --force', 'move the branch tag even to a commit that does not descend from the one it names')
      .option('--no-run-cache', "do not push the pipeline's run cache (the entries mk repro adds)"),
  ).action(async (args: string[], o: TOpts & { modelkit: boolean; checkRemote?: boolean; force?: boolean; runCache: boolean }) => {
    const { revs, paths } = await revsAndPathsOf('push', args, Infinity);
    const bar = await progressBar('push', wantProgress(o));
    try {
      const { push, heldTagError, signedNote, announcementLines } = await import('../api/transfer.js');
      const r = await push({
        remote: o.remote,
        revs,
        paths,
        concurrency: jobs(o),
        onProgress: bar.update,
        modelkits: o.modelkit === false ? false : undefined,
        checkRemote: o.checkRemote,
        force: o.force,
        runCache: o.runCache,
      });
      bar.stop();
      const { target: _t, ...rest } = r;
      if (o.json) out.json(rest);
      else {
        const mounted = r.mounted ? `${r.mounted} mounted from another repository of the registry, ` : '';
        out.line(`pushed ${r.copied} blob(s), ${bytes(r.bytes)} to '${r.remote}' (${mounted}${r.skipped} already there) for ${r.artifacts} artifact(s)`);
        for (const m of r.modelkits) {
          out.line(`ModelKit ${m.digest} tagged ${m.tags.join(', ')}${signedNote(m.signatures)}`);
        }
        for (const m of r.routed) if (!m.existed) out.line(`ModelKit ${m.digest} of ${m.path} tagged ${m.tag} on '${m.remote}'${signedNote(m.signatures)}`);
        runCacheLine('pushed', r.runCache);
        for (const w of new Set(r.modelkits.flatMap((m) => m.warnings ?? []))) out.err(`warning: ${w}`);
      }
      for (const w of r.warnings) out.err(`mk: warning: ${w}`);
      await sayWithheld(r.withheld, o.strictAccess);
      const said = announcementLines(r.announced);
      if (!o.json) for (const l of said.done) out.line(l);
      for (const w of said.warnings) out.err(`mk: warning: ${w}`);
      // Everything else is published; a branch tag that would move back or sideways is refused, as git refuses a non-fast-forward.
      if (r.held[0]) throw heldTagError(r.held[0]);
    } finally {
      bar.stop();
    }
  });

  transferOptions(
    program
      .command('fetch')
      .description("download into the cache the data of revisions (default: HEAD and the work tree), and the remote's run cache entries this clone lacks")
      .argument('[rev...]', "revisions, then paths ('--' before them when one could be read as a revision)")
      .option('--no-run-cache', "do not fetch the pipeline's run cache"),
  ).action(async (args: string[], o: TOpts & { runCache: boolean }) => {
    const { revs, paths } = await revsAndPathsOf('fetch', args, Infinity);
    const bar = await progressBar('fetch', wantProgress(o));
    try {
      const { fetchData } = await import('../api/transfer.js');
      const r = await fetchData({ remote: o.remote, revs, paths, concurrency: jobs(o), onProgress: bar.update, runCache: o.runCache });
      bar.stop();
      if (o.json) out.json(r);
      else {
        out.line(`fetched ${r.copied} blob(s), ${bytes(r.bytes)} from '${r.remote}' (${r.skipped} already cached) for ${r.artifacts} artifact(s)`);
        runCacheLine('fetched', r.runCache);
      }
      await sayWithheld(r.withheld, o.strictAccess);
    } finally {
      bar.stop();
    }
  });

  transferOptions(
    program
      .command('pull')
      .description('fetch, then checkout')
      .argument('[rev]', 'a revision (default: the pointers of the work tree)')
      .argument('[paths...]', "only these paths ('--' before them when one could be read as a revision); a path inside a tracked folder restores that part of it alone")
      .option('-f, --force', 'overwrite unsaved changes')
      .option('--no-run-cache', "do not fetch the pipeline's run cache"),
  ).action(async (rev: string | undefined, rest: string[], o: TOpts & { force?: boolean; runCache: boolean }) => {
    const { revs, paths } = await revsAndPathsOf('pull', [rev, ...rest], 1);
    const bar = await progressBar('pull', wantProgress(o));
    try {
      const { pull } = await import('../api/transfer.js');
      const r = await pull({ remote: o.remote, rev: revs[0], paths, force: o.force, concurrency: jobs(o), onProgress: bar.update, runCache: o.runCache });
      bar.stop();
      const { setupWarning } = await import('../api/install.js');
      const w = await setupWarning();
      if (w) out.err(w);
      if (o.json) out.json(r);
      else {
        const restored = r.checkout.artifacts.filter((a) => a.action === 'restored').length;
        const parts = r.partial.map((p) => `; restored ${p.written} of ${p.files} file(s) under ${p.paths.join(', ')}${p.partial ? ` (${p.path} is partially restored)` : ''}`).join('');
        out.line(`fetched ${r.fetch.copied} blob(s), ${bytes(r.fetch.bytes)}; restored ${restored} artifact(s)${parts}`);
        runCacheLine('fetched', r.fetch.runCache);
      }
      await sayWithheld(r.withheld, o.strictAccess);
    } finally {
      bar.stop();
    }
  });
}

/** The run cache's line after a push or fetch: entries moved, or why they could not be (the data moved regardless). */
function runCacheLine(verb: string, rc: RunCacheTransfer | undefined): void {
  if (!rc) return;
  if (rc.entries) out.line(`${verb} ${rc.entries} run cache entr${rc.entries === 1 ? 'y' : 'ies'}`);
  if (rc.problem) out.err(`warning: the run cache was not ${verb}: ${rc.problem}`);
}

export function registerGet(program: Command): void {
  transferOptions(
    program
      .command('get')
      .description('write one file or folder of tracked data, of any revision or ModelKit, outside the work tree (reads only what it needs)')
      .usage('[options] [<rev>] <path>')
      .argument('<rev|path>', 'with a second argument: a revision (default: HEAD), or a ModelKit reference (host/repository:tag, oci:<path>[:tag], <remote>:<tag>), read without Git')
      .argument('[path]', 'a tracked file or folder, or a file or folder inside a tracked folder (or of the ModelKit)')
      .option('--rev <rev>', 'the revision to read (the same as the first argument)')
      .option('-o, --out <path>', 'where to write it (default: its name, in the current directory)')
      .option('-f, --force', 'replace an existing output'),
  ).action(async (a: string | undefined, b: string | undefined, o: TOpts & { rev?: string; out?: string; force?: boolean }) => {
    // One argument is the path; two are a revision (or ModelKit reference) and a path.
    const path = b ?? a!;
    if (b !== undefined && o.rev !== undefined) throw new UsageError(`a revision given twice ('${a}' and --rev ${o.rev})`, 'mk get [<rev>] <path>');
    const rev = b !== undefined ? a : o.rev;
    const { get } = await import('../api/get.js');
    const r = await get(path, { rev, out: o.out, force: o.force, remote: o.remote, concurrency: jobs(o) });
    if (o.json) return out.json(r);
    if (o.quiet) return;
    const got = r.type === 'file' ? `${bytes(r.bytes)}` : `${r.files} file(s), ${bytes(r.bytes)}`;
    const dl = r.downloaded ? `; downloaded ${r.downloaded} blob(s)${r.packsInPart ? ` (${r.packsInPart} in part)` : ''}, ${bytes(r.downloadedBytes)}` : '';
    out.line(`wrote ${r.out} (${got}) from ${r.reference ?? r.commit.slice(0, 12)}${dl}`);
  });
}

export async function printRemoteStatus(o: { remote?: string; json?: boolean }): Promise<void> {
  const { remoteStatus } = await import('../api/transfer.js');
  const r = await remoteStatus({ remote: o.remote });
  if (o.json) return out.json(r);
  out.line(`remote '${r.remote}':`);
  out.line(
    table(
      r.artifacts.map((a) =>
        a.withheld
          ? [`withheld (${a.withheld})`, '', `${a.path}${a.remote ? ` (on '${a.remote}')` : ''}`]
          : [a.missingRemote ? `${a.missingRemote} blob(s) not pushed` : 'pushed', a.missingLocal ? `${a.missingLocal} not cached` : 'cached', `${a.path}${a.remote ? ` (on '${a.remote}')` : ''}`],
      ),
    ),
  );
}
