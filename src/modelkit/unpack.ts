import { createReadStream, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import tar from 'tar-stream';
import { stringify } from 'yaml';
import type { Descriptor } from '../content/descriptor.js';
import { parseKitLayerType } from '../content/media-types.js';
import { MkError, UnsafePathError } from '../errors/index.js';
import type { OciLayoutStore } from '../stores/oci-layout/layout-store.js';
import { tmpName } from '../util/fs.js';
import { cleanPath } from './kitfile.js';

export type FilterType = 'kitfile' | 'model' | 'datasets' | 'code' | 'docs' | 'prompts';
export interface Filter {
  types: FilterType[];
  names: string[];
}

const TYPES: FilterType[] = ['kitfile', 'model', 'datasets', 'code', 'docs', 'prompts'];

/** Parses kit's `--filter` syntax: `types[:names]`, e.g. `model`, `datasets:train,test`. */
export function parseFilter(s: string): Filter {
  const parts = s.split(':');
  if (parts.length > 2) throw new MkError('EUSAGE', `invalid filter '${s}': should be in format <type1>,<type2>[:<filter1>,<filter2>]`, { exitCode: 2 });
  const types = parts[0] ? parts[0].split(',').map((t) => t.trim()) : [...TYPES];
  for (const t of types) if (!TYPES.includes(t as FilterType)) throw new MkError('EUSAGE', `invalid filter type '${t}' (one of ${TYPES.join(', ')})`, { exitCode: 2 });
  return { types: types as FilterType[], names: parts[1] ? parts[1].split(',').map((x) => x.trim()).filter(Boolean) : [] };
}

export interface ConfigEntry {
  type: Exclude<FilterType, 'kitfile'>;
  name?: string;
  path?: string;
  digest?: string;
}

/** The config entries of a ModelKit (kit config JSON), each with its base type. */
export function configEntries(cfg: any): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  if (cfg?.model) {
    out.push({ type: 'model', name: cfg.model.name, path: cfg.model.path, digest: cfg.model.digest });
    for (const p of cfg.model.parts ?? []) out.push({ type: 'model', name: p.name, path: p.path, digest: p.digest });
  }
  for (const c of cfg?.code ?? []) out.push({ type: 'code', path: c.path, digest: c.digest });
  for (const d of cfg?.datasets ?? []) out.push({ type: 'datasets', name: d.name, path: d.path, digest: d.digest });
  for (const d of cfg?.docs ?? []) out.push({ type: 'docs', path: d.path, digest: d.digest });
  for (const d of cfg?.prompts ?? []) out.push({ type: 'prompts', name: d.name, path: d.path, digest: d.digest });
  return out;
}

export function matches(filters: Filter[], type: FilterType, name?: string, path?: string): boolean {
  if (filters.length === 0) return true;
  return filters.some((f) => {
    if (!f.types.includes(type)) return false;
    if (f.names.length === 0) return true;
    const byName = type !== 'code' && type !== 'docs';
    return f.names.some((n) => (byName && n === name) || n === path || (path !== undefined && cleanPath(n) === cleanPath(path)));
  });
}

export interface UnpackTarget {
  dir: string;
  overwrite: boolean;
  ignoreExisting: boolean;
}

/** Resolves `rel` under `dir`, refusing escapes and symlinked parents. */
export function safeJoin(dir: string, rel: string): string {
  if (rel.startsWith('/') || rel.includes('\0') || rel.includes('\\')) throw new UnsafePathError(rel, 'absolute or malformed path in the ModelKit');
  const c = cleanPath(rel);
  if (c === '..' || c.startsWith('../')) throw new UnsafePathError(rel, 'it escapes the target directory');
  if (c === '.') return dir;
  const parts = c.split('/');
  let cur = dir;
  for (let i = 0; i < parts.length; i++) {
    cur = join(cur, parts[i]!);
    let st;
    try {
      st = lstatSync(cur);
    } catch {
      break;
    }
    if (st.isSymbolicLink()) throw new UnsafePathError(rel, `'${parts.slice(0, i + 1).join('/')}' is a symlink in the target directory`);
  }
  return join(dir, ...parts);
}

function exists(p: string): import('node:fs').Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/** Writes the Kitfile (YAML, without digests) as kit unpack does. */
export async function writeKitfile(cfg: unknown, t: UnpackTarget): Promise<void> {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (k !== 'digest' && k !== 'diffId') o[k] = strip(x);
      return o;
    }
    return v;
  };
  const text = stringify(strip(cfg));
  const dest = join(t.dir, 'Kitfile');
  const st = exists(dest);
  if (st && !t.overwrite) {
    if (readFileSync(dest, 'utf8') === text) return;
    if (t.ignoreExisting) return;
    throw new MkError('EEXIST', `${dest} already exists and differs from the ModelKit's Kitfile`, { hint: 'use -o to overwrite' });
  }
  mkdirSync(t.dir, { recursive: true });
  const tmp = tmpName(dest);
  await (await open(tmp, 'wx', 0o644)).writeFile(text).then(() => undefined);
  await rename(tmp, dest);
}

/**
 * Extracts a verified layer blob from the local store into the target: tar layers entry by
 * entry (regular files and directories only, every path checked), raw layers to their
 * `org.cncf.model.filepath`. Each file is written to a temporary name and renamed.
 */
export async function extractLayer(store: OciLayoutStore, desc: Descriptor, t: UnpackTarget): Promise<number> {
  const mt = parseKitLayerType(desc.mediaType);
  const format = mt?.format ?? (desc.mediaType.endsWith('.tar') || desc.mediaType.includes('.tar+') ? 'tar' : 'raw');
  if (mt?.compression) throw new MkError('EUNSUPPORTED', `compressed layers (${mt.compression}) are not supported yet: ${desc.digest}`);
  const blob = store.blobPath(desc);
  if (format === 'raw') {
    const rel = desc.annotations?.['org.cncf.model.filepath'];
    if (!rel) throw new MkError('EMODELKIT', `raw layer ${desc.digest} has no org.cncf.model.filepath annotation`);
    const dest = safeJoin(t.dir, rel);
    let mode = 0o644;
    try {
      const meta = JSON.parse(desc.annotations?.['org.cncf.model.file.metadata+json'] ?? '{}');
      if (typeof meta.mode === 'number') mode = meta.mode & 0o777;
    } catch {
      /* defaults */
    }
    if (!(await place(dest, t, async (tmp) => copyFile(blob, tmp)))) return 0;
    await chmod(dest, mode);
    return 1;
  }
  const ex = tar.extract();
  const input = createReadStream(blob);
  input.pipe(ex as unknown as NodeJS.WritableStream);
  let n = 0;
  for await (const entry of ex) {
    const h = entry.header;
    const dest = safeJoin(t.dir, h.name);
    if (h.type === 'directory') {
      const st = exists(dest);
      if (st && !st.isDirectory()) throw new MkError('EEXIST', `${dest} exists and is not a directory`);
      mkdirSync(dest, { recursive: true });
      entry.resume();
      continue;
    }
    if (h.type !== 'file') throw new UnsafePathError(h.name, `unsupported entry type '${h.type}' in layer ${desc.digest.slice(7, 19)}`);
    const wrote = await place(dest, t, async (tmp) => {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        for await (const c of entry as AsyncIterable<Buffer>) await fh.write(c);
      } finally {
        await fh.close();
      }
    });
    if (!wrote) entry.resume();
    else {
      await chmod(dest, (h.mode ?? 0o644) & 0o777);
      n++;
    }
  }
  return n;
}

async function place(dest: string, t: UnpackTarget, write: (tmp: string) => Promise<void>): Promise<boolean> {
  const st = exists(dest);
  if (st) {
    if (t.ignoreExisting) return false;
    if (!t.overwrite) throw new MkError('EEXIST', `path '${dest}' already exists`, { hint: 'use -o to overwrite or -i to keep existing files' });
    if (!st.isFile()) throw new MkError('EEXIST', `path '${dest}' already exists and is not a regular file`);
  }
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = tmpName(dest);
  try {
    await write(tmp);
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return true;
}
