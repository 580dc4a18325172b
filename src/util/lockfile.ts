import { closeSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { LockedError } from '../errors/index.js';
import { processAlive } from './fs.js';

export interface Lock {
  release(): void;
}

/** When a process started (clock ticks since boot, Linux /proc): tells a live owner from a reused pid. */
function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

const ME = () => `${process.pid} ${hostname()} ${startTime(process.pid)}`.trim();

/** A lock file with no complete owner line this old was left by a process killed while taking it. */
const TORN_AFTER_MS = 2000;

/**
 * Whether the holder named in a lock file is gone: on this host, its pid is not running, or
 * runs a process that started at another time (the pid was reused). A file without a
 * complete owner line (an older mk killed between creating and writing it) is gone once it
 * is a couple of seconds old. Holders on other hosts are never presumed gone.
 */
function holderGone(holder: string, path: string): boolean {
  const [pidText, host, start] = holder.split(' ');
  const pid = Number(pidText);
  if (!holder || !Number.isInteger(pid) || pid <= 0 || !host) {
    try {
      return Date.now() - statSync(path).mtimeMs > TORN_AFTER_MS;
    } catch {
      return false;
    }
  }
  if (host !== hostname()) return false;
  if (!processAlive(pid)) return true;
  return !!start && !!startTime(pid) && startTime(pid) !== start;
}

/** Removes link sources (`.<lock>.<pid>-*`) that processes killed while taking the lock left. */
function sweepTemps(path: string): void {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) {
      try {
        unlinkSync(join(dirname(path), n));
      } catch {
        /* gone */
      }
    }
  }
}

/**
 * An exclusive lock file holding "pid host start-time". It is created whole (written to a
 * temporary file, then hard-linked into place, which fails if the lock exists), so it is
 * never seen empty. A lock whose holder died, on this host, is taken over; otherwise we wait
 * up to `timeoutMs`.
 */
export async function acquireLock(path: string, timeoutMs = 60_000): Promise<Lock> {
  mkdirSync(dirname(path), { recursive: true });
  const me = ME();
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}`);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    writeSync(fd, me);
  } finally {
    closeSync(fd);
  }
  try {
    for (let round = 0; ; round++) {
      try {
        linkSync(tmp, path);
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          try {
            if (readFileSync(path, 'utf8') === me) unlinkSync(path);
          } catch {
            /* already gone */
          }
        };
        process.once('exit', release);
        return {
          release: () => {
            process.removeListener('exit', release);
            release();
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      if (round === 0) sweepTemps(path);
      let holder = '';
      try {
        holder = readFileSync(path, 'utf8');
      } catch {
        continue; // released between our link and read: try again at once
      }
      if (holderGone(holder, path)) {
        // Stale: remove it only if it still names the dead owner (someone may have taken it over).
        try {
          if (readFileSync(path, 'utf8') === holder) unlinkSync(path);
        } catch {
          /* someone else took it over */
        }
        continue;
      }
      if (Date.now() >= deadline) {
        const [pid, host] = holder.split(' ');
        throw new LockedError(path, holder ? `pid ${pid} on ${host}` : 'unknown holder');
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 200);
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
  }
}

/**
 * The same lock, taken only if it is free now (or its holder is gone): no waiting. Undefined
 * when another live process holds it.
 */
export function tryAcquireLock(path: string): Lock | undefined {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch {
    return undefined;
  }
  const me = ME();
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeSync(fd, me);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined; // a read-only place: nobody writes there
  }
  try {
    for (let round = 0; round < 2; round++) {
      try {
        linkSync(tmp, path);
        return {
          release: () => {
            try {
              if (readFileSync(path, 'utf8') === me) unlinkSync(path);
            } catch {
              /* already gone */
            }
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
      }
      let holder = '';
      try {
        holder = readFileSync(path, 'utf8');
      } catch {
        continue;
      }
      if (!holderGone(holder, path)) return undefined;
      try {
        if (readFileSync(path, 'utf8') === holder) unlinkSync(path);
      } catch {
        /* someone else took it over */
      }
    }
    return undefined;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
  }
}
