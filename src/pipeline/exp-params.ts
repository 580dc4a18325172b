import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { UsageError } from '../errors/index.js';
import { yamlLib } from '../util/yaml-lazy.js';
import { DEFAULT_PARAMS_FILE } from './stages.js';

/**
 * `mk exp run -S [<file>:]<key>=<value>`: a parameter set for one experiment, as DVC's `-S`
 * reads it. The file defaults to params.yaml; the key is dotted (`train.lr`, `layers.0.size`);
 * the value is read as YAML (`0.2` is a number, `true` a boolean, `[1, 2]` a list, anything else
 * text). YAML files keep their comments and layout, JSON its indentation; TOML is written anew.
 */
export interface ParamSet {
  file: string;
  key: string;
  value: unknown;
  /** As given, for messages and the experiment's commit. */
  text: string;
}

export function parseParamSet(arg: string): ParamSet {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new UsageError(`-S ${arg}: expected [<file>:]<key>=<value>, e.g. -S train.lr=0.01`);
  const left = arg.slice(0, eq);
  const colon = left.lastIndexOf(':');
  const file = colon > 0 ? left.slice(0, colon) : DEFAULT_PARAMS_FILE;
  const key = colon > 0 ? left.slice(colon + 1) : left;
  if (!key || key.split('.').some((s) => s === '')) throw new UsageError(`-S ${arg}: '${key}' is not a dotted key, e.g. train.lr`);
  if (file.startsWith('/') || file.split('/').some((s) => s === '..' || s === '' || s === '.git')) throw new UsageError(`-S ${arg}: the params file must be a path inside the repository`);
  if (!/\.(ya?ml|json|toml)$/i.test(file)) throw new UsageError(`-S ${arg}: mk sets params in YAML, JSON or TOML files, not ${file}`);
  let value: unknown;
  try {
    value = yamlLib().parse(arg.slice(eq + 1));
  } catch {
    value = arg.slice(eq + 1);
  }
  return { file, key, value: value === undefined ? null : value, text: arg };
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function setPath(root: unknown, parts: string[], value: unknown, where: string): unknown {
  const base: Record<string, unknown> | unknown[] = isObject(root) || Array.isArray(root) ? root : {};
  const [head, ...rest] = parts as [string, ...string[]];
  if (Array.isArray(base)) {
    const i = Number(head);
    if (!Number.isInteger(i) || i < 0 || i > base.length) throw new UsageError(`${where}: '${head}' is not an index of the list there`);
    base[i] = rest.length ? setPath(base[i], rest, value, where) : value;
  } else base[head] = rest.length ? setPath(base[head], rest, value, where) : value;
  return base;
}

/** The params file's text with the sets applied (`text` undefined: the file does not exist yet). */
export function applyParamSets(file: string, text: string | undefined, sets: ParamSet[]): string {
  if (/\.json$/i.test(file)) {
    let v: unknown = {};
    if (text !== undefined && text.trim()) {
      try {
        v = JSON.parse(text);
      } catch {
        throw new UsageError(`${file} is not valid JSON: mk cannot set params in it`);
      }
    }
    for (const s of sets) v = setPath(v, s.key.split('.'), s.value, `-S ${s.text}`);
    const indent = /^[ \t]*\{\r?\n([ \t]+)"/.exec(text ?? '')?.[1] ?? '  ';
    return JSON.stringify(v, null, indent) + '\n';
  }
  if (/\.toml$/i.test(file)) return tomlApply(file, text, sets);
  const Y = yamlLib();
  const doc = Y.parseDocument(text ?? '', { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) throw new UsageError(`${file} is not valid YAML: mk cannot set params in it`);
  if (doc.contents === null) doc.contents = doc.createNode({}) as never;
  for (const s of sets) {
    const path = s.key.split('.').map((p) => (/^\d+$/.test(p) && Y.isSeq(doc.getIn(s.key.split('.').slice(0, -1))) ? Number(p) : p));
    try {
      doc.setIn(path, s.value);
    } catch {
      throw new UsageError(`-S ${s.text}: ${file} has something other than a mapping on the way to '${s.key}'`);
    }
  }
  return doc.toString();
}

function tomlApply(file: string, text: string | undefined, sets: ParamSet[]): string {
  let v: unknown;
  try {
    v = text === undefined ? {} : parseToml(text);
  } catch {
    throw new UsageError(`${file} is not valid TOML: mk cannot set params in it`);
  }
  for (const s of sets) v = setPath(v, s.key.split('.'), s.value, `-S ${s.text}`);
  return stringifyToml(v as Record<string, unknown>) + '\n';
}
