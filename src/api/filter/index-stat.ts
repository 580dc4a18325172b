import { lstatSync, type BigIntStats } from 'node:fs';
import { indexLocation, patchIndexStat, sameStatData, statData, waitPastSecond, type StatPatch } from '../../git/index-file.js';
import { abs } from '../../repo/paths.js';

/** Below this size git re-reading a racy file through the filter costs less than waiting out the second. */
export const WAIT_FOR_BYTES = 32 << 20;

/**
 * Records in git's index the stat data of files whose bytes mk hashed itself and whose pointer
 * is staged (`oid`), so git takes them as clean without sending them through the filter. `st`
 * is the file's stat data from before mk read it: a file that changed since is left to git. A
 * file written within the current second would be racy for git (which compares whole seconds);
 * for a large one mk waits for the next second, a small one is left to git. Best effort: when
 * git holds the index lock, nothing is recorded and git simply reads the files again.
 */
export async function recordIndexStat(root: string, entries: Array<{ path: string; oid: string; st: BigIntStats }>): Promise<string[]> {
  const patches: StatPatch[] = [];
  let newest = 0;
  for (const e of entries) {
    let now: BigIntStats;
    try {
      now = lstatSync(abs(root, e.path), { bigint: true });
    } catch {
      continue;
    }
    const sd = statData(e.st);
    if (!now.isFile() || !sameStatData(sd, statData(now))) continue;
    const racy = sd.mtimeSec >= Math.floor(Date.now() / 1000) || sd.ctimeSec >= Math.floor(Date.now() / 1000);
    if (racy && Number(e.st.size) < WAIT_FOR_BYTES) continue;
    newest = Math.max(newest, sd.mtimeSec, sd.ctimeSec);
    patches.push({ path: e.path, oid: e.oid, stat: sd });
  }
  if (!patches.length) return [];
  if (!(await waitPastSecond(newest))) return [];
  const where = await indexLocation(root);
  return patchIndexStat(where.path, where.hashLen, patches);
}
