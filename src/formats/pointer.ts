import { readYamlBounded } from '../util/yaml-bounded.js';
import { isDigest } from '../content/descriptor.js';
import { PointerConflictError, PointerError } from '../errors/index.js';

/** A tracked artifact `data/train.csv` has its pointer at `data/train.csv.mk.yaml`. */
export const POINTER_SUFFIX = '.mk.yaml';
/** Pointers are small; anything larger is not one (and is refused, not read whole). */
export const MAX_POINTER_BYTES = 4096;
export const POINTER_VERSION = 1;

import { KINDS, type Kind } from './kinds.js';
export { KINDS, type Kind };

export interface Pointer {
  /** Format version: always 1 for now. */
  version: 1;
  kind: Kind;
  /** A single file, or a directory whose file list is the blob named by `digest`. */
  type: 'file' | 'dir';
  /** sha256 of the file, or of the directory manifest blob. */
  digest: string;
  /** Bytes of the file, or the sum of the directory's file sizes. */
  size: number;
  /** Number of files (directories only). */
  files?: number;
  /** The file is executable (files only). */
  exec?: boolean;
  /** Free text, kept as written. */
  description?: string;
}

const KEYS = new Set(['mk', 'kind', 'type', 'digest', 'size', 'files', 'exec', 'description']);

export function isPointerPath(p: string): boolean {
  return p.endsWith(POINTER_SUFFIX) && p.length > POINTER_SUFFIX.length;
}

export function pointerPathFor(dataPath: string): string {
  return dataPath + POINTER_SUFFIX;
}

export function dataPathFor(pointerPath: string): string {
  return pointerPath.slice(0, -POINTER_SUFFIX.length);
}

/** True when the text declares itself an mk pointer (its first key is `mk:`). */
export function looksLikePointer(text: string): boolean {
  return /^(?:#[^\n]*\n|\s*\n)*mk:/.test(text);
}

/**
 * Parses and validates a pointer. `file` names it in errors. Rejects: anything over
 * MAX_POINTER_BYTES, unknown versions and keys, bad digests, negative or fractional sizes.
 */
export function parsePointer(text: string, file: string): Pointer {
  if (text.length > MAX_POINTER_BYTES) throw new PointerError(file, `larger than ${MAX_POINTER_BYTES} bytes`);
  if (/^<{7} /m.test(text) && /^>{7} /m.test(text)) throw new PointerConflictError(file);
  if (!looksLikePointer(text)) throw new PointerError(file, "it does not start with 'mk: <version>'");
  const v = parseCanonical(text) ?? parseYaml(text, file);
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new PointerError(file, 'not a YAML mapping');
  for (const k of Object.keys(v)) if (!KEYS.has(k)) throw new PointerError(file, `unknown key '${k}'`);
  if (v.mk !== POINTER_VERSION) throw new PointerError(file, `unsupported format version ${JSON.stringify(v.mk)} (this mk reads version ${POINTER_VERSION}; upgrade mk)`);
  if (!KINDS.includes(v.kind as Kind)) throw new PointerError(file, `kind must be one of ${KINDS.join(', ')}, not ${JSON.stringify(v.kind)}`);
  if (v.type !== 'file' && v.type !== 'dir') throw new PointerError(file, `type must be 'file' or 'dir', not ${JSON.stringify(v.type)}`);
  if (!isDigest(v.digest)) throw new PointerError(file, `digest must be 'sha256:' and 64 lowercase hex digits, not ${JSON.stringify(v.digest)}`);
  if (!Number.isSafeInteger(v.size) || (v.size as number) < 0) throw new PointerError(file, `size must be a whole number of bytes, not ${JSON.stringify(v.size)}`);
  const p: Pointer = { version: 1, kind: v.kind as Kind, type: v.type, digest: v.digest, size: v.size as number };
  if (v.type === 'dir') {
    if (!Number.isSafeInteger(v.files) || (v.files as number) < 0) throw new PointerError(file, `a directory pointer needs 'files', a whole number, not ${JSON.stringify(v.files)}`);
    p.files = v.files as number;
    if (v.exec !== undefined) throw new PointerError(file, "'exec' is for files only");
  } else {
    if (v.files !== undefined) throw new PointerError(file, "'files' is for directories only");
    if (v.exec !== undefined && typeof v.exec !== 'boolean') throw new PointerError(file, "'exec' must be true or false");
    if (v.exec === true) p.exec = true;
  }
  if (v.description !== undefined) {
    if (typeof v.description !== 'string') throw new PointerError(file, "'description' must be text");
    p.description = v.description;
  }
  return p;
}

const LINE = /^([a-z_]+): ?(.*)$/;

/**
 * Reads the canonical form mk writes (one `key: plain-value` per line) without loading a
 * YAML parser; anything else returns undefined and goes through the full YAML parser.
 */
function parseCanonical(text: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) return undefined;
    const [, key, value] = m as unknown as [string, string, string];
    if (key in out) return undefined; // duplicates: let the YAML parser report them
    if (/^\d+$/.test(value)) out[key] = Number(value);
    else if (value === 'true' || value === 'false') out[key] = value === 'true';
    else if (/^sha256:[0-9a-zA-Z]*$|^[a-z]+$/.test(value)) out[key] = value;
    else if (/^"(?:[^"\\]|\\.)*"$/.test(value)) {
      try {
        out[key] = JSON.parse(value);
      } catch {
        return undefined;
      }
    } else return undefined;
  }
  return out;
}

function parseYaml(text: string, file: string): Record<string, unknown> | null {
  // A pointer is a few plain lines: no aliases, a few keys.
  const r = readYamlBounded(text, { maxAliases: 0, maxValues: 64 });
  if (!r.ok) throw new PointerError(file, r.bound ? `it holds ${r.problem}` : `not valid YAML (${r.problem})`);
  return r.value as Record<string, unknown> | null;
}

/**
 * The first line of a pointer that Git stores in place of a file (through mk's Git filter):
 * it names no file, so the text stays the same when the file is moved or renamed.
 */
const FILTERED_COMMENT = '# mk pointer: Git stores this in place of the file; mk keeps its bytes (format: mk docs/pointer-format.md)';

/** The one canonical encoding: fixed key order, no optional key that is unset. */
export function serializePointer(p: Pointer, dataName?: string): string {
  const lines = [
    dataName === undefined ? FILTERED_COMMENT : `# mk pointer: the bytes of '${dataName.replace(/[\r\n]/g, ' ')}' are kept by mk; do not edit (format: mk docs/pointer-format.md)`,
    `mk: ${POINTER_VERSION}`,
    `kind: ${p.kind}`,
    `type: ${p.type}`,
    `digest: ${p.digest}`,
    `size: ${p.size}`,
  ];
  if (p.type === 'dir') lines.push(`files: ${p.files ?? 0}`);
  if (p.type === 'file' && p.exec) lines.push('exec: true');
  if (p.description !== undefined) lines.push(`description: ${JSON.stringify(p.description)}`);
  return lines.join('\n') + '\n';
}

export function samePointerData(a: Pointer | undefined, b: Pointer | undefined): boolean {
  if (!a || !b) return a === b;
  return a.digest === b.digest && a.type === b.type && a.size === b.size && !!a.exec === !!b.exec;
}

const MODEL_EXT = /\.(safetensors|pt|pth|ckpt|bin|onnx|gguf|ggml|h5|keras|pb|tflite|pkl|joblib|mlmodel|engine|plan|msgpack)$/i;

/** A guess at the kind of a newly tracked path, when the user gave none. */
export function guessKind(path: string): Kind {
  return MODEL_EXT.test(path) || /(^|\/)(models?|checkpoints?)(\/|$)/i.test(path) ? 'model' : 'dataset';
}
