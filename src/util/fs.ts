import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, basename, join, sep } from 'node:path';

export function tmpName(target: string): string {
  return join(dirname(target), `.${basename(target)}.mk-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Puts a complete file or folder `tmp` (next to `out`) at `out`; an existing `out` (a file or a
 * folder, which rename cannot replace) goes only once the new one is in place.
 */
export function replaceWith(tmp: string, out: string): void {
  let old: string | undefined = tmpName(out);
  try {
    renameSync(out, old);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    old = undefined;
  }
  renameSync(tmp, out);
  if (old) rmSync(old, { recursive: true, force: true });
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

/** What tmpName makes: `.<name>.mk-tmp-<pid>-<8 hex>`. */
const TMP_NAME = /^\.(.+)\.mk-tmp-(\d+)-[0-9a-f]{8}$/;

/** True for the name of an mk temporary file: never user data, never tracked. */
export function isTmpName(name: string): boolean {
  return TMP_NAME.test(name);
}

/** Whether a process with this pid runs on this machine (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes, from `dir`, the temporary files that mk processes which died (killed mid-write)
 * left for `name` (the file itself, or its pointer `name.mk.yaml`), or for any name when
 * `name` is omitted. Files of a live process are left alone. Returns how many were removed.
 */
export function removeStaleTemps(dir: string, name?: string): number {
  let n = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const entry of names) {
    const m = TMP_NAME.exec(entry);
    if (!m) continue;
    if (name !== undefined && m[1] !== name && m[1] !== `${name}.mk.yaml`) continue;
    if (Number(m[2]) === process.pid || processAlive(Number(m[2]))) continue;
    try {
      rmSync(join(dir, entry), { force: true });
      n++;
    } catch {
      /* gone already */
    }
  }
  return n;
}

/** Removes `dir` and its parents while they are empty, never `stop` itself or anything above it. */
export function pruneEmptyParents(stop: string, dir: string): void {
  while (dir.length > stop.length && dir.startsWith(stop + sep)) {
    try {
      if (readdirSync(dir).length) return;
      rmdirSync(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}
