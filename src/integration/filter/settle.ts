import { lstatSync } from 'node:fs';
import { entryStat, indexLocation, isRacyEntry, patchIndexStat, readIndexFile, sameStatData, statData, waitPastSecond, type StatPatch } from '../../git/index-file.js';
import { filteredIndexPointers } from '../../git/pointers.js';
import { StatCache } from '../../hashing/stat-cache.js';
import { abs } from '../../repo/paths.js';
import { WAIT_FOR_BYTES } from '../../git/index-stat.js';

/**
 * After git wrote files through mk's smudge filter (checkout, clone, merge, reset, ...).
 *
 * Git records a file's stat data right after writing it and writes the index moments later,
 * usually within the same second: git (comparing whole seconds) then takes the entry as
 * "racy" and, at the next command that looks at it, sends the whole file through the clean
 * filter again (for a 2 GiB model: 2 GiB through a pipe, hashed, stored again). For a large
 * file that mk delivered, whose stat data is still exactly (to the nanosecond) what git
 * recorded and whose size is its pointer's, mk knows the bytes: it notes the digest in its
 * stat cache and, once the second has turned, writes the index again with the same stat data
 * (smudging every other racy entry as git would, see patchIndexStat), so the entry is clean.
 * Best effort: any doubt leaves the entry to git, which then reads the file as before.
 */
export async function settleSmudgedFiles(root: string, stateDir: string): Promise<string[]> {
  const where = await indexLocation(root);
  const idx = readIndexFile(where.path, where.hashLen);
  if (!idx) return [];
  const cands = idx.entries.filter((e) => e.stage === 0 && (e.mode & 0o170000) === 0o100000 && e.size >= WAIT_FOR_BYTES && isRacyEntry(idx, e));
  if (!cands.length) return [];
  // The pointers Git holds for them, read as every mk command reads filtered files.
  const held = await filteredIndexPointers(
    root,
    cands.map((e) => e.path),
  );
  const pointers = new Map(held.map((t) => [t.path, t.pointer]));
  const stat = new StatCache(stateDir);
  const patches: StatPatch[] = [];
  let newest = 0;
  for (const e of cands) {
    const p = pointers.get(e.path);
    if (!p) continue;
    try {
      const file = lstatSync(abs(root, e.path), { bigint: true });
      const recorded = entryStat(idx, e);
      if (!file.isFile() || Number(file.size) !== p.size || !sameStatData(recorded, statData(file))) continue;
      stat.record(e.path, lstatSync(abs(root, e.path)), p.digest);
      newest = Math.max(newest, recorded.mtimeSec); // git judges racy entries by mtime alone
      patches.push({ path: e.path, oid: e.oid, stat: recorded });
    } catch {
      continue; // vanished: git's business
    }
  }
  stat.save();
  if (!patches.length || !(await waitPastSecond(newest))) return [];
  return patchIndexStat(where.path, where.hashLen, patches);
}
