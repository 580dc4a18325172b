import { enforceAccess, withheldLine, type Withheld } from '../remote/access.js';
import { RepoContext } from '../repo/context.js';

export { withheldLine, type Withheld };

/**
 * What a command tells about data routed to remotes this user may not read (remotes by path):
 * the one line to print (undefined when nothing was withheld); raises it as an error instead
 * when access is strict (`strict`, else MK_STRICT_ACCESS, else `access.strict` in the config).
 */
export function withheldNotice(withheld: Withheld[] | undefined, opts: { cwd?: string; strict?: boolean } = {}): string | undefined {
  if (!withheld?.length) return undefined;
  let ctx: RepoContext | undefined;
  try {
    ctx = RepoContext.open(opts.cwd);
  } catch {
    ctx = undefined;
  }
  enforceAccess(ctx, withheld, opts.strict);
  return withheldLine(withheld);
}
