import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

export function tmpName(target: string): string {
  return join(dirname(target), `.${basename(target)}.mk-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes a file atomically: temp file in the same directory, then rename over the target. */
export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = tmpName(target);
  try {
    await writeFile(tmp, data, { mode });
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export function writeFileAtomicSync(target: string, data: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = tmpName(target);
  try {
    writeFileSync(tmp, data, { mode });
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function isENOENT(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}
