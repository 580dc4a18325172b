import { PipelineError } from './errors.js';
import { isMapping, parseParamsText, pyStr, PyFloat, type Mapping, type Value } from './values.js';

/**
 * DVC's templating of dvc.yaml (`vars`, `${...}`, as its parsing/ module does it): a context
 * of values from params.yaml (by default), the `vars` files and inline mappings; `${a.b[0]}`
 * anywhere in a stage; a string that is exactly one `${...}` takes the value itself, any other
 * string gets Python's text of each value; `\${` is a literal `${`.
 */

/** Reads a file of the repository (relative path) or gives undefined when it is not there. */
export type ReadFile = (path: string) => Uint8Array | undefined;

const KEY = /(?<!\\)\$\{(.*?)\}/g;

export class Context {
  data: Mapping;
  /** Where each defined path came from (for "cannot redefine" errors). */
  private sources: Map<string, string>;
  /** Files loaded, with the keys taken from each (null: the whole file). */
  private imports: Map<string, string[] | null>;

  constructor(data: Mapping = {}, sources = new Map<string, string>(), imports = new Map<string, string[] | null>()) {
    this.data = data;
    this.sources = sources;
    this.imports = imports;
  }

  clone(): Context {
    return new Context(structuredCloneValue(this.data) as Mapping, new Map(this.sources), new Map(this.imports));
  }

  /** Merges values in; a name defined twice is an error, as in DVC. */
  merge(update: Mapping, source: string): void {
    mergeInto(this.data, update, source, '', this.sources);
  }

  /** Loads `path` or `path:key1,key2` (relative to `wdir`), as DVC's `vars` entries. */
  mergeFrom(entry: string, wdir: string, read: ReadFile, where: string): void {
    const colon = entry.lastIndexOf(':');
    let file = entry;
    let keys: string[] | null = null;
    if (colon > 0 && !/^[a-zA-Z]:[\\/]/.test(entry)) {
      file = entry.slice(0, colon);
      keys = entry
        .slice(colon + 1)
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean);
      if (!keys.length) keys = null;
    }
    const rel = joinRel(wdir, file);
    if (this.imports.has(rel)) {
      const had = this.imports.get(rel);
      if (had === null) return; // all of it is there already
      if (keys === null) throw new PipelineError(`${where}: cannot load '${file}' whole: some of its keys are loaded already`);
      keys = keys.filter((k) => !had!.includes(k));
      if (!keys.length) return;
    }
    const bytes = read(rel);
    if (!bytes) throw new PipelineError(`${where}: '${file}' does not exist`, 'create it, or remove it from vars');
    const all = parseParamsText(bytes, rel);
    let take: Mapping = all;
    if (keys) {
      take = {};
      for (const k of keys) {
        const v = selectKey(all, k);
        if (v === undefined) throw new PipelineError(`${where}: could not find '${k}' in '${file}'`);
        setPath(take, k, v);
      }
    }
    this.merge(take, file);
    this.imports.set(rel, keys === null ? null : [...(this.imports.get(rel) ?? []), ...keys]);
  }

  select(expr: string): Value {
    const v = selectKey(this.data, expr);
    if (v === undefined) throw new PipelineError(`could not find '${expr}'`);
    return v;
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.data, key);
  }
}

function structuredCloneValue(v: Value): Value {
  if (v instanceof PyFloat || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(structuredCloneValue);
  const o: Mapping = {};
  for (const k of Object.keys(v)) Object.defineProperty(o, k, { value: structuredCloneValue(v[k]!), enumerable: true, writable: true, configurable: true });
  return o;
}

function mergeInto(into: Mapping, update: Mapping, source: string, prefix: string, sources: Map<string, string>): void {
  for (const k of Object.keys(update)) {
    const path = prefix ? `${prefix}.${k}` : k;
    const cur = Object.prototype.hasOwnProperty.call(into, k) ? into[k] : undefined;
    const val = update[k]!;
    if (cur !== undefined && isMapping(cur) && isMapping(val)) {
      mergeInto(cur, val, source, path, sources);
      continue;
    }
    if (cur !== undefined) throw new PipelineError(`cannot redefine '${path}' from '${source}' as it already exists in '${sources.get(path) ?? sources.get(prefix) ?? 'vars'}'`);
    Object.defineProperty(into, k, { value: structuredCloneValue(val), enumerable: true, writable: true, configurable: true });
    sources.set(path, source);
  }
}

function setPath(into: Mapping, key: string, v: Value): void {
  const parts = key.split('.');
  let cur = into;
  for (const p of parts.slice(0, -1)) {
    if (!isMapping(cur[p])) Object.defineProperty(cur, p, { value: {}, enumerable: true, writable: true, configurable: true });
    cur = cur[p] as Mapping;
  }
  Object.defineProperty(cur, parts[parts.length - 1]!, { value: v, enumerable: true, writable: true, configurable: true });
}

/** `a.b[0]` → the value (undefined when absent). */
export function selectKey(root: Value, expr: string): Value | undefined {
  const parts = normalizeExpr(expr);
  let cur: Value | undefined = root;
  for (const p of parts) {
    if (isMapping(cur) && Object.prototype.hasOwnProperty.call(cur, p)) cur = cur[p];
    else if (Array.isArray(cur) && /^-?\d+$/.test(p)) {
      const i: number = Number(p) < 0 ? cur.length + Number(p) : Number(p);
      if (i < 0 || i >= cur.length) return undefined;
      cur = cur[i];
    } else return undefined;
  }
  return cur;
}

function normalizeExpr(expr: string): string[] {
  const e = expr.trim();
  if (!e || !/^[^.[\]]+(?:\.[^.[\]]+|\[[^.[\]]+\])*$/.test(e)) throw new PipelineError(`'\${${expr}}' is not a valid expression (use names, '.name' and '[index]')`);
  return e
    .replace(/\[/g, '.')
    .replace(/\]/g, '')
    .split('.')
    .map((p) => p.trim());
}

export function joinRel(dir: string, file: string): string {
  if (!dir || dir === '.') return normalizeRel(file);
  return normalizeRel(`${dir}/${file}`);
}

/** Normalises a relative path (`a/./b/../c` → `a/c`); leading `..` stays (callers refuse it). */
export function normalizeRel(p: string): string {
  const out: string[] = [];
  for (const part of p.replace(/\\/g, '/').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length && out[out.length - 1] !== '..') out.pop();
    else out.push(part);
  }
  return out.join('/') || '.';
}

function isPrimitive(v: Value): boolean {
  return v === null || typeof v !== 'object' || v instanceof PyFloat;
}

/** shlex.quote */
export function shellQuote(s: string): string {
  if (s === '') return "''";
  if (/^[\w@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

function flattenDict(obj: Mapping, prefix = '', out: Array<[string, Value]> = []): Array<[string, Value]> {
  for (const k of Object.keys(obj)) {
    const v = obj[k]!;
    const key = prefix ? `${prefix}.${k}` : k;
    if (isMapping(v)) flattenDict(v, key, out);
    else out.push([key, v]);
  }
  return out;
}

/** DVC's text for a mapping in a command: `--name value` per entry (booleans as flags, lists as nargs). */
function dictToArgs(obj: Mapping): string {
  let r = '';
  for (const [k, v] of flattenDict(obj)) {
    if (typeof v === 'boolean') {
      if (v) r += `--${k} `;
    } else if (typeof v === 'string') r += `--${k} ${shellQuote(v)} `;
    else if (Array.isArray(v)) {
      v.forEach((item, n) => {
        if (!isPrimitive(item)) throw new PipelineError(`cannot interpolate nested iterable in '${k}'`);
        const t = typeof item === 'string' ? shellQuote(item) : pyStr(item);
        r += n > 0 ? `${t} ` : `--${k} ${t} `;
      });
    } else r += `--${k} ${pyStr(v)} `;
  }
  return r.trimEnd();
}

function checkValue(v: Value, key: string | undefined): void {
  if (isPrimitive(v)) return;
  if (key !== undefined && key.includes('foreach')) return;
  if (isMapping(v) && key === 'cmd') return;
  throw new PipelineError(`cannot interpolate data of type '${Array.isArray(v) ? 'list' : 'dict'}'`);
}

/** Resolves one string: an exact `${x}` is x's value; otherwise the text with each value in it. */
export function resolveString(ctx: Context, src: string, key?: string): Value {
  const matches = [...src.matchAll(KEY)];
  if (!matches.length) return src.replaceAll('\\${', '${');
  if (matches.length === 1 && matches[0]![0] === src) {
    const v = ctx.select(matches[0]![1]!);
    checkValue(v, key);
    return v;
  }
  let out = '';
  let at = 0;
  for (const m of matches) {
    const v = ctx.select(m[1]!);
    checkValue(v, key);
    out += src.slice(at, m.index) + (isMapping(v) ? dictToArgs(v) : pyStr(v));
    at = m.index! + m[0].length;
  }
  out += src.slice(at);
  return out.replaceAll('\\${', '${');
}

/** Resolves every string inside a value (mapping keys too). */
export function resolveValue(ctx: Context, v: Value, key?: string): Value {
  if (typeof v === 'string') return resolveString(ctx, v, key);
  if (Array.isArray(v)) return v.map((x) => resolveValue(ctx, x, key));
  if (isMapping(v)) {
    const o: Mapping = {};
    for (const k of Object.keys(v)) {
      const rk = resolveString(ctx, k, key);
      Object.defineProperty(o, typeof rk === 'string' ? rk : pyStr(rk), { value: resolveValue(ctx, v[k]!, key), enumerable: true, writable: true, configurable: true });
    }
    return o;
  }
  return v;
}

export function hasInterpolation(v: Value): boolean {
  if (typeof v === 'string') return [...v.matchAll(KEY)].length > 0;
  if (Array.isArray(v)) return v.some(hasInterpolation);
  if (isMapping(v)) return Object.keys(v).some((k) => hasInterpolation(k) || hasInterpolation(v[k]!));
  return false;
}

/** Sets `item` (and `key`) while one generated stage resolves. */
export function withTemporary<T>(ctx: Context, values: Mapping, fn: () => T): T {
  const saved = new Map<string, Value | undefined>();
  for (const k of Object.keys(values)) {
    saved.set(k, ctx.has(k) ? ctx.data[k] : undefined);
    Object.defineProperty(ctx.data, k, { value: values[k], enumerable: true, writable: true, configurable: true });
  }
  try {
    return fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete ctx.data[k];
      else ctx.data[k] = v;
    }
  }
}
