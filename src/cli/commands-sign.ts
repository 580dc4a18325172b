import type { Command } from 'commander';
import { short } from './format.js';
import { out } from './output.js';

export function registerSign(program: Command): void {
  program
    .command('keygen')
    .description('create a signing key pair: <prefix>.key (ECDSA P-256, PEM, owner-only) and <prefix>.pub; the private key is never printed')
    .option('--out <prefix>', 'where to write the pair', 'mk')
    .option('--json', 'print the result as JSON')
    .action(async (o: { out: string; json?: boolean }) => {
      const { keygen } = await import('../api/keygen.js');
      const r = keygen({ out: o.out });
      if (o.json) return out.json(r);
      out.line(`private key: ${r.key} (keep it secret; never commit it)`);
      out.line(`public key:  ${r.pub} (give it to whoever verifies)`);
      out.line('sign with it: set signing.key in .git/mk/config.yaml, or MK_SIGNING_KEY');
      if (r.workTree) out.err(`warning: ${r.key} is inside the Git work tree ${r.workTree}: keep it out of Git (list it in .gitignore, or move it)`);
    });
  program
    .command('sign')
    .description('sign a published ModelKit: manifest signature (cosign v3 form), OpenSSF model signature of its files, SLSA provenance; each an OCI referrer')
    .argument('<ref>', 'a revision (its ModelKit on the remote), remote:tag, oci:<path>:tag or host/repo:tag')
    .option('-r, --remote <name>', 'for a revision: the remote that holds its ModelKit (default: the default remote)')
    .option('--key <file>', 'the private key (default: signing.key in the config, or MK_SIGNING_KEY)')
    .option('--force', 'sign again even if this key signed it already')
    .option('--json', 'print the result as JSON')
    .action(async (ref: string, o: { remote?: string; key?: string; force?: boolean; json?: boolean }) => {
      const { sign } = await import('../api/sign.js');
      const r = await sign(ref, { remote: o.remote, key: o.key, force: o.force });
      if (o.json) return out.json(r);
      for (const w of r.warnings) out.err(`warning: ${w}`);
      if (!r.referrers.length) return out.line(`${short(r.digest)} (${r.commit.slice(0, 12)}) is signed by this key already (--force signs again)`);
      out.line(`signed ${short(r.digest)} (commit ${r.commit.slice(0, 12)}): ${r.referrers.map((x) => `${x.kind} ${short(x.digest)}`).join(', ')}; ${r.files} file(s)`);
    });
}

/** `mk verify --key`: what each signature covers, and whether it holds. */
export async function verifySignaturesCommand(ref: string, o: { remote?: string; key: string; json?: boolean }): Promise<void> {
  const { verifySignatures } = await import('../api/sign.js');
  const r = await verifySignatures(ref, { remote: o.remote, key: o.key });
  if (o.json) out.json(r);
  else {
    out.line(`modelkit    ${r.digest}${r.commit ? ` (commit ${r.commit})` : ''}`);
    for (const c of r.checks) {
      out.line(`${c.ok ? 'OK ' : 'BAD'} ${c.kind.padEnd(10)} ${c.ok ? c.covers : c.problem}`);
      // Referrers anyone with push access may attach: shown, never counted against a good one.
      if (c.ok) for (const x of c.rejected) out.line(`    ignored ${x}`);
    }
    if (r.layers) {
      out.line(`${r.layers.bad.length ? 'BAD' : 'OK '} ${'layers'.padEnd(10)} ${r.layers.checked - r.layers.bad.length}/${r.layers.checked} blob(s) match their digests`);
      for (const b of r.layers.bad) out.line(`    ${b.digest}: ${b.problem}`);
    }
    if (r.lineage?.length) {
      out.line(`lineage     ${r.lineage.length} pipeline stage(s) made this commit's data (from its provenance):`);
      for (const s of r.lineage) {
        out.line(`    ${s.stage}: ${Array.isArray(s.cmd) ? s.cmd.join(' && ') : s.cmd}`);
        for (const d of s.deps) out.line(`        <- ${d.path}  ${digestText(d.digest)}`);
        for (const d of s.outs) out.line(`        -> ${d.path}  ${digestText(d.digest)}`);
      }
    }
    out.line(r.ok ? `OK: signed by ${o.key}` : `REFUSED: not validly signed by ${o.key}`);
  }
  if (!r.ok) process.exitCode = 1;
}

/** A path's digests in one short text: sha256 first, else DVC's md5, else Git's id. */
function digestText(d: Record<string, string>): string {
  if (d.sha256) return `sha256:${d.sha256.slice(0, 12)}`;
  if (d.md5) return `md5:${d.md5.slice(0, 12)}`;
  const git = d.gitBlob ?? d.gitTree;
  return git ? `git:${git.slice(0, 12)}` : '';
}
