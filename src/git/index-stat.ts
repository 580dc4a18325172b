import { lstatSync, renameSync, type BigIntStats } from 'node:fs';
import { entryStat, indexLocation, isRacyEntry, patchIndexStat, readIndexFile, sameStatData, statData, waitPastSecond, type StatPatch } from './index-file.js';
import { git } from './run.js';
import { StatCache } from '../hashing/stat-cache.js';
import { parsePointer } from '../formats/pointer.js';
import { abs } from '../repo/paths.js';

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
    // git takes an entry as racy by its mtime alone (read-cache.c, is_racy_stat).
    const racy = sd.mtimeSec >= Math.floor(Date.now() / 1000);
    if (racy && Number(e.st.size) < WAIT_FOR_BYTES) continue;
    newest = Math.max(newest, sd.mtimeSec);
    patches.push({ path: e.path, oid: e.oid, stat: sd });
  }
  if (!patches.length) return [];
  if (!(await waitPastSecond(newest))) return [];
  const where = await indexLocation(root);
  return patchIndexStat(where.path, where.hashLen, patches);
}

/**
 * A rename of a file kept through mk's filter (`mk mv`), done the way `git mv` does it but
 * without git reading the file: `git mv` re-checks a large file through the clean filter (its
 * whole content through a pipe), and the rename changes its ctime, so git would do so again at
 * the next command. Taken before the move: the entry must be clean in git's eyes (stat data
 * identical to the file's, to the nanosecond, and not racy), else undefined and the caller
 * uses `git mv`. `move(to)` renames the file, moves the index entry (same mode and pointer)
 * in one `update-index`, checks that the file is the same inode with the same size and mtime
 * (a rename does not touch the bytes), and records its new stat data in the index and in mk's
 * stat cache.
 */
export async function prepareRename(root: string, stateDir: string, from: string): Promise<{ move(to: string): Promise<void> } | undefined> {
  const where = await indexLocation(root);
  const idx = readIndexFile(where.path, where.hashLen);
  const e = idx?.entries.find((x) => x.path === from && x.stage === 0);
  if (!idx || !e || e.size < WAIT_FOR_BYTES || idx.entries.some((x) => x.path === from && x.stage !== 0)) return undefined;
  let before: BigIntStats;
  try {
    before = lstatSync(abs(root, from), { bigint: true });
  } catch {
    return undefined;
  }
  if (!before.isFile() || !sameStatData(entryStat(idx, e), statData(before))) return undefined;
  let digest: string;
  try {
    digest = parsePointer(await git(root, ['cat-file', 'blob', e.oid]), from).digest;
  } catch {
    return undefined;
  }
  // A racy entry (written in the second the index was): git's stat data cannot vouch for it,
  // but mk's stat cache can, when the clean filter hashed these very bytes (its own racy rule).
  if (isRacyEntry(idx, e) && new StatCache(stateDir).lookup(from, lstatSync(abs(root, from))) !== digest) return undefined;
  return {
    async move(to: string): Promise<void> {
      renameSync(abs(root, from), abs(root, to));
      const mode = (e.mode & 0o777777).toString(8);
      await git(root, ['update-index', '-z', '--index-info'], { input: `0 ${'0'.repeat(e.oid.length)}\t${from}\0${mode} ${e.oid}\t${to}\0` });
      const after = lstatSync(abs(root, to), { bigint: true });
      if (!after.isFile() || after.ino !== before.ino || after.size !== before.size || after.mtimeNs !== before.mtimeNs) return;
      const stat = new StatCache(stateDir);
      stat.record(to, lstatSync(abs(root, to)), digest);
      stat.forget(from);
      stat.save();
      const sd = statData(after);
      if (await waitPastSecond(sd.mtimeSec)) patchIndexStat(where.path, where.hashLen, [{ path: to, oid: e.oid, stat: sd }]);
    },
  };
}
