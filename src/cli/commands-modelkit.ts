import type { Command } from 'commander';
import { bytes, short, table } from './format.js';
import { out } from './output.js';
import { UsageError } from '../api/common.js';

export function registerModelKit(program: Command): void {
  const mk = program.command('modelkit').description('ModelKits: the KitOps package (Kitfile, model, datasets, code, docs) of a commit');
  mk.command('build')
    .description('build the ModelKit of a revision into the cache; prints its reference and digest')
    .argument('[rev]', 'a commit, branch or tag', 'HEAD')
    .option('--json', 'print the result as JSON')
    .action(async (rev: string, o: { json?: boolean }) => {
      const { modelkitBuild } = await import('../api/modelkit.js');
      const r = await modelkitBuild({ rev });
      if (o.json) return out.json({ reference: r.reference, commit: r.commit, digest: r.manifest.digest, size: r.manifest.size, config: r.config, layers: r.layers, skipped: r.skipped });
      if (r.reference) out.line(`${r.reference}`);
      else out.err(`warning: not stored in the local cache: the data of ${r.commit.slice(0, 12)} is not all there (run 'mk fetch ${r.commit.slice(0, 12)}' to get it)`);
      out.line(`digest: ${r.manifest.digest}`);
      out.line(`layers: ${r.layers.length}, ${bytes(r.layers.reduce((s, l) => s + l.size, 0))}`);
      if (r.skipped.length) out.err(`warning: ${r.skipped.length} symlink(s)/submodule(s) left out of the code layer (kit cannot unpack them), e.g. ${r.skipped[0]}`);
    });
  mk.command('inspect')
    .description('print the manifest and Kitfile of a ModelKit (a revision, remote:tag, oci:<path>[:tag] or host/repo:tag)')
    .argument('<ref>')
    .option('--json', 'print manifest and config as JSON')
    .action(async (ref: string, o: { json?: boolean }) => {
      const { modelkitInspect } = await import('../api/modelkit.js');
      const r = await modelkitInspect(ref);
      if (o.json) return out.json(r);
      out.line(`ModelKit ${ref}`);
      out.line(`digest:   ${r.digest}`);
      for (const [k, v] of Object.entries((r.manifest.annotations ?? {}) as Record<string, string>)) out.line(`${k}: ${v}`);
      out.line('layers:');
      for (const l of r.manifest.layers as Array<{ mediaType: string; digest: string; size: number; annotations?: Record<string, string> }>) {
        out.line(
          `  ${short(l.digest)}  ${bytes(l.size).padStart(9)}  ${l.mediaType.replace('application/vnd.kitops.modelkit.', '')}${l.annotations?.['org.cncf.model.filepath'] ? `  ${l.annotations['org.cncf.model.filepath']}` : ''}`,
        );
      }
    });
  mk.command('list')
    .description('list the ModelKits of a repository (a remote, oci:<path> or host/repository), newest first, with their tags')
    .argument('[where]', 'a remote name (default: the default remote), oci:<path> or host[:port]/repository')
    .option('--json', 'print the result as JSON')
    .action(async (where: string | undefined, o: { json?: boolean }) => {
      const { modelkitList } = await import('../api/modelkit.js');
      const r = await modelkitList(where);
      if (o.json) return out.json(r);
      if (!r.modelkits.length) return out.line(`no ModelKits in ${r.location}`);
      out.line(
        table([['DIGEST', 'SIZE', 'CREATED', 'COMMIT', 'TAGS'], ...r.modelkits.map((m) => [short(m.digest), bytes(m.size), m.created ?? '-', m.revision?.slice(0, 12) ?? '-', m.tags.join(', ')])]),
      );
    });
  mk.command('unpack')
    .description('extract a ModelKit into a directory without Git, as kit unpack does (ModelKits made by kit too)')
    .argument('<ref>', 'a revision, remote:tag, oci:<path>[:tag] or host/repo:tag')
    .option('-d, --dir <dir>', 'target directory', '.')
    .option('-f, --filter <filter...>', "what to unpack: types[:names], types from kitfile, model, datasets, code, docs (e.g. 'model', 'datasets:train')")
    .option('-o, --overwrite', 'overwrite existing files')
    .option('-i, --ignore-existing', 'keep existing files')
    .option('--include-remote', 'also unpack datasets that name another ModelKit (remotePath), as kit does')
    .option('--signature <file>', "write the ModelKit's OpenSSF model signature to <file>, for 'model_signing verify key'")
    .option('--json', 'print the result as JSON')
    .option('--strict-access', 'a remote dataset you may not read (withheld) is an error, not a warning (also MK_STRICT_ACCESS=1, access.strict)')
    .action(
      async (
        ref: string,
        o: { dir: string; filter?: string[]; overwrite?: boolean; ignoreExisting?: boolean; includeRemote?: boolean; signature?: string; json?: boolean; strictAccess?: boolean },
      ) => {
        const { modelkitUnpack } = await import('../api/modelkit.js');
        const r = await modelkitUnpack(ref, { dir: o.dir, filters: o.filter, overwrite: o.overwrite, ignoreExisting: o.ignoreExisting, includeRemote: o.includeRemote, signature: o.signature });
        for (const w of r.warnings) out.err(`warning: ${w}`);
        if (o.json) out.json(r);
        else {
          const refs = r.referenced ? ` (with ${r.referenced} referenced ModelKit(s))` : '';
          out.line(`unpacked ${r.layers} layer(s), ${r.files} file(s) of ${short(r.digest)}${refs} into ${r.dir}`);
        }
        if (r.withheld.length) {
          const { withheldNotice } = await import('../api/access.js');
          const line = withheldNotice(r.withheld, { strict: o.strictAccess });
          if (line) out.err(`mk: ${line}`);
        }
      },
    );
  mk.command('copy')
    .description('copy a ModelKit with its referrers (mk directory manifests, signatures) to another store: a mirror, as oras copy -r makes')
    .argument('<src>', 'a revision, remote:tag, oci:<path>[:tag] or host/repo:tag')
    .argument('<dst>', "remote:tag, oci:<path>[:tag] or host/repo[:tag] (the tag defaults to the source's)")
    .option('-j, --jobs <n>', 'transfers at once (default 6)')
    .option('--json', 'print the result as JSON')
    .action(async (src: string, dst: string, o: { jobs?: string; json?: boolean }) => {
      const { modelkitCopy } = await import('../api/modelkit.js');
      const jobs = o.jobs === undefined ? 6 : Number(o.jobs);
      if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be a positive whole number, not '${o.jobs}'`);
      const r = await modelkitCopy(src, dst, { concurrency: jobs });
      if (o.json) return out.json(r);
      const mounted = r.mounted ? `, ${r.mounted} mounted` : '';
      const from = r.referrersFrom ? ` from '${r.referrersFrom}'` : '';
      out.line(`copied ${short(r.digest)} to ${r.destination}:${r.tag} (${r.copied} blob(s), ${bytes(r.bytes)}${mounted}; ${r.referrers} referrer(s)${from})`);
    });
  program
    .command('verify')
    .description("rebuild a commit's ModelKit and compare it, digest by digest, with what the remote holds (exit 1: mismatch; 3: not published)")
    .argument('<ref>', 'a revision, or a ModelKit reference whose revision annotation names a commit here')
    .option('-r, --remote <name>', 'the remote to check (default: the default remote)')
    .option('--key <pub>', "check the ModelKit's signatures against this public key instead (see 'mk sign')")
    .option('--json', 'print the result as JSON')
    .option('--strict-access', 'a routed ModelKit you may not read (withheld) is an error, not a warning (also MK_STRICT_ACCESS=1, access.strict)')
    .action(async (ref: string, o: { remote?: string; key?: string; json?: boolean; strictAccess?: boolean }) => {
      if (o.key) return (await import('./commands-sign.js')).verifySignaturesCommand(ref, { ...o, key: o.key });
      const { verify } = await import('../api/modelkit.js');
      const r = await verify(ref, { remote: o.remote });
      // Not published is not a mismatch: nothing is wrong with the remote, the commit was never pushed there.
      const status = r.ok ? 'ok' : r.actual === undefined ? 'not-published' : 'mismatch';
      if (o.json) out.json({ ...r, status });
      else {
        out.line(`commit   ${r.commit}`);
        out.line(`rebuilt  ${r.expected}`);
        out.line(`remote   ${r.actual ?? '(not published)'}`);
        if (status !== 'not-published') {
          const bad = r.blobs.filter((b) => !b.ok);
          out.line(`blobs    ${r.blobs.length - bad.length}/${r.blobs.length} verified`);
          for (const b of bad) out.line(`  BAD ${b.digest}: ${b.problem}`);
        }
        for (const x of r.routed)
          out.line(
            `${x.ok ? 'routed ' : 'BAD    '} ${x.path}: ${x.ok ? `${x.actual} in ${x.reference} (${x.expected ? 'rebuilt, ' : ''}${x.blobs} blob(s) verified)` : `${x.reference}: ${x.problem}`}`,
          );
        out.line(status === 'ok' ? "OK: the remote holds exactly this commit's ModelKit" : status === 'mismatch' ? 'MISMATCH' : 'NOT PUBLISHED: the remote holds no ModelKit for this commit');
        if (status === 'not-published') out.err(`hint: publish it with 'mk push${o.remote ? ` -r ${o.remote}` : ''}${/^HEAD$/.test(ref) ? '' : ` ${ref}`}'`);
      }
      if (status === 'mismatch') process.exitCode = 1;
      if (status === 'not-published') process.exitCode = 3;
      if (r.withheld.length) {
        const { withheldNotice } = await import('../api/access.js');
        const line = withheldNotice(r.withheld, { strict: o.strictAccess });
        if (line) out.err(`mk: ${line}`);
      }
    });
}
