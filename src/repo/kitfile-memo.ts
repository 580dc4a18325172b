import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KITFILE_NAMES } from '../formats/kitfile-names.js';
import type { SyncArtifact } from '../formats/kitfile-sync.js';
import { writeFileAtomicSync } from '../util/fs.js';

/** In the state directory: the digest of the last (Kitfile text, artifacts) found already in sync. */
export const KITFILE_SYNCED = 'kitfile-synced';
/** Bumped when the rules of syncKitfile change: what an older mk found in sync is checked again. */
const SYNC_RULES = 1;

function digestOf(name: string, text: string, artifacts: SyncArtifact[], untracked: string[]): string {
  return createHash('sha256')
    .update(JSON.stringify([SYNC_RULES, name, text, artifacts.map((a) => [a.path, a.kind, a.description ?? null]), untracked]))
    .digest('hex');
}

/**
 * syncProjectKitfile (src/repo/kitfile-file.ts), without parsing the Kitfile when the same
 * Kitfile text was found in sync with the same artifacts before: the pre-commit hook of a
 * repository with filtered files syncs its Kitfile on every commit, and loading and running the
 * YAML parser is most of what that costs (~60 ms of CPU). Anything that differs (the Kitfile's
 * bytes, an artifact, its kind or description, a file gone) parses as before.
 */
export async function syncProjectKitfileKnown(root: string, stateDir: string, artifacts: SyncArtifact[], untracked: string[] = []): Promise<string | undefined> {
  const name = KITFILE_NAMES.find((n) => existsSync(join(root, n)));
  if (!name) return undefined;
  let text: string;
  try {
    text = readFileSync(join(root, name), 'utf8');
  } catch {
    return (await import('./kitfile-file.js')).syncProjectKitfile(root, artifacts, untracked); // says what is wrong
  }
  const memo = join(stateDir, KITFILE_SYNCED);
  const digest = digestOf(name, text, artifacts, untracked);
  try {
    if (readFileSync(memo, 'utf8') === digest) return undefined;
  } catch {
    /* not known yet */
  }
  const { syncProjectKitfile } = await import('./kitfile-file.js');
  const changed = await syncProjectKitfile(root, artifacts, untracked);
  try {
    if (changed === undefined) {
      mkdirSync(stateDir, { recursive: true });
      writeFileAtomicSync(memo, digest);
    } else rmSync(memo, { force: true });
  } catch {
    /* best effort: the next run parses again */
  }
  return changed;
}
