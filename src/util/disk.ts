import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { MkError } from '../errors/index.js';

/** Space kept free whatever a write declares: a full disk breaks everything else on it too. */
const RESERVE = 64 << 20;

function mib(n: number): string {
  return n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : `${Math.ceil(n / (1 << 20))} MiB`;
}

/**
 * Refuses, before a byte is written, a file that would not fit on the filesystem of `dir`
 * (with 64 MiB left over): what a ModelKit declares (a tar entry's size, a layer's size) is
 * checked against the free space first, so a hostile or oversized layer never fills the disk.
 * A filesystem that cannot say (statfs unsupported) is not checked.
 */
export function ensureRoom(dir: string, bytes: number, what: string): void {
  let free: number;
  for (;;) {
    try {
      const s = statfsSync(dir);
      free = s.bavail * s.bsize;
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && dirname(dir) !== dir) {
        dir = dirname(dir); // not created yet: its nearest existing parent is on the same filesystem
        continue;
      }
      return;
    }
  }
  if (bytes + RESERVE > free) throw new MkError('ENOROOM', `${what} needs ${mib(bytes)} and ${dir} has ${mib(free)} free`, { hint: 'free some space or unpack elsewhere; nothing was written' });
}
