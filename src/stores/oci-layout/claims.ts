import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { acquireLock, tryAcquireLock, type Lock } from '../../util/lockfile.js';
import { processAlive } from '../../util/fs.js';

/**
 * How `mk gc` and writers share a cache (several clones may share one: MK_CACHE_DIR) without
 * a lock around every write.
 *
 * - Writers claim each blob they store or reuse for a pointer, before they rename it into place
 *   or look for it: a line in a claim file of their own process (`claims/<pid>-...`).
 * - gc runs under the cache's gc lock. When it starts, it notes the claim files of processes
 *   already gone: their pointers were written before gc began, so its scan sees them. Every
 *   other claim (a process alive at the start, or one that started since) protects its blobs
 *   from this run, however long that process then takes to write its pointer and commit.
 * - gc frees in two steps: it moves the blobs it would free into a trash folder, then reads
 *   the claims, puts back every claimed blob, and only then deletes the rest. A writer that
 *   claims a blob after gc read the claims finds it missing and stores it again (it has the
 *   bytes), or takes it back from the trash. So a commit never lands pointing at a blob that
 *   gc is freeing.
 * - A gc that dies leaves its trash: the next process that opens the cache puts it all back.
 * - Claim files of finished processes are removed by gc, or by any process that finds no gc
 *   running (it holds the gc lock for that moment).
 * - A gc run in a process that stored blobs itself (mk's API called in process: add, then gc)
 *   counts that thread's earlier claims as finished, as it counts a finished process's: the
 *   operations that made them have returned, with their pointers written. Claims this thread
 *   makes after the run began go to a new file, and protect their blobs as any other.
 */
let generation = 0;

export class Claims {
  private fd?: number;
  private gen = -1;
  private readonly dir: string;

  constructor(private readonly root: string) {
    this.dir = join(root, 'claims');
  }

  /** Records that this process is about to use `hex` (a blob it writes or reuses). */
  claim(hex: string): void {
    try {
      if (this.fd === undefined || this.gen !== generation) {
        this.close();
        this.gen = generation;
        mkdirSync(this.dir, { recursive: true });
        this.fd = openSync(join(this.dir, `${process.pid}-${threadId}-${randomBytes(4).toString('hex')}`), 'a', 0o644);
      }
      writeSync(this.fd, hex + '\n');
    } catch {
      // A read-only cache: nothing is written to it either, so there is nothing to protect.
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Removes the claim files of finished processes, unless a gc is running (it decides about those). */
  sweep(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    const dead = names.filter((n) => !alive(n));
    if (!dead.length) return;
    const lock = tryAcquireLock(join(this.root, 'gc.lock'));
    if (!lock) return;
    try {
      for (const n of dead) rmSync(join(this.dir, n), { force: true });
    } catch {
      /* a read-only cache: nothing to tidy */
    } finally {
      lock.release();
    }
  }

  /** Puts back what a gc that died left in its trash (a blob found there is one it had not yet decided about). */
  restoreTrash(blobDir: string): void {
    let names: string[];
    try {
      names = readdirSync(this.root).filter((n) => /^gc-trash-\d+$/.test(n));
    } catch {
      return;
    }
    for (const n of names) {
      if (processAlive(Number(n.slice('gc-trash-'.length)))) continue;
      const dir = join(this.root, n);
      try {
        for (const hex of readdirSync(dir)) restore(join(dir, hex), join(blobDir, hex));
        rmSync(dir, { recursive: true, force: true });
      } catch {
        /* not ours to change (read-only): the next gc there puts it back */
      }
    }
  }

  /** Takes back a blob from a running gc's trash (a writer claimed it after gc moved it there). True if it did. */
  takeBack(hex: string, blobDir: string): boolean {
    let names: string[];
    try {
      names = readdirSync(this.root).filter((n) => n.startsWith('gc-trash-'));
    } catch {
      return false;
    }
    for (const n of names) if (restore(join(this.root, n, hex), join(blobDir, hex))) return true;
    return false;
  }

  /** Starts a gc run: the gc lock, and the claim files of processes already gone. */
  async beginSweep(): Promise<ClaimSweep> {
    const lock = await acquireLock(join(this.root, 'gc.lock'), 10 * 60_000);
    generation++; // this thread's later claims go to new files
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch {
      /* none */
    }
    const mine = `${process.pid}-${threadId}-`;
    return new ClaimSweep(this.root, this.dir, new Set(names.filter((n) => !alive(n) || n.startsWith(mine))), lock);
  }
}

/** One gc run's view of the claims (see Claims). */
export class ClaimSweep {
  constructor(
    private readonly root: string,
    private readonly dir: string,
    /** Claim files of processes that were gone when gc started. */
    private readonly before: Set<string>,
    private readonly lock: Lock,
  ) {}

  /**
   * Frees blobs (hex digests): moves them to the trash, then puts back every one that a
   * process claimed since before this run began, and deletes the rest. Returns those freed.
   */
  free(hexes: string[], blobDir: string, onFreed: (hex: string) => void): string[] {
    const trash = join(this.root, `gc-trash-${process.pid}`);
    mkdirSync(trash, { recursive: true });
    const moved: string[] = [];
    for (const hex of hexes) {
      try {
        renameSync(join(blobDir, hex), join(trash, hex));
        moved.push(hex);
      } catch {
        /* gone already */
      }
    }
    const claimed = this.claimed();
    const freed: string[] = [];
    for (const hex of moved) {
      if (claimed.has(hex)) restore(join(trash, hex), join(blobDir, hex));
      else {
        rmSync(join(trash, hex), { force: true });
        onFreed(hex);
        freed.push(hex);
      }
    }
    rmSync(trash, { recursive: true, force: true });
    return freed;
  }

  /** Every blob claimed by a process that was alive when this run began, or started since. */
  claimed(): Set<string> {
    const out = new Set<string>();
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch {
      /* none */
    }
    for (const n of names) {
      if (this.before.has(n)) continue;
      try {
        for (const line of readFileSync(join(this.dir, n), 'latin1').split('\n')) if (/^[0-9a-f]{64}$/.test(line)) out.add(line);
      } catch {
        /* removed meanwhile: its process was gone */
      }
    }
    return out;
  }

  /** Ends the run: the claim files of processes gone before it began are no longer needed. */
  end(): void {
    try {
      for (const n of this.before) rmSync(join(this.dir, n), { force: true });
    } finally {
      this.lock.release();
    }
  }
}

/** Whether the process that wrote a claim file (`<pid>-<thread>-<hex>`) still runs. */
function alive(name: string): boolean {
  const pid = Number(name.split('-')[0]);
  return !Number.isSafeInteger(pid) || pid === process.pid || processAlive(pid);
}

/** Moves a blob back into place unless a copy is there already (then the trash copy goes). */
function restore(from: string, to: string): boolean {
  if (!existsSync(from)) return false;
  try {
    if (existsSync(to)) rmSync(from, { force: true });
    else renameSync(from, to);
    return true;
  } catch {
    return false;
  }
}
