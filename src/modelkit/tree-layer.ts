import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MediaType } from '../content/media-types.js';
import { MkError, WrongSizeError } from '../errors/index.js';
import { missingParents, TAR_END, tarHeader, tarPadding } from '../formats/tar.js';
import type { CacheStore, IngestWriter } from '../content/storage.js';
import { writeFileAtomicSync } from '../util/fs.js';
import { readGitBlob, type TreeFile } from './tree.js';

/**
 * A deterministic tar of files from a commit's tree (names from the repository root,
 * parents before children, mode 644/755, uid/gid 0, mtime 0), written to the cache.
 * Results are remembered by the list of (path, mode, blob id), so the same files are
 * never tarred twice.
 */
export async function treeLayer(gitdir: string, stateDir: string, cache: CacheStore, files: TreeFile[]): Promise<{ digest: string; size: number }> {
  const sigHash = createHash('sha256');
  for (const f of files) sigHash.update(`${f.path}\0${f.mode}\0${f.oid}\n`);
  return memoizedTar(stateDir, cache, sigHash.digest('hex'), 'tree', async (out) => {
    const seen = new Set<string>();
    for (const f of files) {
      const data = Buffer.from(await readGitBlob(gitdir, f.oid));
      for (const d of missingParents(f.path, seen)) await out.write(tarHeader(d, 'directory', 0o755, 0));
      await out.write(tarHeader(f.path, 'file', f.mode, data.length));
      await out.write(data);
      await out.write(tarPadding(data.length));
    }
  });
}

/**
 * A deterministic tar holding one cached blob as the file `path` (parents first, uid/gid 0,
 * mtime 0), written to the cache. Used where a raw layer cannot be: a ModelKit may not list
 * the same raw blob twice (two identical files), since a reader that finds layers by digest
 * would place both at the first file's path.
 */
export async function fileLayer(stateDir: string, cache: CacheStore, path: string, mode: number, blob: { digest: string; size: number }): Promise<{ digest: string; size: number }> {
  const sig = createHash('sha256').update(`file\0${path}\0${mode}\0${blob.digest}\n`).digest('hex');
  return memoizedTar(stateDir, cache, sig, 'file', async (out) => {
    if (!cache.existsSync({ mediaType: MediaType.octet, ...blob })) {
      throw new MkError('ENOTCACHED', `the data of ${path} is not in the local cache`, { hint: "run 'mk fetch' for this revision first" });
    }
    for (const d of missingParents(path, new Set())) await out.write(tarHeader(d, 'directory', 0o755, 0));
    await out.write(tarHeader(path, 'file', mode, blob.size));
    let n = 0;
    for await (const chunk of await cache.fetch({ mediaType: MediaType.octet, ...blob })) {
      n += chunk.length;
      await out.write(chunk); // verified (or trusted) on the way
    }
    if (n !== blob.size) throw new WrongSizeError(`the cached data of ${path}`, blob.size, n);
    await out.write(tarPadding(blob.size));
  });
}

/**
 * Writes the deterministic tar that `fill` produces into the cache, hashing it on the way,
 * unless a tar with the same signature was made before and is still cached (remembered in
 * .git/mk/tree-layers.json).
 */
async function memoizedTar(stateDir: string, cache: CacheStore, sig: string, label: string, fill: (out: Pick<IngestWriter, 'write'>) => Promise<void>): Promise<{ digest: string; size: number }> {
  const memoFile = join(stateDir, 'tree-layers.json');
  let memo: Record<string, { digest: string; size: number }> = {};
  try {
    const m = JSON.parse(readFileSync(memoFile, 'utf8')) as unknown;
    if (m && typeof m === 'object' && !Array.isArray(m)) memo = m as typeof memo;
  } catch {
    /* first time */
  }
  const hit = memo[sig];
  if (hit && cache.claim(hit)) return hit;
  // The store hashes the tar as it is written, and names it.
  const out = await cache.ingest(label);
  try {
    await fill(out);
    await out.write(TAR_END);
  } catch (e) {
    await out.abort();
    throw e;
  }
  const { digest, size } = await out.commit();
  memo[sig] = { digest, size };
  writeFileAtomicSync(memoFile, JSON.stringify(memo));
  return { digest, size };
}
