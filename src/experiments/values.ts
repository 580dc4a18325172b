import { parse as parseToml } from 'smol-toml';
import { MkError } from '../errors/index.js';
import { readYamlBounded, roughValueCount } from '../util/yaml-bounded.js';

/** One parameter or metric value, as compared and shown (lists and dates become text). */
export type Scalar = number | string | boolean | null;

/** Keys flattened with dots (`train.lr`), in the file's order. */
export type FlatValues = Record<string, Scalar>;

/** A params or metrics file that cannot be read as a mapping of values. */
export class ExperimentFileError extends MkError {
  constructor(path: string, problem: string) {
    super('EEXPFILE', `${path}: ${problem}`, { hint: 'fix the file, or remove it from params/metrics in .mk/config.yaml', data: { path } });
  }
}

/** At most this many bytes are read from a params or metrics file (they are small by nature). */
export const MAX_VALUES_FILE = 8 * 1024 * 1024;

/**
 * At most this many values (keys and list items, at any depth) in one file: far more than any
 * table or report of them can show, and few enough that every view of them stays fast.
 */
export const MAX_VALUES = 10_000;

type Format = 'yaml' | 'json' | 'toml';

function formatOf(path: string): Format {
  const ext = path.toLowerCase().split('.').pop() ?? '';
  if (ext === 'toml') return 'toml';
  if (ext === 'json') return 'json';
  return 'yaml'; // YAML reads JSON too
}

/** A file's contents as a plain object (a mapping), by its extension: YAML, JSON or TOML. */
export function parseValuesFile(bytes: Uint8Array, path: string): Record<string, unknown> {
  if (bytes.length > MAX_VALUES_FILE) throw new ExperimentFileError(path, `too large (${bytes.length} bytes; at most ${MAX_VALUES_FILE})`);
  const text = Buffer.from(bytes).toString('utf8');
  let v: unknown;
  const format = formatOf(path);
  // Far over the bound: refused before a parser spends seconds on it.
  if (roughValueCount(text, 4 * MAX_VALUES) > 4 * MAX_VALUES) throw new ExperimentFileError(path, `holds more than ${MAX_VALUES} values (the most one params or metrics file may hold)`);
  if (format === 'yaml') {
    const r = readYamlBounded(text, { dates: true, maxValues: MAX_VALUES });
    if (!r.ok)
      throw new ExperimentFileError(
        path,
        r.bound ? `holds ${r.problem} (the most one params or metrics file may hold is ${MAX_VALUES} values)` : `not valid YAML: ${r.line ? `line ${r.line}: ` : ''}${r.problem}`,
      );
    v = r.value;
  } else {
    try {
      v = format === 'toml' ? parseToml(text) : JSON.parse(text);
    } catch (e) {
      throw new ExperimentFileError(path, `not valid ${format.toUpperCase()}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ExperimentFileError(path, `expected a mapping of names to values, not ${Array.isArray(v) ? 'a list' : typeof v}`);
  return plain(v, path, { left: MAX_VALUES }) as Record<string, unknown>;
}

/** A copy with only JSON values: plain objects (no prototype tricks), dates as text; at most `budget.left` values. */
function plain(v: unknown, path: string, budget: { left: number }, depth = 0): unknown {
  if (depth > 64) throw new ExperimentFileError(path, 'nested more than 64 levels deep');
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  const count = (n: number): void => {
    budget.left -= n;
    if (budget.left < 0) throw new ExperimentFileError(path, `holds more than ${MAX_VALUES} values (the most one params or metrics file may hold)`);
  };
  if (Array.isArray(v)) {
    count(v.length);
    return v.map((x) => plain(x, path, budget, depth + 1));
  }
  if (typeof v === 'object') {
    // A date of a parser's own (TOML's): its own text.
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    if (typeof (v as { toISOString?: unknown }).toISOString === 'function') return String(v);
    const entries = Object.entries(v as object);
    count(entries.length);
    const o: Record<string, unknown> = {};
    for (const [k, x] of entries) Object.defineProperty(o, k, { value: plain(x, path, budget, depth + 1), enumerable: true, writable: true, configurable: true });
    return o;
  }
  if (typeof v === 'bigint') return Number(v);
  return String(v as string); // undefined, a symbol or a function: never an object here
}

/** Nested mappings flattened to dotted keys; lists are one value (their JSON text). */
export function flatten(obj: Record<string, unknown>, prefix = '', out: FlatValues = {}): FlatValues {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      if (Object.keys(v).length === 0) out[key] = '{}';
      else flatten(v as Record<string, unknown>, key, out);
    } else if (Array.isArray(v)) out[key] = JSON.stringify(v);
    else out[key] = v as Scalar;
  }
  return out;
}

/** Deep merge of mappings: later files win key by key. */
export function mergeNested(into: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (cur && typeof cur === 'object' && !Array.isArray(cur) && v && typeof v === 'object' && !Array.isArray(v)) mergeNested(cur as Record<string, unknown>, v as Record<string, unknown>);
    else Object.defineProperty(into, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return into;
}
