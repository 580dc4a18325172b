import { memoByIndex } from './index-identity.js';
import { git } from './run.js';

/** One staged change against HEAD: its status letter (A, M, D, T, U...) and path. */
export interface StagedChange {
  status: string;
  path: string;
}

/**
 * What is staged against HEAD: one `git diff --cached --name-status -z --no-renames`, read
 * once per state of the index (memoByIndex: anything the caller stages since is read again),
 * filtered in process by whoever asks (added, added or modified, deleted...). For the
 * pre-commit hook, during which HEAD does not move: the memo is keyed on the index only.
 */
export function stagedChanges(root: string): Promise<StagedChange[]> {
  return memoByIndex(root, 'staged-changes', async () => {
    const f = (await git(root, ['diff', '--cached', '--name-status', '-z', '--no-renames'])).split('\0');
    const out: StagedChange[] = [];
    for (let i = 0; i + 1 < f.length; i += 2) if (f[i]) out.push({ status: f[i]!.charAt(0), path: f[i + 1]! });
    return out;
  });
}

/** The staged paths whose status is one of `statuses` (as `--diff-filter=<statuses>` selects them). */
export async function stagedPaths(root: string, statuses: string): Promise<string[]> {
  return (await stagedChanges(root)).filter((c) => statuses.includes(c.status)).map((c) => c.path);
}
