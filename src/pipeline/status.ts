import { join } from 'node:path';
import type { LockFile, LockItem, LockStage } from './lock.js';
import type { Md5Hasher, Md5Info } from './md5.js';
import { readSmall } from './md5.js';
import type { DepSpec, ParamsSpec, Stage } from './stages.js';
import { selectKey } from './interpolate.js';
import { MAX_PIPELINE_FILE, parseParamsText, pyEqual, type Mapping, type Value } from './values.js';

/** Why a stage must run (DVC's `dvc status` says the same things). */
export type Reason =
  | { kind: 'never-run' }
  | { kind: 'cmd' }
  | { kind: 'always' }
  | { kind: 'deps'; changes: Array<{ path: string; state: 'modified' | 'deleted' | 'new' }> }
  | { kind: 'params'; changes: Array<{ file: string; key: string; state: 'modified' | 'deleted' | 'new' }> }
  | { kind: 'outs'; changes: Array<{ path: string; state: 'modified' | 'deleted' | 'new' }> };

export interface StageState {
  stage: Stage;
  stale: boolean;
  reasons: Reason[];
}

/** One line per reason: "deps changed: data/raw.csv", "params changed: train.lr", "outs missing: model.pkl". */
export function describeReason(r: Reason): string {
  switch (r.kind) {
    case 'never-run':
      return 'never run: not in dvc.lock';
    case 'cmd':
      return 'command changed';
    case 'always':
      return 'always_changed';
    case 'params': {
      const ch = r.changes.filter((c) => c.state === 'modified');
      const other = r.changes.filter((c) => c.state !== 'modified');
      return [ch.length ? `params changed: ${ch.map((c) => c.key).join(', ')}` : '', ...other.map((c) => `param ${c.state === 'new' ? 'new' : 'removed'}: ${c.key}`)].filter(Boolean).join('; ');
    }
    case 'deps':
    case 'outs': {
      const gone = r.changes.filter((c) => c.state === 'deleted').map((c) => c.path);
      const ch = r.changes.filter((c) => c.state !== 'deleted').map((c) => c.path);
      return [ch.length ? `${r.kind} changed: ${ch.join(', ')}` : '', gone.length ? `${r.kind} missing: ${gone.join(', ')}` : ''].filter(Boolean).join('; ');
    }
  }
}

/** The values of a params file, read once per run (undefined: the file is not there). */
export class ParamsReader {
  private readonly cache = new Map<string, Mapping | undefined>();
  constructor(private readonly root: string) {}

  read(path: string): Mapping | undefined {
    if (!this.cache.has(path)) {
      const bytes = readSmall(join(this.root, ...path.split('/')), MAX_PIPELINE_FILE);
      this.cache.set(path, bytes ? parseParamsText(bytes, path) : undefined);
    }
    return this.cache.get(path);
  }

  forget(path?: string): void {
    if (path === undefined) this.cache.clear();
    else this.cache.delete(path);
  }

  /** The tracked values of one params entry, as DVC's lock records them (keys sorted; whole file: its top-level keys). */
  values(p: ParamsSpec): { values: Mapping; missing: string[] } | undefined {
    const all = this.read(p.path);
    if (all === undefined) return undefined;
    const values: Mapping = {};
    const missing: string[] = [];
    if (p.keys === null) {
      for (const k of Object.keys(all).sort()) set(values, k, all[k]!);
    } else {
      for (const k of [...p.keys].sort()) {
        const v = selectKey(all, k);
        if (v === undefined) missing.push(k);
        else set(values, k, v);
      }
    }
    return { values, missing };
  }
}

function set(o: Mapping, k: string, v: Value): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Compares a dep or out with what the lock recorded (by DVC's md5; a DVC 2.x entry by its dos2unix md5). */
export async function itemState(hasher: Md5Hasher, spec: DepSpec, rec: LockItem | undefined): Promise<{ state?: 'modified' | 'deleted'; info?: Md5Info }> {
  const info = await hasher.hash(spec.path, rec ? !rec.modern : false);
  if (!info) return { state: 'deleted' };
  if (!rec?.md5 || rec.md5 !== info.md5) return { state: 'modified', info };
  return { info };
}

/** Params of a stage against the lock, as DVC's ParamsDependency.workspace_status. */
export function paramsChanges(reader: ParamsReader, stage: Stage, lock: LockStage | undefined): Array<{ file: string; key: string; state: 'modified' | 'deleted' | 'new' }> {
  const out: Array<{ file: string; key: string; state: 'modified' | 'deleted' | 'new' }> = [];
  for (const p of stage.params) {
    const actual = reader.read(p.path);
    if (actual === undefined) {
      out.push({ file: p.def, key: p.keys?.join(', ') || p.def, state: 'deleted' });
      continue;
    }
    const info = lock?.params[p.def];
    if (!info) {
      // No value recorded for this file (a params entry added since the stage ran): new.
      for (const k of p.keys ?? Object.keys(actual)) out.push({ file: p.def, key: k, state: 'new' });
      if (p.keys === null && !Object.keys(actual).length) out.push({ file: p.def, key: p.def, state: 'new' });
      continue;
    }
    const keys = p.keys ?? [...new Set([...Object.keys(actual), ...Object.keys(info)])];
    for (const k of keys) {
      const a = p.keys === null ? (Object.prototype.hasOwnProperty.call(actual, k) ? actual[k] : undefined) : selectKey(actual, k);
      const has = Object.prototype.hasOwnProperty.call(info, k);
      if (a === undefined) out.push({ file: p.def, key: k, state: 'deleted' });
      else if (!has) out.push({ file: p.def, key: k, state: 'new' });
      else if (!pyEqual(a, info[k]!)) out.push({ file: p.def, key: k, state: 'modified' });
    }
  }
  return out;
}

/**
 * Whether a stage is stale, and why, with DVC's rules: its command differs from the lock's; a
 * dep's content or a tracked param's value differs; an out is missing or differs; it never ran;
 * `always_changed`. A frozen stage looks only at its command and outs (it never runs).
 */
export async function stageState(stage: Stage, lock: LockFile, hasher: Md5Hasher, params: ParamsReader, opts: { all?: boolean } = {}): Promise<StageState> {
  const rec = lock.stages.get(stage.name);
  const reasons: Reason[] = [];
  const done = () => !opts.all && reasons.length > 0;
  if (!rec) reasons.push({ kind: 'never-run' });
  else if (JSON.stringify(rec.cmd) !== JSON.stringify(stage.cmd)) reasons.push({ kind: 'cmd' });
  if (!stage.frozen && stage.alwaysChanged) reasons.push({ kind: 'always' });
  if (!stage.frozen && !done()) {
    const byPath = new Map((rec?.deps ?? []).map((d) => [d.path, d]));
    const changes: Array<{ path: string; state: 'modified' | 'deleted' | 'new' }> = [];
    const states = await Promise.all(stage.deps.map((d) => itemState(hasher, d, byPath.get(d.def))));
    stage.deps.forEach((d, i) => {
      const s = states[i]!.state;
      if (s) changes.push({ path: d.path, state: s });
    });
    if (changes.length) reasons.push({ kind: 'deps', changes });
    if (!done()) {
      const pc = paramsChanges(params, stage, rec);
      if (pc.length) reasons.push({ kind: 'params', changes: pc });
    }
  }
  if (!done()) {
    const byPath = new Map((rec?.outs ?? []).map((d) => [d.path, d]));
    const changes: Array<{ path: string; state: 'modified' | 'deleted' | 'new' }> = [];
    const states = await Promise.all(stage.outs.map((o) => itemState(hasher, o, byPath.get(o.def))));
    stage.outs.forEach((o, i) => {
      const s = states[i]!.state;
      if (s) changes.push({ path: o.path, state: s });
    });
    if (changes.length) reasons.push({ kind: 'outs', changes });
  }
  // Never-run says it all: the rest follows from it.
  const shown = rec ? reasons : reasons.filter((r) => r.kind === 'never-run' || r.kind === 'always');
  return { stage, stale: reasons.length > 0, reasons: shown };
}
