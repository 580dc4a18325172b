import { readFileSync } from 'node:fs';
import { push, type Announcement, type HeldTag, type PublishedRoutedModelKit, type TransferResult, type Withheld } from '../../api/transfer.js';
import { MkError } from '../../errors/index.js';
import { git, hasCommit, isAncestor } from '../../git/run.js';
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

export type PrePushResult = TransferResult & {
  ref: string;
  modelkits: Array<{ commit: string; digest: string; tags: string[]; signatures?: string[]; warnings?: string[] }>;
  routed: PublishedRoutedModelKit[];
  held: HeldTag[];
  announced: Announcement[];
  withheld: Withheld[];
  warnings: string[];
};

const ZERO = /^0+$/;

/**
 * The pre-push hook: for each pushed ref that git will accept, upload the data of every
 * commit the remote does not have yet, then publish the ModelKit of each of those commits,
 * tagged with its commit id; the pushed commit is also tagged with the remote ref's name
 * (`refs/heads/main` → `main`, `refs/tags/v1` → `v1`), moved only forward (see below).
 * Any failure refuses the push (no pointer becomes public without its bytes).
 *
 * Refs git itself will reject are left to git, so its own message and hint are what the
 * user sees: without a force, git rejects an update of a remote ref whose current commit
 * we do not have ("fetch first"), or that our commit does not descend from
 * ("non-fast-forward"; git 2.39 does not even hand these to the hook), or of an existing
 * Git tag ("already exists"). A force is seen on the `git push` command line (Linux: /proc):
 * `-f`/`--force`, `--force-with-lease`, `--mirror`, or a `+` refspec naming that ref.
 *
 * A branch tag that names a commit the pushed one does not descend from (or one this clone
 * lacks) stays where it is unless the push is forced: `held` says which, and the push goes on
 * (git accepted the ref; the data is uploaded and the commit-id tags are set).
 * Ref deletions are skipped, and so is everything in a dry run (`git push -n`), which runs
 * this hook too. MK_PUBLISH=0 skips the ModelKits; git push --no-verify skips mk.
 */
export async function prePush(ctx: RepoContext, gitRemote: string, stdin: string, argv: string[] | undefined = pushArgs()): Promise<PrePushResult[]> {
  const lines = parsePushLines(stdin).filter((l) => !ZERO.test(l.localSha));
  const out: PrePushResult[] = [];
  if (lines.length === 0 || (argv && isDryRun(argv))) return out;
  const publish = process.env.MK_PUBLISH === '0' ? false : undefined;
  // Without refspecs on the command line git pushes remote.<name>.push, whose '+' forces too.
  const configured = argv
    ? await git(ctx.root, ['config', '--get-all', `remote.${gitRemote}.push`]).then(
        (o) => o.split('\n').filter(Boolean),
        () => [],
      )
    : [];
  for (const l of lines) {
    const commit = (await git(ctx.root, ['rev-parse', '--verify', '--quiet', `${l.localSha}^{commit}`], { okCodes: [1] })).trim();
    if (!commit) continue; // a pushed tag that is not a commit, etc.
    // Unknown (undefined) when the command line could not be read (no /proc, a git alias, a
    // hook manager further up): then the ref may be forced, and its data goes up as if it were
    // (no pointer may go public without its bytes); a branch tag still only moves forward.
    const forced = argv ? forcedRef(argv, l, configured) : undefined;
    const updating = !ZERO.test(l.remoteSha);
    const have = updating && (await hasCommit(ctx.root, l.remoteSha));
    if (updating && forced === false) {
      if (l.remoteRef.startsWith('refs/tags/')) continue; // git: "already exists"
      if (!have) continue; // git: "fetch first"
      if (!(await isAncestor(ctx.root, l.remoteSha, commit))) continue; // git: "non-fast-forward"
    }
    // Commits the git remote does not have yet: their data must be on the mk remote, and each gets its ModelKit.
    const args = ['rev-list', '--reverse', commit, '--not', `--remotes=${gitRemote}`];
    if (have) args.push(l.remoteSha);
    const fresh = (await git(ctx.root, args)).split('\n').filter(Boolean);
    const revs = fresh.includes(commit) ? fresh : [...fresh, commit];
    const m = /^refs\/(heads|tags)\/(.+)$/.exec(l.remoteRef);
    const name = m?.[2];
    if (ctx.config.remotes.length === 0) {
      const { collectArtifacts } = await import('../../api/transfer.js');
      const arts = await collectArtifacts(ctx, revs, undefined, ctx.root);
      if (arts.length === 0) continue;
      throw new MkError('ENOREMOTE', `refusing to push ${name ?? l.remoteRef}: its commits track data and no mk remote is configured`, {
        hint: "add one with 'mk remote add origin <oci://host/repo | path>', or push with --no-verify to skip mk (the data will not be pushed)",
      });
    }
    const r = await push({
      cwd: ctx.root,
      revs,
      modelkitRevs: revs,
      refTags: name ? [{ rev: commit, name }] : [],
      force: forced === true,
      modelkits: publish,
      announce: { ref: l.remoteRef, ...(have ? { base: l.remoteSha } : {}) },
    });
    out.push({ ...r, ref: l.remoteRef });
  }
  return out;
}

/**
 * The arguments of the `git push` running this hook, after `push` (Linux: /proc; undefined
 * when not found). Looks a few processes up: a hook manager may stand between git and mk.
 */
export function pushArgs(): string[] | undefined {
  let pid = process.ppid;
  for (let i = 0; i < 5 && pid > 1; i++) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const at = argv.indexOf('push');
      if (/(^|\/)git$/.test(argv[0] ?? '') && at > 0) return argv.slice(at + 1).filter((a) => a !== '');
      // The 4th field of /proc/<pid>/stat (after the parenthesised command name) is the parent's pid.
      pid = Number(/\)\s+\S+\s+(\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? 0);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Options of `git push` that take the next argument as their value. */
const WITH_VALUE = new Set(['-o', '--push-option', '--receive-pack', '--exec', '--repo']);

/**
 * Whether `git push <argv>` forces the update of this ref: `-f`/`--force` (alone or in a
 * group of short options), `--force-with-lease` (git checks the lease itself and rejects a
 * stale one before the hook), `--mirror`, or a `+` refspec whose source is the pushed local
 * ref or whose destination is the remote ref (`+main`, `+HEAD:main`, `+refs/heads/*:refs/heads/*`).
 * `configured`: the remote's `remote.<name>.push` refspecs, which git uses when the command
 * line names none.
 */
export function forcedRef(argv: string[], l: Pick<PushLine, 'localRef' | 'remoteRef'>, configured: string[] = []): boolean {
  const { force, positional } = parsePushArgs(argv);
  if (force) return true;
  for (const spec of positional.length > 1 ? positional.slice(1) : configured) {
    if (!spec.startsWith('+')) continue;
    const [src, dst] = spec.slice(1).split(':', 2) as [string, string | undefined];
    if (refMatches(dst ?? src, l.remoteRef) || (dst === undefined && refMatches(src, l.localRef)) || (src === 'HEAD' && l.localRef === 'HEAD')) return true;
  }
  return false;
}

/** Whether `git push <argv>` is a dry run (`-n`, `--dry-run`): git runs pre-push for it too, and nothing may be published. */
export function isDryRun(argv: string[]): boolean {
  return parsePushArgs(argv).dryRun;
}

function parsePushArgs(argv: string[]): { force: boolean; dryRun: boolean; positional: string[] } {
  const out = { force: false, dryRun: false, positional: [] as string[] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.positional.push(...argv.slice(i + 1));
      break;
    }
    if (a === '--force' || a === '--mirror' || a === '--force-with-lease' || a.startsWith('--force-with-lease=')) out.force = true;
    else if (a === '--dry-run') out.dryRun = true;
    else if (WITH_VALUE.has(a)) i++;
    else if (/^-[A-Za-z0-9]+$/.test(a)) {
      const letters = a.slice(1);
      const o = letters.indexOf('o'); // -o takes the rest as its value
      const flags = o < 0 ? letters : letters.slice(0, o);
      if (flags.includes('f')) out.force = true;
      if (flags.includes('n')) out.dryRun = true;
    } else if (!a.startsWith('-')) out.positional.push(a);
  }
  return out;
}

/** Whether a refspec side (`main`, `refs/heads/main`, `refs/heads/*`) names `ref`. */
function refMatches(side: string, ref: string): boolean {
  if (!side) return false;
  const candidates = side.startsWith('refs/') ? [side] : [side, `refs/heads/${side}`, `refs/tags/${side}`];
  return candidates.some((c) => (c.includes('*') ? new RegExp(`^${c.split('*').map(escape).join('.*')}$`).test(ref) : c === ref));
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
