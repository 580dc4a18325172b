import { StatCache } from '../hashing/stat-cache.js';
import { Stamps } from '../hashing/stamps.js';
import type { RepoContext } from '../repo/context.js';
import type { Lock } from '../util/lockfile.js';
import { Journal } from './journal.js';

/**
 * What the work-tree engine keeps between commands, for one worktree: the stat cache (path and
 * stat data → digest), the stamps (folder signature → the version mk last placed or recorded
 * there) and the journal of placements in progress. Opened by every entry point that judges
 * or places data (verbs, hooks, the merge driver); writers hold the repository lock too.
 */
export class Session {
  readonly stat: StatCache;
  readonly stamps: Stamps;
  readonly journal: Journal;
  private lock?: Lock;

  constructor(readonly ctx: RepoContext) {
    this.stat = new StatCache(ctx.stateDir);
    this.stamps = new Stamps(ctx.stateDir);
    this.journal = new Journal(ctx.stateDir);
  }

  /** A session that may write: holds the repository lock until close(). */
  static async writer(ctx: RepoContext): Promise<Session> {
    const s = new Session(ctx);
    s.lock = await ctx.lock();
    return s;
  }

  /** Saves what was learnt (a read-only repository only loses speed). */
  save(): void {
    try {
      this.stat.save();
      this.stamps.save();
    } catch {
      /* read-only state: only speed is lost */
    }
  }

  close(): void {
    try {
      this.save();
    } finally {
      this.lock?.release();
      this.lock = undefined;
    }
  }
}
