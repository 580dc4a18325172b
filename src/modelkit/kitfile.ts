import { isMap, isSeq, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { readYamlBounded } from '../util/yaml-bounded.js';
import { MkError } from '../errors/index.js';

import { KITFILE_NAMES } from './names.js';
export { KITFILE_NAMES };

export interface LayerInfo {
  digest?: string;
  diffId?: string;
}
export interface KitPackage {
  name?: string;
  version?: string;
  description?: string;
  license?: string;
  authors?: string[];
}
export interface KitModelPart extends LayerInfo {
  name?: string;
  path?: string;
  license?: string;
  type?: string;
}
export interface KitModel extends LayerInfo {
  name?: string;
  path?: string;
  license?: string;
  framework?: string;
  format?: string;
  version?: string;
  description?: string;
  parts?: KitModelPart[];
  parameters?: unknown;
}
export interface KitCode extends LayerInfo {
  path?: string;
  description?: string;
  license?: string;
}
export interface KitDataset extends LayerInfo {
  name?: string;
  path?: string;
  remotePath?: string;
  remoteHash?: string;
  description?: string;
  license?: string;
  parameters?: unknown;
}
export interface KitDocs extends LayerInfo {
  path: string;
  description?: string;
}
export interface KitPrompt extends LayerInfo {
  name?: string;
  path?: string;
  description?: string;
}
export interface KitMcpServer extends LayerInfo {
  name?: string;
  path?: string;
  description?: string;
}

export interface Kitfile {
  manifestVersion: string;
  package?: KitPackage;
  model?: KitModel;
  code?: KitCode[];
  datasets?: KitDataset[];
  docs?: KitDocs[];
  prompts?: KitPrompt[];
  mcpServers?: KitMcpServer[];
}

/** A Kitfile problem, naming the file and the line. */
export class KitfileError extends MkError {
  constructor(file: string, line: number | undefined, problem: string) {
    super('EKITFILE', `${file}${line ? `:${line}` : ''}: ${problem}`, { hint: 'fix the Kitfile (schema: https://kitops.org/docs/kitfile/format/)', data: { file, line } });
  }
}

interface Spec {
  [key: string]: 'string' | 'strings' | 'any' | Spec | [Spec];
}
const PART: Spec = { name: 'string', path: 'string', license: 'string', type: 'string' };
const SCHEMA: Spec = {
  manifestVersion: 'string',
  package: { name: 'string', version: 'string', description: 'string', license: 'string', authors: 'strings' },
  model: { name: 'string', path: 'string', license: 'string', framework: 'string', format: 'string', version: 'string', description: 'string', parts: [PART], parameters: 'any' },
  code: [{ path: 'string', description: 'string', license: 'string' }],
  datasets: [{ name: 'string', path: 'string', remotePath: 'string', remoteHash: 'string', description: 'string', license: 'string', parameters: 'any' }],
  docs: [{ path: 'string', description: 'string' }],
  prompts: [{ name: 'string', path: 'string', description: 'string' }],
  mcpServers: [{ name: 'string', path: 'string', description: 'string' }],
};

/** Parses a Kitfile strictly (unknown keys are errors, as kit's KnownFields decoder) and validates it. */
export function parseKitfile(text: string, file = 'Kitfile'): Kitfile {
  const r = readYamlBounded(text);
  if (!r.ok) throw new KitfileError(file, r.line, r.problem);
  const { doc, lines } = r;
  const lineOf = (n: Node | null | undefined) => (n?.range ? lines.linePos(n.range[0]).line : undefined);
  checkNode(doc.contents as Node, SCHEMA, '', file, lineOf);
  const kf = (r.value ?? {}) as Kitfile;
  validateKitfile(kf, file, (path) => lineOf(findPathNode(doc, path)));
  return kf;
}

function checkNode(node: Node | null, spec: Spec, where: string, file: string, lineOf: (n: Node | null | undefined) => number | undefined): void {
  if (!isMap(node)) throw new KitfileError(file, lineOf(node), `${where || 'the Kitfile'} must be a mapping`);
  for (const item of node.items) {
    const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
    const at = where ? `${where}.${key}` : key;
    const s = spec[key];
    if (s === undefined) throw new KitfileError(file, lineOf(item.key as Node), `unknown field '${at}' (allowed here: ${Object.keys(spec).join(', ')})`);
    const v = item.value as Node | null;
    if (s === 'any') continue;
    if (s === 'string') {
      if (!isScalar(v) || (v.value !== null && typeof v.value === 'object')) throw new KitfileError(file, lineOf(v ?? (item.key as Node)), `'${at}' must be text`);
      continue;
    }
    if (s === 'strings') {
      if (!isSeq(v) || v.items.some((x) => !isScalar(x))) throw new KitfileError(file, lineOf(v ?? (item.key as Node)), `'${at}' must be a list of text`);
      continue;
    }
    if (Array.isArray(s)) {
      if (!isSeq(v)) throw new KitfileError(file, lineOf(v ?? (item.key as Node)), `'${at}' must be a list`);
      v.items.forEach((x, i) => checkNode(x as Node, s[0], `${at}[${i}]`, file, lineOf));
      continue;
    }
    checkNode(v, s, at, file, lineOf);
  }
}

function findPathNode(doc: Document, path: string): Node | undefined {
  let found: Node | undefined;
  const visit = (n: unknown) => {
    if (found) return;
    if (isMap(n))
      for (const it of n.items) {
        if (isScalar(it.key) && it.key.value === 'path' && isScalar(it.value) && it.value.value === path) found = it.value as Node;
        else visit(it.value);
      }
    else if (isSeq(n)) n.items.forEach(visit);
  };
  visit(doc.contents);
  return found;
}

/** The line of the first `path: <path>` value in a Kitfile's text, if any. */
export function kitfileLineOfPath(text: string, path: string): number | undefined {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const n = findPathNode(doc, path);
  return n?.range ? lc.linePos(n.range[0]).line : undefined;
}

export function isModelKitReference(p: string | undefined): boolean {
  return !!p && /^[^/\s]+\.[^/\s]*\/|^[^/\s]+:\d+\//.test(p) && (p.includes(':') || p.includes('@')) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(p);
}

export interface KitEntryRef {
  section: 'model' | 'modelpart' | 'code' | 'datasets' | 'docs' | 'prompts' | 'mcpServers';
  entry: { path?: string; name?: string } & LayerInfo;
  index: number;
}

/** Every entry of the Kitfile with a path, in kit's layer order. */
export function kitEntries(kf: Kitfile): KitEntryRef[] {
  const out: KitEntryRef[] = [];
  if (kf.model) out.push({ section: 'model', entry: kf.model, index: 0 });
  (kf.model?.parts ?? []).forEach((e, i) => out.push({ section: 'modelpart', entry: e, index: i }));
  (kf.code ?? []).forEach((e, i) => out.push({ section: 'code', entry: e, index: i }));
  (kf.datasets ?? []).forEach((e, i) => out.push({ section: 'datasets', entry: e, index: i }));
  (kf.docs ?? []).forEach((e, i) => out.push({ section: 'docs', entry: e, index: i }));
  (kf.prompts ?? []).forEach((e, i) => out.push({ section: 'prompts', entry: e, index: i }));
  (kf.mcpServers ?? []).forEach((e, i) => out.push({ section: 'mcpServers', entry: e, index: i }));
  return out;
}

export function cleanPath(p: string | undefined): string {
  if (!p) return '.';
  const parts: string[] = [];
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..' && parts.length && parts[parts.length - 1] !== '..') parts.pop();
    else parts.push(s);
  }
  return parts.join('/') || '.';
}

/** The rules kit enforces (pkg/artifact/kitfile.go Validate), plus "no path leaves the project". */
export function validateKitfile(kf: Kitfile, file: string, lineOfPath: (p: string) => number | undefined = () => undefined): void {
  if (typeof kf.manifestVersion !== 'string' || kf.manifestVersion === '') throw new KitfileError(file, 1, "'manifestVersion' is required (use 1.0.0)");
  if (!kf.model && !kf.code?.length && !kf.datasets?.length && !kf.docs?.length && !kf.prompts?.length) {
    throw new KitfileError(file, undefined, 'a Kitfile needs at least one of model, code, datasets, docs or prompts');
  }
  const seen = new Map<string, string>();
  for (const { section, entry, index } of kitEntries(kf)) {
    const label = section === 'model' || section === 'modelpart' ? `${section} ${entry.name ?? ''}`.trim() : `${section}[${index}]`;
    const p = entry.path;
    if (section === 'docs' && (p === undefined || p === '')) throw new KitfileError(file, undefined, `${label}: 'path' is required`);
    if (section === 'model' && isModelKitReference(p)) continue;
    if (p && /^[a-z][a-z0-9+.-]*:\/\//i.test(p)) throw new KitfileError(file, lineOfPath(p), `${label}: only local paths are allowed, not ${p}`);
    if (p && p.startsWith('/')) throw new KitfileError(file, lineOfPath(p), `absolute paths are not supported in a Kitfile (path ${p} in ${label})`);
    const c = cleanPath(p);
    if (c === '..' || c.startsWith('../')) throw new KitfileError(file, lineOfPath(p ?? ''), `${label}: path ${p} is outside the project`);
    if (section === 'mcpServers' && !c.endsWith('.mcpb')) throw new KitfileError(file, lineOfPath(p ?? ''), `${label}: path must point to a single .mcpb file`);
    if (section === 'prompts') continue;
    const prev = seen.get(c);
    if (prev) throw new KitfileError(file, lineOfPath(p ?? ''), `${prev} and ${label} use the same path ${c}`);
    seen.set(c, label);
  }
  for (const part of kf.model?.parts ?? []) {
    if (part.type !== undefined && (!/^[\w][\w.-]*$/.test(part.type) || part.type.length > 64)) {
      throw new KitfileError(file, lineOfPath(part.path ?? ''), `modelpart ${part.name ?? ''} has an invalid type (letters, digits, dots, dashes, underscores; at most 64)`);
    }
  }
}
