import { push, type TransferResult } from '../transfer.js';
import { MkError } from '../../errors/index.js';
import { git } from '../../git/run.js';
import type { RepoContext } from '../../repo/context.js';

export interface PushLine {
  localRef: string;
  localSha: string;
  remoteRef: string;
  remoteSha: string;
}

export function parsePushLines(stdin: string): PushLine[] {
  return stdin
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p.length === 4)
    .map(([localRef, localSha, remoteRef, remoteSha]) => ({ localRef: localRef!, localSha: localSha!, remoteRef: remoteRef!, remoteSha: remoteSha! }));
}

/**
 * The pre-push hook: for each pushed ref, upload the data of every commit the remote does
 * not have yet, then publish the ModelKit of the pushed commit. Any failure refuses the push
 * (no pointer becomes public without its bytes). Ref deletions are skipped.
 * MK_PUBLISH=0 skips the ModelKits (data is still uploaded); git push --no-verify skips mk.
 */
export async function prePush(ctx: RepoContext, gitRemote: string, stdin: string): Promise<Array<TransferResult & { ref: string }>> {
  const lines = parsePushLines(stdin).filter((l) => !/^0+$/.test(l.localSha));
  const out: Array<TransferResult & { ref: string }> = [];
  if (lines.length === 0) return out;
  const publish = process.env.MK_PUBLISH === '0' ? false : undefined;
  for (const l of lines) {
    const commit = (await git(ctx.root, ['rev-parse', '--verify', '--quiet', `${l.localSha}^{commit}`], { okCodes: [1] })).trim();
    if (!commit) continue; // a pushed tag that is not a commit, etc.
    // Commits the git remote does not have yet: their data must be on the mk remote.
    const args = ['rev-list', commit, '--not', `--remotes=${gitRemote}`];
    if (
      !/^0+$/.test(l.remoteSha) &&
      (await git(ctx.root, ['cat-file', '-e', `${l.remoteSha}^{commit}`], { okCodes: [1, 128] }).then(
        () => true,
        () => false,
      ))
    )
      args.push(l.remoteSha);
    const fresh = (await git(ctx.root, args)).split('\n').filter(Boolean);
    const revs = fresh.length ? fresh : [commit];
    const name = l.remoteRef.replace(/^refs\/(heads|tags)\//, '');
    if (ctx.config.remotes.length === 0) {
      const { collectArtifacts } = await import('../transfer.js');
      const arts = await collectArtifacts(ctx, revs, undefined, ctx.root);
      if (arts.length === 0) continue;
      throw new MkError('ENOREMOTE', `refusing to push ${name}: its commits track data and no mk remote is configured`, {
        hint: "add one with 'mk remote add origin <oci://host/repo | path>', or push with --no-verify to skip mk (the data will not be pushed)",
      });
    }
    const r = await push({ cwd: ctx.root, revs, modelkitRevs: [commit], extraTags: [name], modelkits: publish });
    out.push({ ...r, ref: l.remoteRef });
  }
  return out;
}
