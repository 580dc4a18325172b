import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The blobs this repository has seen on one remote (pushed there, or found there): a push
 * skips asking for them again, which on a registry is one request per blob — hundreds for
 * a large dataset on every push, where Git LFS asks once with its batch API.
 *
 * A remote can lose blobs (a registry garbage collection, a deleted repository), so the
 * record is checked where it is most fragile: pushes always ask for the directory manifest
 * roots (no ModelKit references them, so they are the first a collection removes), and one
 * that is gone discards the whole record. `mk push --check-remote` asks for everything.
 * One file per remote (hex digests, one per line, appended): losing it costs only requests.
 */
export class KnownBlobs {
  private readonly file: string;
  /** hex digest -> size */
  private map?: Map<string, number>;

  constructor(mkDir: string, location: string) {
    this.file = join(mkDir, 'known', createHash('sha256').update(location).digest('hex').slice(0, 24));
  }

  private get entries(): Map<string, number> {
    if (!this.map) this.map = readKnown(this.file);
    return this.map;
  }

  /** True when the remote is known to hold exactly this blob (digest and size). */
  has(d: { digest: string; size: number }): boolean {
    return this.entries.get(d.digest.slice(7)) === d.size;
  }

  /** Records blobs now known to be on the remote (appended at once: a later failure keeps them). */
  add(ds: Array<{ digest: string; size: number }>): void {
    const fresh = ds.filter((d) => d.digest.length === 71 && Number.isSafeInteger(d.size) && d.size >= 0 && this.entries.get(d.digest.slice(7)) !== d.size);
    if (!fresh.length) return;
    for (const d of fresh) this.entries.set(d.digest.slice(7), d.size);
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      appendFileSync(this.file, fresh.map((d) => `${d.digest.slice(7)} ${d.size}`).join('\n') + '\n');
    } catch {
      /* read-only: only requests are lost */
    }
  }

  /** Forgets everything (the remote lost something this record claimed). */
  clear(): void {
    this.map = new Map();
    rmSync(this.file, { force: true });
  }
}

/**
 * Reads one record: lines of `<hex digest> <size>`. Lines without a size (written by mk
 * before sizes were recorded) are ignored: a size is what lets a push tell a blob from a
 * pointer that names its digest with the wrong size.
 */
export function readKnown(file: string): Map<string, number> {
  const out = new Map<string, number>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64}) (\d{1,15})$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Every record of this repository (one per remote it ever pushed to or fetched from). */
export function knownRecords(mkDir: string): string[] {
  try {
    return readdirSync(join(mkDir, 'known')).map((f) => join(mkDir, 'known', f));
  } catch {
    return [];
  }
}
