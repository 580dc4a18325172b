import { parse as parseToml } from 'smol-toml';
import { yamlLib } from '../util/yaml-lazy.js';
import { PipelineError } from './errors.js';

/**
 * Values read from pipeline files (dvc.yaml, params files, dvc.lock), as DVC (Python) sees
 * them. The one difference that shows: Python keeps `1.0` a float, and prints floats its own
 * way (`1.0`, `1e-05`). A command interpolated from `lr: 1.0` must read `--lr 1.0` in mk as in
 * DVC, or the two would disagree about whether it changed; and a lock mk writes keeps `1.0`.
 * So a whole-number float is a PyFloat; any other number keeps its JavaScript form.
 */
export class PyFloat {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

export type Value = null | boolean | number | string | PyFloat | Value[] | { [k: string]: Value };
export type Mapping = { [k: string]: Value };

export function isMapping(v: unknown): v is Mapping {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof PyFloat);
}

/** Python's repr of a float (shortest round trip; exponent below 1e-4 and from 1e16). */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expText] = x.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let s: string;
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    s = `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  } else if (exp < 0) {
    s = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else {
    const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    const frac = digits.slice(exp + 1);
    s = `${int}.${frac || '0'}`;
  }
  return neg ? `-${s}` : s;
}

/** Python's str() of a primitive (what DVC puts into an interpolated string). */
export function pyStr(v: Value): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'true' : 'false'; // DVC's to_str for bool
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function num(v: Value): number | undefined {
  if (v instanceof PyFloat) return v.value;
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0; // Python: True == 1
  return undefined;
}

/** Python's == on parsed values: 1 == 1.0 == True, mappings by keys, lists in order. */
export function pyEqual(a: Value, b: Value): boolean {
  const na = num(a);
  const nb = num(b);
  if (na !== undefined || nb !== undefined) return na !== undefined && nb !== undefined && na === nb;
  if (a === null || b === null || typeof a === 'string' || typeof b === 'string') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => pyEqual(x, b[i]!));
  if (!isMapping(a) || !isMapping(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && pyEqual(a[k]!, b[k]!));
}

const FLOAT_SOURCE = /[.eEnN]/; // 1.0, 1e5, .inf, .nan (ints are digits, 0x.., 0o..)

/** A scalar of no JSON kind (a YAML !!binary, a symbol...) as text. */
function oddScalar(v: unknown): string {
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v as symbol | undefined);
}

/** A YAML document's contents with floats kept apart from ints (see PyFloat). JSON is YAML too. */
export function yamlToValue(node: unknown, depth = 0): Value {
  const Y = yamlLib();
  if (depth > 64) throw new PipelineError('nested too deeply');
  if (node === null || node === undefined) return null;
  if (Y.isScalar(node)) {
    const v = node.value;
    if (typeof v === 'number') {
      const src = typeof node.source === 'string' ? node.source : String(v);
      return Number.isInteger(v) && FLOAT_SOURCE.test(src) && !/^[-+]?0[xo]/i.test(src) ? new PyFloat(v) : v;
    }
    if (typeof v === 'bigint') return Number(v);
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
    if (v instanceof Date) return v.toISOString();
    return oddScalar(v);
  }
  if (Y.isMap(node)) {
    const out: Mapping = {};
    for (const pair of node.items) {
      const k = Y.isScalar(pair.key) ? pair.key.value : pair.key;
      const key = typeof k === 'string' ? k : k === null || k === undefined ? 'null' : typeof k === 'object' ? JSON.stringify(k) : pyStr(k as Value);
      Object.defineProperty(out, key, { value: yamlToValue(pair.value, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (Y.isSeq(node)) return node.items.map((x) => yamlToValue(x, depth + 1));
  if (Y.isAlias(node)) throw new PipelineError('YAML aliases are not supported in pipeline files');
  return null;
}

/** At most this many bytes are read from a pipeline, lock or params file. */
export const MAX_PIPELINE_FILE = 16 * 1024 * 1024;

/** Parses YAML (or JSON) text into values, with the problem and its line on failure. */
export function parseYamlText(text: string, file: string): Value {
  const Y = yamlLib();
  const doc = Y.parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    throw new PipelineError(`${file}${line ? `:${line}` : ''}: not valid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  try {
    return yamlToValue(doc.contents);
  } catch (e) {
    throw new PipelineError(`${file}: ${(e as Error).message}`);
  }
}

/** A params or vars file's values, by extension: YAML, JSON or TOML (DVC's Python params files are not read). */
export function parseParamsText(bytes: Uint8Array, file: string): Mapping {
  if (bytes.length > MAX_PIPELINE_FILE) throw new PipelineError(`${file}: too large (${bytes.length} bytes)`);
  const text = Buffer.from(bytes).toString('utf8');
  const ext = file.toLowerCase().split('.').pop() ?? '';
  let v: Value;
  if (ext === 'py') throw new PipelineError(`${file}: Python params files are not supported by mk`, 'move the values to a YAML, JSON or TOML file');
  if (ext === 'toml') {
    try {
      v = tomlValue(parseToml(text));
    } catch (e) {
      throw new PipelineError(`${file}: not valid TOML: ${(e as Error).message.split('\n')[0]}`);
    }
  } else v = parseYamlText(text, file);
  if (v === null) return {};
  if (!isMapping(v)) throw new PipelineError(`${file}: expected a mapping of names to values`);
  return v;
}

function tomlValue(v: unknown, depth = 0): Value {
  if (depth > 64) throw new PipelineError('nested too deeply');
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map((x) => tomlValue(x, depth + 1));
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') {
    const out: Mapping = {};
    for (const [k, x] of Object.entries(v as object)) Object.defineProperty(out, k, { value: tomlValue(x, depth + 1), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return oddScalar(v);
}

/** `a.b[0].c` → the value at that path (dpath with '.' separators, as DVC reads params keys), or undefined. */
export function selectPath(root: Value, path: string): Value | undefined {
  let cur: Value | undefined = root;
  for (const part of path.split('.')) {
    if (isMapping(cur) && Object.prototype.hasOwnProperty.call(cur, part)) cur = cur[part];
    else if (Array.isArray(cur) && /^\d+$/.test(part) && Number(part) < cur.length) cur = cur[Number(part)];
    else return undefined;
  }
  return cur;
}

/** Plain JSON form (PyFloat → number): for hashing and the run cache. */
export function toPlain(v: Value): unknown {
  if (v instanceof PyFloat) return { $float: v.value };
  if (Array.isArray(v)) return v.map(toPlain);
  if (isMapping(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) o[k] = toPlain(v[k]!);
    return o;
  }
  return v;
}

/** The inverse of toPlain, for values read back from mk's own records. */
export function fromPlain(v: unknown, depth = 0): Value {
  if (depth > 64) throw new PipelineError('nested too deeply');
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map((x) => fromPlain(x, depth + 1));
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '$float' && typeof o.$float === 'number') return new PyFloat(o.$float);
    const out: Mapping = {};
    for (const k of keys) Object.defineProperty(out, k, { value: fromPlain(o[k], depth + 1), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return null;
}
