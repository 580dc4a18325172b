import { RepoContext } from '../repo/context.js';
import { checkout as place, type CheckoutOptions, type CheckoutResult } from '../worktree/checkout.js';

export type { CheckoutOptions, CheckoutResult, CheckoutArtifact } from '../worktree/checkout.js';

/**
 * `mk checkout [<rev>] [-- paths]`: brings the work tree's data in line with its pointers (or
 * those of `rev`, as `git checkout <rev> -- paths`). With `verify_signatures` set, the
 * revision's ModelKit must be signed first. The placement is the work-tree engine's.
 */
export async function checkout(opts: CheckoutOptions = {}): Promise<CheckoutResult> {
  const ctx = RepoContext.open(opts.cwd);
  if (!opts.pointers && ctx.config.verifySignaturesKey) await (await import('../signing/gate.js')).requireSignedRevision({ cwd: opts.cwd, rev: opts.rev }); // config verify_signatures
  return place(opts);
}
