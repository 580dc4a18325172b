import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/fs.js';
import { yamlLib } from '../util/yaml-lazy.js';
import { PipelineError } from './errors.js';
import { isMapping, MAX_PIPELINE_FILE, parseYamlText, PyFloat, type Mapping, type Value } from './values.js';

/**
 * dvc.lock, in DVC's own shape (schema 2.0): for each stage that ran, its command after
 * interpolation, and its deps, params and outs as they were, by DVC's md5 digests. mk reads
 * it to decide what is stale and writes it after each stage, so `dvc status`/`dvc repro` and
 * `mk repro` read the same record and decide alike. DVC refuses keys it does not know in this
 * file, so mk's own digests (sha256) live elsewhere: in the pointers of what mk tracks.
 */

/** One dep or out of a stage as the lock records it. */
export interface LockItem {
  /** As written in the pipeline file (relative to the stage's wdir). */
  path: string;
  /** DVC's md5 (`<hex>` for a file, `<hex>.dir` for a folder); undefined: another kind of digest (etag...). */
  md5?: string;
  size?: number;
  nfiles?: number;
  isexec?: boolean;
  /** False for an entry DVC 2.x wrote (md5 of the text with CRLF as LF: 'md5-dos2unix'). */
  modern: boolean;
}

export interface LockStage {
  cmd: string | string[];
  deps: LockItem[];
  /** params file (as written) → key → value. */
  params: Record<string, Mapping>;
  outs: LockItem[];
}

export interface LockFile {
  path: string;
  stages: Map<string, LockStage>;
  /** Top-level keys other than schema and stages, kept as they are (DVC's `datasets`). */
  extra: Mapping;
}

function item(v: Value, where: string): LockItem {
  if (!isMapping(v) || typeof v.path !== 'string') throw new PipelineError(`${where}: each entry needs a path`);
  const it: LockItem = { path: v.path, modern: v.hash === 'md5' };
  if (typeof v.md5 === 'string') it.md5 = v.md5;
  if (typeof v.size === 'number') it.size = v.size;
  if (typeof v.nfiles === 'number') it.nfiles = v.nfiles;
  if (v.isexec === true) it.isexec = true;
  return it;
}

/** Reads a lock file (absent: an empty one). Anything malformed is one line naming the file. */
export function readLock(absPath: string, rel: string): LockFile {
  let text: string;
  try {
    const buf = readFileSync(absPath);
    if (buf.length > MAX_PIPELINE_FILE) throw new PipelineError(`${rel}: too large (${buf.length} bytes)`);
    text = buf.toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { path: rel, stages: new Map(), extra: {} };
    throw e;
  }
  return parseLock(text, rel);
}

export function parseLock(text: string, rel: string): LockFile {
  const v = parseYamlText(text, rel);
  const lf: LockFile = { path: rel, stages: new Map(), extra: {} };
  if (v === null) return lf;
  if (!isMapping(v)) throw new PipelineError(`${rel}: not a lock file (expected a mapping)`);
  if (v.schema !== '2.0')
    throw new PipelineError(
      `${rel}: lock file schema ${v.schema === undefined ? '1 (DVC 1.x)' : JSON.stringify(v.schema)} is not supported`,
      "delete it and run 'mk repro' to write a new one (every stage then runs once)",
    );
  for (const k of Object.keys(v)) if (k !== 'schema' && k !== 'stages') lf.extra[k] = v[k]!;
  const stages = v.stages ?? {};
  if (!isMapping(stages)) throw new PipelineError(`${rel}: 'stages' must be a mapping`);
  for (const name of Object.keys(stages)) {
    const s = stages[name]!;
    const where = `${rel}: stage '${name}'`;
    if (!isMapping(s)) throw new PipelineError(`${where}: must be a mapping`);
    const cmd = s.cmd;
    if (!(typeof cmd === 'string' || (Array.isArray(cmd) && cmd.every((c) => typeof c === 'string')))) throw new PipelineError(`${where}: 'cmd' must be a command or a list`);
    const list = (k: string) => {
      const x = s[k] ?? [];
      if (!Array.isArray(x)) throw new PipelineError(`${where}: '${k}' must be a list`);
      return x.map((e) => item(e, `${where}.${k}`));
    };
    const params: Record<string, Mapping> = {};
    const p = s.params ?? {};
    if (!isMapping(p)) throw new PipelineError(`${where}: 'params' must be a mapping of files`);
    for (const f of Object.keys(p)) {
      const vals = p[f];
      if (!isMapping(vals)) throw new PipelineError(`${where}: params of '${f}' must be a mapping`);
      params[f] = vals;
    }
    lf.stages.set(name, { cmd: cmd as string | string[], deps: list('deps'), params, outs: list('outs') });
  }
  return lf;
}

function yamlValue(v: Value): unknown {
  const Y = yamlLib();
  if (v instanceof PyFloat) {
    const s = new Y.Scalar(v.value);
    s.minFractionDigits = Number.isInteger(v.value) ? 1 : 0;
    return s;
  }
  if (Array.isArray(v)) return v.map(yamlValue);
  if (isMapping(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) o[k] = yamlValue(v[k]!);
    return o;
  }
  return v;
}

function itemOut(it: LockItem): Record<string, unknown> {
  const o: Record<string, unknown> = { path: it.path };
  if (it.modern) o.hash = 'md5';
  if (it.md5 !== undefined) o.md5 = it.md5;
  if (it.size !== undefined) o.size = it.size;
  if (it.nfiles !== undefined) o.nfiles = it.nfiles;
  if (it.isexec) o.isexec = true;
  return o;
}

/** The text of a lock file, in DVC's order: schema, then each stage's cmd, deps, params, outs. */
export function serializeLock(lf: LockFile): string {
  const Y = yamlLib();
  const stages: Record<string, unknown> = {};
  for (const [name, s] of lf.stages) {
    const e: Record<string, unknown> = { cmd: s.cmd };
    if (s.deps.length) e.deps = s.deps.map(itemOut);
    const files = Object.keys(s.params);
    if (files.length) {
      const p: Record<string, unknown> = {};
      for (const f of files) p[f] = yamlValue(s.params[f]!);
      e.params = p;
    }
    if (s.outs.length) e.outs = s.outs.map(itemOut);
    stages[name] = e;
  }
  const top: Record<string, unknown> = { schema: '2.0', stages };
  for (const k of Object.keys(lf.extra)) top[k] = yamlValue(lf.extra[k]!);
  const doc = new Y.Document(top);
  return doc.toString({ singleQuote: true, lineWidth: 0, indentSeq: false });
}

export async function writeLock(absPath: string, lf: LockFile): Promise<void> {
  await writeFileAtomic(absPath, serializeLock(lf));
}

/** DVC's order: items sorted by path; params files with params.yaml first, then by name, keys sorted. */
export function sortItems(items: LockItem[]): LockItem[] {
  return [...items].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function sortParams(params: Record<string, Mapping>): Record<string, Mapping> {
  const files = Object.keys(params).sort((a, b) => (a === 'params.yaml' ? -1 : b === 'params.yaml' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  const out: Record<string, Mapping> = {};
  for (const f of files) {
    const vals: Mapping = {};
    for (const k of Object.keys(params[f]!).sort()) Object.defineProperty(vals, k, { value: params[f]![k], enumerable: true, writable: true, configurable: true });
    out[f] = vals;
  }
  return out;
}
