import { PipelineError } from './errors.js';
import { Context, hasInterpolation, joinRel, normalizeRel, resolveString, resolveValue, withTemporary, type ReadFile } from './interpolate.js';
import { isMapping, parseYamlText, pyStr, type Mapping, type Value } from './values.js';

/** The pipeline file mk reads (DVC's name and schema, so a DVC project keeps its file). */
export const PIPELINE_FILE = 'dvc.yaml';
export const LOCK_FILE = 'dvc.lock';
export const DEFAULT_PARAMS_FILE = 'params.yaml';

export type OutKind = 'outs' | 'metrics' | 'plots';

export interface DepSpec {
  /** Repository-relative path. */
  path: string;
  /** As written in the pipeline file (relative to the stage's wdir): the lock's key. */
  def: string;
}

export interface ParamsSpec {
  /** Repository-relative path of the params file. */
  path: string;
  def: string;
  /** The keys tracked (dotted), or null for the whole file. */
  keys: string[] | null;
}

export interface OutSpec extends DepSpec {
  kind: OutKind;
  /** Kept in the cache (mk tracks it); false: left to Git, as DVC's `cache: false`. */
  cache: boolean;
  /** Not deleted before the stage runs. */
  persist: boolean;
  push: boolean;
  /** Everything written for it in the pipeline file (plot properties, desc...). */
  flags: Mapping;
}

export interface Stage {
  /** The stage's key in its lock file: `train`, `train@lr-0.1`. */
  name: string;
  /** What users type: the name, or `<dir>/dvc.yaml:<name>` for a pipeline file below the root. */
  address: string;
  /** Repository-relative path of its pipeline file and lock file. */
  file: string;
  lockFile: string;
  /** Repository-relative folder the command runs in ('.' for the root). */
  wdir: string;
  /** The command(s), after interpolation: what the lock records. */
  cmd: string | string[];
  deps: DepSpec[];
  params: ParamsSpec[];
  outs: OutSpec[];
  frozen: boolean;
  alwaysChanged: boolean;
  desc?: string;
}

const TOP_KEYS = new Set(['stages', 'vars', 'params', 'metrics', 'plots', 'artifacts', 'datasets']);
const STAGE_KEYS = new Set(['cmd', 'wdir', 'deps', 'params', 'outs', 'metrics', 'plots', 'frozen', 'always_changed', 'desc', 'meta', 'vars']);
const OUT_FLAGS = new Set(['cache', 'persist', 'push', 'remote', 'desc', 'type', 'labels', 'meta', 'checkpoint', 'template', 'x', 'y', 'x_label', 'y_label', 'title', 'header']);
const BAD_NAME = /[!"#$%&'()*+,./:;<=>?@[\\\]^`{|}~]/;

/** Where a pipeline file lives and how to read the files it names. */
export interface PipelineSource {
  /** Repository-relative path of the dvc.yaml. */
  file: string;
  text: string;
  read: ReadFile;
}

/** Parses one pipeline file into its stages (foreach and matrix expanded, everything interpolated). */
export function parsePipeline(src: PipelineSource): Stage[] {
  const doc = parseYamlText(src.text, src.file);
  if (doc === null) return [];
  if (!isMapping(doc)) throw new PipelineError(`${src.file}: expected a mapping with 'stages:'`);
  for (const k of Object.keys(doc)) if (!TOP_KEYS.has(k)) throw new PipelineError(`${src.file}: unknown key '${k}' (expected ${[...TOP_KEYS].join(', ')})`);
  const dir = src.file.includes('/') ? src.file.slice(0, src.file.lastIndexOf('/')) : '.';
  const ctx = new Context();
  const vars = doc.vars ?? [];
  if (!Array.isArray(vars)) throw new PipelineError(`${src.file}: 'vars' must be a list of files and mappings`);
  if (hasInterpolation(vars)) throw new PipelineError(`${src.file}: 'vars': interpolating is not allowed`);
  loadVars(ctx, vars, dir, src, `${src.file}: 'vars'`, true);
  const stagesRaw = doc.stages ?? {};
  if (!isMapping(stagesRaw)) throw new PipelineError(`${src.file}: 'stages' must be a mapping of stage names to stages`);
  const lockFile = dir === '.' ? 'dvc.lock' : `${dir}/dvc.lock`;
  const out: Stage[] = [];
  for (const name of Object.keys(stagesRaw)) {
    if (!name || BAD_NAME.test(name)) throw new PipelineError(`${src.file}: '${name}' is not a valid stage name (letters, digits, '-' and '_')`);
    const def = stagesRaw[name]!;
    if (!isMapping(def)) throw new PipelineError(`${src.file}: stage '${name}' must be a mapping`);
    const where = `${src.file}: stage '${name}'`;
    if (def.matrix !== undefined) {
      if (def.foreach !== undefined || def.do !== undefined) throw new PipelineError(`${where}: 'matrix' cannot go with 'foreach' or 'do'`);
      const template: Mapping = { ...def };
      delete template.matrix;
      for (const [key, item] of matrixItems(ctx, def.matrix, where)) {
        withTemporary(ctx, { key, item }, () => out.push(resolveStage(ctx, `${name}@${key}`, template, dir, lockFile, src)));
      }
    } else if (def.foreach !== undefined) {
      if (!isMapping(def.do)) throw new PipelineError(`${where}: 'foreach' needs a 'do' mapping`);
      const extra = Object.keys(def).filter((k) => k !== 'foreach' && k !== 'do');
      if (extra.length) throw new PipelineError(`${where}: unexpected '${extra[0]}' beside 'foreach' and 'do'`);
      const data = catchAt(where + '.foreach', () => resolveValue(ctx, def.foreach!, 'foreach'));
      const items = foreachItems(data, where);
      for (const [key, item, withKey] of items) {
        withTemporary(ctx, withKey ? { item, key } : { item }, () => out.push(resolveStage(ctx, `${name}@${key}`, def.do as Mapping, dir, lockFile, src)));
      }
    } else out.push(resolveStage(ctx, name, def, dir, lockFile, src));
  }
  return out;
}

function catchAt<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PipelineError && !e.message.startsWith(where.split(':')[0]!)) throw new PipelineError(`${where}: ${e.message}`, e.hint);
    throw e;
  }
}

function loadVars(ctx: Context, vars: Value[], wdir: string, src: PipelineSource, where: string, withDefault: boolean): void {
  catchAt(where, () => {
    if (withDefault) {
      const def = joinRel(wdir, DEFAULT_PARAMS_FILE);
      if (src.read(def)) ctx.mergeFrom(DEFAULT_PARAMS_FILE, wdir, src.read, where);
    }
    for (const v of vars) {
      if (typeof v === 'string') ctx.mergeFrom(v, wdir, src.read, where);
      else if (isMapping(v)) ctx.merge(v, where);
      else throw new PipelineError(`each entry must be a file name or a mapping`);
    }
  });
}

function isComposite(v: Value): boolean {
  return Array.isArray(v) || isMapping(v);
}

function foreachItems(data: Value, where: string): Array<[string, Value, boolean]> {
  if (isMapping(data)) return Object.keys(data).map((k) => [k, data[k]!, true]);
  if (Array.isArray(data)) {
    if (data.some(isComposite)) return data.map((v, i) => [String(i), v, false]);
    return data.map((v) => [pyStr(v), v, false]);
  }
  throw new PipelineError(`${where}.foreach: expected a list or a mapping`);
}

function matrixItems(ctx: Context, matrix: Value, where: string): Array<[string, Value]> {
  const m = catchAt(`${where}.matrix`, () => resolveValue(ctx, matrix, 'foreach matrix'));
  if (!isMapping(m)) throw new PipelineError(`${where}.matrix: expected a mapping of names to lists`);
  let combos: Array<{ frags: string[]; item: Mapping }> = [{ frags: [], item: {} }];
  for (const k of Object.keys(m)) {
    const list = m[k]!;
    if (!Array.isArray(list)) throw new PipelineError(`${where}.matrix.${k}: expected a list`);
    const next: typeof combos = [];
    for (const c of combos)
      list.forEach((v, i) =>
        next.push({ frags: [...c.frags, isComposite(v) ? `${k}${i}` : pyStr(v)], item: Object.defineProperty({ ...c.item }, k, { value: v, enumerable: true, writable: true, configurable: true }) }),
      );
    combos = next;
  }
  return combos.map((c) => [c.frags.join('-'), c.item]);
}

function resolveStage(parent: Context, name: string, def: Mapping, dir: string, lockFile: string, src: PipelineSource): Stage {
  const where = `${src.file}: stage '${name}'`;
  for (const k of Object.keys(def)) if (!STAGE_KEYS.has(k)) throw new PipelineError(`${where}: unknown key '${k}'`, `a stage has ${[...STAGE_KEYS].join(', ')}`);
  let ctx = parent;
  const vars = def.vars ?? [];
  if (!Array.isArray(vars)) throw new PipelineError(`${where}: 'vars' must be a list`);
  if (hasInterpolation(vars)) throw new PipelineError(`${where}: 'vars': interpolating is not allowed`);
  let wdir = dir;
  if (def.wdir !== undefined && def.wdir !== null) {
    const raw = def.wdir;
    if (typeof raw !== 'string' && typeof raw !== 'number') throw new PipelineError(`${where}: 'wdir' must be a path`);
    const w = catchAt(`${where}.wdir`, () => resolveString(ctx, String(raw), 'wdir'));
    wdir = joinRel(dir, pyStr(w));
  }
  if (vars.length) {
    ctx = parent.clone();
    loadVars(ctx, vars, wdir, src, `${where}: 'vars'`, false);
  }
  const r = (key: string) => (def[key] === undefined ? undefined : catchAt(`${where}.${key}`, () => resolveValue(ctx, def[key]!, key)));
  const cmdV = r('cmd');
  let cmd: string | string[];
  if (typeof cmdV === 'string' && cmdV.trim()) cmd = cmdV;
  else if (Array.isArray(cmdV) && cmdV.length && cmdV.every((c) => typeof c === 'string' && c.trim())) cmd = cmdV as string[];
  else throw new PipelineError(`${where}: 'cmd' must be a command or a list of commands`);
  checkPathOk(wdir, where, 'wdir');
  const paths = (key: string): Value[] => {
    const v = r(key);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new PipelineError(`${where}: '${key}' must be a list`);
    return v;
  };
  const deps: DepSpec[] = paths('deps').map((d) => {
    if (typeof d !== 'string' || !d) throw new PipelineError(`${where}: each of 'deps' must be a path`);
    return { def: d, path: checkPathOk(joinRel(wdir, d), where, d) };
  });
  const params = parseParams(paths('params'), wdir, where);
  const outs: OutSpec[] = [];
  for (const kind of ['outs', 'metrics', 'plots'] as const) {
    for (const o of paths(kind)) {
      let def: string;
      let flags: Mapping = {};
      if (typeof o === 'string') def = o;
      else if (isMapping(o) && Object.keys(o).length === 1) {
        def = Object.keys(o)[0]!;
        const f = o[def];
        if (f !== null && !isMapping(f)) throw new PipelineError(`${where}: the flags of '${def}' must be a mapping`);
        flags = f ?? {};
        for (const k of Object.keys(flags)) if (!OUT_FLAGS.has(k)) throw new PipelineError(`${where}: '${def}': unknown flag '${k}'`);
      } else throw new PipelineError(`${where}: each of '${kind}' must be a path or {path: {flags}}`);
      const bool = (k: string, dflt: boolean) => {
        const v = flags[k];
        if (v === undefined) return dflt;
        if (typeof v !== 'boolean') throw new PipelineError(`${where}: '${def}': '${k}' must be true or false`);
        return v;
      };
      outs.push({ def, path: checkPathOk(joinRel(wdir, def), where, def), kind, cache: bool('cache', true), persist: bool('persist', false), push: bool('push', true), flags });
    }
  }
  const seen = new Set<string>();
  for (const o of outs) {
    if (seen.has(o.path)) throw new PipelineError(`${where}: '${o.def}' is listed twice among its outputs`);
    seen.add(o.path);
    if (o.path === '.' || o.path.split('/').pop() === 'dvc.yaml' || o.path.split('/').pop() === 'dvc.lock') throw new PipelineError(`${where}: '${o.def}' cannot be an output`);
  }
  const depSeen = new Set<string>();
  for (const d of deps) {
    if (depSeen.has(d.path)) throw new PipelineError(`${where}: '${d.def}' is listed twice among its deps`);
    depSeen.add(d.path);
  }
  const flag = (k: string) => {
    const v = r(k);
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw new PipelineError(`${where}: '${k}' must be true or false`);
    return v;
  };
  const desc = r('desc');
  const address = src.file === 'dvc.yaml' ? name : `${src.file}:${name}`;
  return { name, address, file: src.file, lockFile, wdir, cmd, deps, params, outs, frozen: flag('frozen'), alwaysChanged: flag('always_changed'), ...(typeof desc === 'string' ? { desc } : {}) };
}

/** DVC's merge of `params:` entries: keys of params.yaml, `{file: [keys]}`, `{file: }` for a whole file. */
function parseParams(list: Value[], wdir: string, where: string): ParamsSpec[] {
  const whole = new Set<string>();
  for (const e of list) if (isMapping(e)) for (const k of Object.keys(e)) if (e[k] === null || (Array.isArray(e[k]) && (e[k] as Value[]).length === 0)) whole.add(k);
  const byFile = new Map<string, string[]>();
  const add = (file: string, keys: string[]) => {
    if (!byFile.has(file)) byFile.set(file, []);
    if (!whole.has(file)) byFile.get(file)!.push(...keys);
  };
  for (const e of list) {
    if (typeof e === 'string') add(DEFAULT_PARAMS_FILE, [e]);
    else if (isMapping(e)) {
      for (const file of Object.keys(e)) {
        const keys = e[file];
        if (keys === null || (Array.isArray(keys) && !keys.length)) add(file, []);
        else if (Array.isArray(keys) && keys.every((k) => typeof k === 'string')) add(file, keys as string[]);
        else throw new PipelineError(`${where}: params of '${file}' must be a list of keys`);
      }
    } else throw new PipelineError(`${where}: each of 'params' must be a key or {file: [keys]}`);
  }
  return [...byFile].map(([def, keys]) => ({ def, path: checkPathOk(joinRel(wdir, def), where, def), keys: whole.has(def) ? null : [...new Set(keys)] }));
}

/** A path named by a pipeline must stay inside the repository (no URLs, no absolute paths, no .git). */
function checkPathOk(rel: string, where: string, written: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(written)) throw new PipelineError(`${where}: '${written}': paths outside the repository (URLs) are not supported by mk`);
  if (written.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(written)) throw new PipelineError(`${where}: '${written}': absolute paths are not supported; write it relative to the stage's folder`);
  const n = normalizeRel(rel);
  if (n === '..' || n.startsWith('../')) throw new PipelineError(`${where}: '${written}' is outside the repository`);
  if (n.split('/').some((p) => p.toLowerCase() === '.git')) throw new PipelineError(`${where}: '${written}' is inside '.git'`);
  if (n.includes('\0')) throw new PipelineError(`${where}: '${written}' contains a NUL byte`);
  return n;
}
