import { constants as fsc, lstatSync } from 'node:fs';
import { chmod, copyFile, link, rm, symlink } from 'node:fs/promises';
import type { Descriptor } from '../../content/descriptor.js';
import { DigestMismatchError, MkError, WrongSizeError } from '../../errors/index.js';
import { hashFile } from '../../hashing/digest.js';

/** What copy-out needs of the store it copies from. */
export interface CopySource {
  file(desc: Pick<Descriptor, 'digest'>): string;
  trusted(desc: Pick<Descriptor, 'digest' | 'size'>): boolean;
  noteVerified(desc: Pick<Descriptor, 'digest' | 'size'>): void;
  quarantine(desc: Pick<Descriptor, 'digest'>): Promise<void>;
  verify(desc: Descriptor): Promise<boolean>;
  wrongSize(desc: Pick<Descriptor, 'digest' | 'size'>, actual: number): Promise<never>;
}

/** Files at least this large are copied in-kernel on one core while this thread hashes the blob. */
const BOTH_AT_ONCE = 8 << 20;

/**
 * Writes blob `desc` to the new file `dest` with `mode`, only with bytes that match the
 * digest: a reflink where the filesystem has them (then verified by a read); else a blob the
 * trust rule vouches for is copied in-kernel; else a large blob is copied in-kernel while it
 * is hashed, a small one in one streamed pass that does both. `link` verifies the blob, then
 * links it. A blob that does not match is dropped (mk's cache) and `dest` is not left behind.
 */
export async function copyOut(src: CopySource, desc: Descriptor, dest: string, opts: { mode: number; link?: 'hardlink' | 'symlink' }): Promise<void> {
  const blob = src.file(desc);
  try {
    if (opts.link) {
      if (!(await src.verify(desc))) throw new DigestMismatchError(`cache blob ${desc.digest}`, desc.digest, 'different bytes');
      if (opts.link === 'hardlink') await link(blob, dest);
      else await symlink(blob, dest);
      return;
    }
    let cloned = false;
    try {
      await copyFile(blob, dest, fsc.COPYFILE_FICLONE_FORCE);
      cloned = true;
    } catch {
      /* no reflinks here */
    }
    if (cloned) await checkCopy(src, desc, await hashFile(dest));
    else if (src.trusted(desc)) {
      await copyFile(blob, dest, fsc.COPYFILE_EXCL);
      const size = lstatSync(dest).size;
      if (size !== desc.size) await src.wrongSize(desc, size);
    } else {
      const big = desc.size >= BOTH_AT_ONCE;
      const got = await (big ? Promise.all([hashFile(blob), copyFile(blob, dest, fsc.COPYFILE_EXCL)]).then(([h]) => h) : hashFile(blob, dest, 0o644)).catch((e) => {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !exists(blob))
          throw new MkError('ENOTCACHED', `blob ${desc.digest} is not in the cache`, { hint: "run 'mk fetch' to download it from a remote" });
        throw e;
      });
      await checkCopy(src, desc, got);
      src.noteVerified(desc);
    }
    await chmod(dest, opts.mode);
  } catch (e) {
    await rm(dest, { force: true });
    throw e;
  }
}

/** Bytes copied out against what was asked for: a bad blob is dropped; a wrong size is the asker's error. */
async function checkCopy(src: CopySource, desc: Pick<Descriptor, 'digest' | 'size'>, got: { digest: string; size: number }): Promise<void> {
  if (got.digest !== desc.digest) {
    await src.quarantine(desc);
    throw new DigestMismatchError(`cache blob ${desc.digest}`, desc.digest, got.digest);
  }
  if (got.size !== desc.size) throw new WrongSizeError(`blob ${desc.digest}`, desc.size, got.size);
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
