import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../util/fs.js';

/**
 * What mk is placing in the work tree, per artifact (`.git/mk/placing.json`, per worktree),
 * written before the first file of a placement is touched and cleared once the artifact holds
 * its new version and its stamp says so. A placement killed half-way (kill -9 in a hook, a
 * power cut) leaves a folder that holds files of two versions: with this record the next
 * judgement knows those files are mk's own and finishes the placement, instead of taking them
 * for the user's edits. See docs/spec/worktree-state.md.
 */
export interface Placing {
  /** Versions (pointer digests) the data may hold files of: what it held before, and earlier interrupted targets. */
  from: string[];
  /** The version being placed. */
  to: string;
  /** The pointer type of `to` (a file may replace a folder). */
  type: 'file' | 'dir';
}

const FILE = 'placing.json';

function isPlacing(v: unknown): v is Placing {
  const p = v as Placing;
  return !!p && typeof p.to === 'string' && Array.isArray(p.from) && p.from.every((d) => typeof d === 'string') && (p.type === 'file' || p.type === 'dir');
}

export class Journal {
  private readonly file: string;
  private map?: Record<string, Placing>;

  constructor(stateDir: string) {
    this.file = join(stateDir, FILE);
  }

  /** The journal file (the hook shims test for it: while it exists, mk always runs). */
  static path(stateDir: string): string {
    return join(stateDir, FILE);
  }

  private get entries(): Record<string, Placing> {
    if (!this.map) {
      this.map = {};
      try {
        const v = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
        if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, p] of Object.entries(v)) if (isPlacing(p)) this.map[k] = p;
      } catch {
        /* none: nothing was interrupted */
      }
    }
    return this.map;
  }

  /** The interrupted placement of `path`, if any. */
  get(path: string): Placing | undefined {
    return this.entries[path];
  }

  /** Paths whose placement was interrupted. */
  paths(): string[] {
    return Object.keys(this.entries);
  }

  get empty(): boolean {
    return this.paths().length === 0;
  }

  /**
   * Notes, durably, that these artifacts are about to be placed. An artifact already noted
   * (an earlier placement was interrupted) keeps every version it may hold files of.
   */
  begin(items: Array<{ path: string; from: Array<string | undefined>; to: string; type: 'file' | 'dir' }>): void {
    if (!items.length) return;
    for (const it of items) {
      const prev = this.entries[it.path];
      const from = new Set<string>(prev ? [...prev.from, prev.to] : []);
      for (const d of it.from) if (d) from.add(d);
      from.delete(it.to);
      this.entries[it.path] = { from: [...from].sort(), to: it.to, type: it.type };
    }
    this.save();
  }

  /** These artifacts hold their version now (and their stamps say so): their notes go. */
  done(paths: string[]): void {
    let changed = false;
    for (const p of paths)
      if (this.entries[p]) {
        delete this.entries[p];
        changed = true;
      }
    if (changed) this.save();
  }

  private save(): void {
    const m = this.entries;
    if (Object.keys(m).length === 0) rmSync(this.file, { force: true });
    else writeFileAtomicSync(this.file, JSON.stringify(m, null, 1) + '\n');
  }
}
