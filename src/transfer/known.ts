import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
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
  private set?: Set<string>;

  constructor(mkDir: string, location: string) {
    this.file = join(mkDir, 'known', createHash('sha256').update(location).digest('hex').slice(0, 24));
  }

  private get entries(): Set<string> {
    if (!this.set) {
      this.set = new Set();
      try {
        for (const line of readFileSync(this.file, 'utf8').split('\n')) if (line.length === 64) this.set.add(line);
      } catch {
        /* none yet */
      }
    }
    return this.set;
  }

  has(digest: string): boolean {
    return this.entries.has(digest.slice(7));
  }

  /** Records blobs now known to be on the remote (appended at once: a later failure keeps them). */
  add(digests: string[]): void {
    const fresh = digests.map((d) => d.slice(7)).filter((h) => h.length === 64 && !this.entries.has(h));
    if (!fresh.length) return;
    for (const h of fresh) this.entries.add(h);
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      appendFileSync(this.file, fresh.join('\n') + '\n');
    } catch {
      /* read-only: only requests are lost */
    }
  }

  /** Forgets everything (the remote lost something this record claimed). */
  clear(): void {
    this.set = new Set();
    rmSync(this.file, { force: true });
  }
}
