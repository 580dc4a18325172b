import { openSync, writeSync, closeSync, readFileSync, unlinkSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { LockedError } from '../errors/index.js';

export interface Lock {
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock file (O_CREAT|O_EXCL) holding "pid host". A lock left behind by a
 * process that died on this host is taken over; otherwise we wait up to `timeoutMs`.
 */
export async function acquireLock(path: string, timeoutMs = 60_000): Promise<Lock> {
  mkdirSync(dirname(path), { recursive: true });
  const me = `${process.pid} ${hostname()}`;
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, me);
      closeSync(fd);
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
      return { release: () => { process.removeListener('exit', release); release(); } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = '';
    try {
      holder = readFileSync(path, 'utf8');
    } catch {
      continue; // released between our open and read: try again at once
    }
    const [pidText, host] = holder.split(' ');
    const pid = Number(pidText);
    if (host === hostname() && Number.isInteger(pid) && pid > 0 && !alive(pid)) {
      // Stale: its owner died. Remove it only if it still names the dead owner.
      try {
        if (readFileSync(path, 'utf8') === holder) unlinkSync(path);
      } catch {
        /* someone else took it over */
      }
      continue;
    }
    if (holder === '' ) {
      // Being written right now by its creator; give it a moment.
    }
    if (Date.now() >= deadline) throw new LockedError(path, holder ? `pid ${pid} on ${host}` : 'unknown holder');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
}
