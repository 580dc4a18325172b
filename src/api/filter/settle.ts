import { lstatSync } from 'node:fs';
import { entryStat, indexLocation, isRacyEntry, patchIndexStat, readIndexFile, sameStatData, statData, waitPastSecond, type StatPatch } from '../../git/index-file.js';
import { git } from '../../git/run.js';
import { StatCache } from '../../hashing/stat-cache.js';
import { looksLikePointer, MAX_POINTER_BYTES, parsePointer } from '../../pointer/pointer.js';
import { abs, checkStoredPath } from '../../repo/paths.js';
import { WAIT_FOR_BYTES } from './index-stat.js';

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
  const attrs = (await git(root, ['check-attr', '-z', 'filter', '--', ...cands.map((e) => e.path)])).split('\0');
  const viaMk = new Set<string>();
  for (let i = 0; i + 2 < attrs.length; i += 3) if (attrs[i + 2] === 'mk') viaMk.add(attrs[i]!);
  const ours = cands.filter((e) => viaMk.has(e.path));
  if (!ours.length) return [];
  const batch = Buffer.from(await git(root, ['cat-file', '--batch'], { input: ours.map((e) => e.oid).join('\n') + '\n' }), 'utf8');
  const stat = new StatCache(stateDir);
  const patches: StatPatch[] = [];
  let newest = 0;
  let at = 0;
  for (const e of ours) {
    const nl = batch.indexOf(10, at);
    const head = batch.subarray(at, nl).toString('utf8').split(' ');
    const size = Number(head[2]);
    if (head[1] !== 'blob' || !(size >= 0)) return []; // not what was asked for: leave it all to git
    const body = batch.subarray(nl + 1, nl + 1 + size).toString('utf8');
    at = nl + 1 + size + 1;
    if (size > MAX_POINTER_BYTES || !looksLikePointer(body)) continue;
    try {
      checkStoredPath(e.path);
      const p = parsePointer(body, e.path);
      const file = lstatSync(abs(root, e.path), { bigint: true });
      const recorded = entryStat(idx, e);
      if (p.type !== 'file' || !file.isFile() || Number(file.size) !== p.size || !sameStatData(recorded, statData(file))) continue;
      stat.record(e.path, lstatSync(abs(root, e.path)), p.digest);
      newest = Math.max(newest, recorded.mtimeSec); // git judges racy entries by mtime alone
      patches.push({ path: e.path, oid: e.oid, stat: recorded });
    } catch {
      continue; // a bad pointer or a vanished file: git's business
    }
  }
  stat.save();
  if (!patches.length || !(await waitPastSecond(newest))) return [];
  return patchIndexStat(where.path, where.hashLen, patches);
}
