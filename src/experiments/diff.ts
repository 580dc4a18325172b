import type { FileValues } from './collect.js';
import type { Scalar } from './values.js';

/** One key of one file compared between two revisions. */
export interface ValueChange {
  path: string;
  key: string;
  /** undefined: the key is not there at that revision. */
  old?: Scalar;
  new?: Scalar;
  status: 'added' | 'removed' | 'changed' | 'unchanged';
  /** new - old, when both are numbers. */
  change?: number;
  /** The change in percent of |old|, when both are numbers and old is not 0. */
  changePercent?: number;
}

/** A file present at one revision only, or unreadable at one of them. */
export interface FileNote {
  path: string;
  old: FileValues['status'];
  new: FileValues['status'];
  problem?: string;
}

export interface ValuesDiff {
  changes: ValueChange[];
  files: FileNote[];
}

/** Rounds away binary noise (0.30000000000000004) without losing a metric's precision. */
export function tidy(n: number): number {
  return Number.parseFloat(n.toPrecision(12));
}

/** Compares the files' values key by key (`all`: unchanged keys too). */
export function diffValues(a: FileValues[], b: FileValues[], opts: { all?: boolean } = {}): ValuesDiff {
  const paths = [...new Set([...a.map((f) => f.path), ...b.map((f) => f.path)])];
  const changes: ValueChange[] = [];
  const files: FileNote[] = [];
  for (const path of paths) {
    const fa = a.find((f) => f.path === path);
    const fb = b.find((f) => f.path === path);
    const sa = fa?.status ?? 'missing';
    const sb = fb?.status ?? 'missing';
    if (sa !== 'ok' || sb !== 'ok') files.push({ path, old: sa, new: sb, ...(fa?.problem || fb?.problem ? { problem: fa?.problem ?? fb?.problem } : {}) });
    const va = fa?.values ?? {};
    const vb = fb?.values ?? {};
    const keys = [...new Set([...Object.keys(va), ...Object.keys(vb)])];
    for (const key of keys) {
      const inA = Object.hasOwn(va, key);
      const inB = Object.hasOwn(vb, key);
      const c: ValueChange = { path, key, status: !inA ? 'added' : !inB ? 'removed' : va[key] === vb[key] ? 'unchanged' : 'changed' };
      if (inA) c.old = va[key];
      if (inB) c.new = vb[key];
      if (typeof c.old === 'number' && typeof c.new === 'number') {
        c.change = tidy(c.new - c.old);
        if (c.old !== 0) c.changePercent = tidy(((c.new - c.old) / Math.abs(c.old)) * 100);
      }
      if (c.status !== 'unchanged' || opts.all) changes.push(c);
    }
  }
  return { changes, files };
}
