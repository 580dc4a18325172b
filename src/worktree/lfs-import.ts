import { statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { MediaType } from '../content/media-types.js';
import type { CacheStore } from '../content/storage.js';
import { MkError } from '../errors/index.js';
import { git } from '../git/run.js';

/**
 * Git LFS's local objects, taken into mk's cache for `mk migrate --from-lfs`. An LFS oid is the
 * sha256 of the bytes, which is how mk names them too: each object is read once, hashed on the
 * way into the cache and checked against its oid; one the cache already holds is not read.
 */

/** Git LFS's storage folder: `lfs.storage` (relative to the Git directory), else `<git dir>/lfs`. */
export async function lfsStorage(root: string, commonDir: string): Promise<string> {
  const s = (await git(root, ['config', '--get', 'lfs.storage'], { okCodes: [1] })).trim();
  if (!s) return join(commonDir, 'lfs');
  return isAbsolute(s) ? s : join(commonDir, s);
}

export function lfsObjectPath(storage: string, oid: string): string {
  return join(storage, 'objects', oid.slice(0, 2), oid.slice(2, 4), oid);
}

/** The objects of `wanted` (oid -> size) that neither Git LFS's storage nor mk's cache holds. */
export function missingLfsObjects(cache: CacheStore, storage: string, wanted: Map<string, number>): string[] {
  const missing: string[] = [];
  for (const [oid, size] of wanted) {
    if (cache.existsSync({ mediaType: MediaType.octet, digest: `sha256:${oid}`, size })) continue;
    let st;
    try {
      st = statSync(lfsObjectPath(storage, oid));
    } catch {
      st = undefined;
    }
    if (!st?.isFile() || st.size !== size) missing.push(oid);
  }
  return missing;
}

export function missingError(missing: string[], wanted: Map<string, number>, where: string): MkError {
  return new MkError('EMISSING', `${missing.length} Git LFS object(s) are not in ${where} (first: sha256:${missing[0]}, ${wanted.get(missing[0]!)} bytes)`, {
    hint: "fetch them with 'git lfs fetch --all' (every ref) or 'git lfs fetch <remote> <ref>...', then migrate again",
    data: { missing },
  });
}

/**
 * Copies the LFS objects `wanted` (oid -> size) into mk's cache, each checked against its oid.
 * Throws (before copying anything) when one is missing, and for one whose bytes do not match.
 */
export async function ingestLfsObjects(
  cache: CacheStore,
  storage: string,
  wanted: Map<string, number>,
  onObject?: (bytes: number) => void,
): Promise<{ copied: number; bytes: number; cached: number }> {
  const missing = missingLfsObjects(cache, storage, wanted);
  if (missing.length) throw missingError(missing, wanted, storage);
  const r = { copied: 0, bytes: 0, cached: 0 };
  for (const [oid, size] of wanted) {
    const desc = { mediaType: MediaType.octet, digest: `sha256:${oid}`, size };
    if (cache.existsSync(desc)) {
      r.cached++;
      continue;
    }
    const src = lfsObjectPath(storage, oid);
    // The cache's ingest hashes the object as it copies it and names it by that hash.
    const got = await cache.ingestFile(src, { what: src });
    if (got.digest !== desc.digest || got.size !== size)
      throw new MkError('EDIGEST', `Git LFS object ${src} is damaged: its bytes do not match its oid`, {
        hint: "remove it, fetch it again with 'git lfs fetch', then migrate again ('git lfs fsck' finds others)",
      });
    r.copied++;
    r.bytes += size;
    onObject?.(size);
  }
  return r;
}
