import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Descriptor } from '../content/descriptor.js';
import { isDigest } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { parseImageManifest } from '../content/oci-manifest.js';
import { bufferSource, readAll, type CacheStore, type Fetcher } from '../content/storage.js';
import { sha256, verifying } from '../hashing/digest.js';
import { writeFileAtomicSync } from '../util/fs.js';
import { fromPlain, isMapping, toPlain, type Mapping } from './values.js';

/**
 * The run cache: "this command, with deps of these digests and params of these values, gave
 * these outputs". An entry is an OCI artifact (an image manifest whose config is the entry
 * and whose layers are every blob of the outputs), so it is content-addressed, lives in mk's
 * cache like any blob, and travels to a remote by the one graph copy, tagged `mk-run-<key>`
 * where the key is the sha256 of the inputs. Anything read back, from the cache or a remote,
 * is checked before its outputs are used: the key is recomputed from the entry's own inputs,
 * its outputs must be exactly the stage's, and every byte is checked against its sha256 when
 * it is fetched and placed. Layout: docs/spec/run-cache.md.
 */

export const RUN_ARTIFACT_TYPE = 'application/vnd.mk.run-cache.v1';
export const RUN_ENTRY_MEDIA_TYPE = 'application/vnd.mk.run-cache.entry.v1+json';
export const RUN_TAG_PREFIX = 'mk-run-';
export const RUN_KEY_ANNOTATION = 'dev.mk.run-cache.key';
export const RUN_STAGE_ANNOTATION = 'dev.mk.run-cache.stage';
/** An entry (the config) is small: a list of paths and digests. */
const MAX_ENTRY = 1 << 20;

export interface RunInputs {
  cmd: string | string[];
  /** Deps as the lock names them (relative to the stage's folder), with DVC's md5. */
  deps: Array<{ path: string; md5: string }>;
  /** params file → key → value, as the lock records them. */
  params: Record<string, Mapping>;
}

export interface RunPointer {
  type: 'file' | 'dir';
  digest: string;
  size: number;
  files?: number;
}

export interface RunOutput {
  path: string;
  md5: string;
  size: number;
  nfiles?: number;
  isexec?: boolean;
  /** true: tracked by mk (its pointer); false: a file Git keeps (its bytes are `blob`). */
  cache: boolean;
  pointer?: RunPointer;
  blob?: { digest: string; size: number };
}

export interface RunEntry {
  version: 1;
  key: string;
  stage: string;
  inputs: RunInputs;
  outs: RunOutput[];
}

/** JSON with keys sorted at every level: one text for one value. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(canonicalJson).join(',') + ']';
  const o = v as Record<string, unknown>;
  return (
    '{' +
    Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => JSON.stringify(k) + ':' + canonicalJson(o[k]))
      .join(',') +
    '}'
  );
}

function plainInputs(i: RunInputs): unknown {
  const params: Record<string, unknown> = {};
  for (const f of Object.keys(i.params)) params[f] = toPlain(i.params[f]!);
  return { cmd: i.cmd, deps: [...i.deps].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((d) => ({ path: d.path, md5: d.md5 })), params };
}

/** The run key: sha256 (hex) of the canonical JSON of the inputs. */
export function runKey(i: RunInputs): string {
  return createHash('sha256')
    .update(canonicalJson(plainInputs(i)))
    .digest('hex');
}

export function entryBytes(e: RunEntry): Buffer {
  return Buffer.from(canonicalJson({ version: e.version, key: e.key, stage: e.stage, inputs: plainInputs(e.inputs), outs: e.outs }));
}

const HEX64 = /^[0-9a-f]{64}$/;
const MD5 = /^[0-9a-f]{32}(\.dir)?$/;

/** Checks an entry read from outside; the problem, or undefined when it is usable for `key`. */
export function parseEntry(bytes: Uint8Array, key: string): RunEntry | string {
  if (bytes.length > MAX_ENTRY) return 'entry too large';
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return 'entry is not JSON';
  }
  const o = v as Record<string, unknown>;
  if (!o || typeof o !== 'object' || o.version !== 1) return 'not a version 1 entry';
  if (o.key !== key || typeof o.stage !== 'string') return 'entry is for another key';
  const inp = o.inputs as Record<string, unknown> | undefined;
  if (!inp || typeof inp !== 'object') return 'entry has no inputs';
  const cmd = inp.cmd;
  if (!(typeof cmd === 'string' || (Array.isArray(cmd) && cmd.every((c) => typeof c === 'string')))) return 'entry has no command';
  if (!Array.isArray(inp.deps) || !inp.deps.every((d) => d && typeof d.path === 'string' && typeof d.md5 === 'string' && MD5.test(d.md5))) return 'entry deps are malformed';
  if (!inp.params || typeof inp.params !== 'object' || Array.isArray(inp.params)) return 'entry params are malformed';
  const params: Record<string, Mapping> = {};
  try {
    for (const [f, vals] of Object.entries(inp.params as Record<string, unknown>)) {
      const m = fromPlain(vals);
      if (!isMapping(m)) return 'entry params are malformed';
      params[f] = m;
    }
  } catch {
    return 'entry params are malformed';
  }
  const inputs: RunInputs = { cmd: cmd as string | string[], deps: (inp.deps as Array<{ path: string; md5: string }>).map((d) => ({ path: d.path, md5: d.md5 })), params };
  // The key is the inputs' digest: an entry served under a key must be about exactly those inputs.
  if (runKey(inputs) !== key) return "entry's inputs do not give its key";
  if (!Array.isArray(o.outs)) return 'entry has no outputs';
  const outs: RunOutput[] = [];
  for (const x of o.outs as Array<Record<string, unknown>>) {
    if (!x || typeof x.path !== 'string' || typeof x.md5 !== 'string' || !MD5.test(x.md5) || !Number.isSafeInteger(x.size) || (x.size as number) < 0 || typeof x.cache !== 'boolean')
      return 'entry outputs are malformed';
    const out: RunOutput = { path: x.path, md5: x.md5, size: x.size as number, cache: x.cache };
    if (x.nfiles !== undefined) {
      if (!Number.isSafeInteger(x.nfiles) || (x.nfiles as number) < 0) return 'entry outputs are malformed';
      out.nfiles = x.nfiles as number;
    }
    if (x.isexec === true) out.isexec = true;
    if (x.cache) {
      const p = x.pointer as Record<string, unknown> | undefined;
      if (!p || (p.type !== 'file' && p.type !== 'dir') || !isDigest(p.digest) || !Number.isSafeInteger(p.size) || (p.size as number) < 0) return `entry output ${x.path} has no valid pointer`;
      if (p.files !== undefined && (!Number.isSafeInteger(p.files) || (p.files as number) < 0)) return `entry output ${x.path} has no valid pointer`;
      out.pointer = { type: p.type, digest: p.digest as string, size: p.size as number, ...(p.files !== undefined ? { files: p.files as number } : {}) };
    } else {
      const b = x.blob as Record<string, unknown> | undefined;
      if (!b || !isDigest(b.digest) || !Number.isSafeInteger(b.size) || (b.size as number) < 0) return `entry output ${x.path} has no valid blob`;
      out.blob = { digest: b.digest as string, size: b.size as number };
    }
    outs.push(out);
  }
  return { version: 1, key, stage: o.stage, inputs, outs };
}

/** The blobs that hold an entry's outputs (file blobs, folder roots): what its manifest lists. */
export function outputRoots(e: RunEntry, rootSize: (digest: string) => number | undefined): Descriptor[] | undefined {
  const out: Descriptor[] = [];
  for (const o of e.outs) {
    if (o.blob) out.push({ mediaType: MediaType.octet, digest: o.blob.digest, size: o.blob.size });
    else if (o.pointer!.type === 'file') out.push({ mediaType: MediaType.octet, digest: o.pointer!.digest, size: o.pointer!.size });
    else {
      const size = rootSize(o.pointer!.digest);
      if (size === undefined) return undefined;
      out.push({ mediaType: MediaType.mkDirectory, digest: o.pointer!.digest, size });
    }
  }
  return out;
}

/** The manifest of an entry: config = the entry, layers = every blob of its outputs (so a registry keeps them). */
export function entryManifest(config: Descriptor, layers: Descriptor[], e: RunEntry): Buffer {
  const seen = new Set<string>();
  const ls = layers.filter((l) => !seen.has(l.digest) && seen.add(l.digest));
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: RUN_ARTIFACT_TYPE,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: ls.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      annotations: { [RUN_KEY_ANNOTATION]: e.key, [RUN_STAGE_ANNOTATION]: e.stage },
    }),
  );
}

/** Where this repository notes which entry it holds for each key (`.git/mk/run-cache/<key>`: the manifest's descriptor). */
export class RunIndex {
  readonly dir: string;
  constructor(mkDir: string) {
    this.dir = join(mkDir, 'run-cache');
  }

  get(key: string): Descriptor | undefined {
    if (!HEX64.test(key)) return undefined;
    try {
      const d = JSON.parse(readFileSync(join(this.dir, key), 'utf8')) as Descriptor;
      return isDigest(d?.digest) && Number.isSafeInteger(d.size) ? { mediaType: MediaType.ociManifest, digest: d.digest, size: d.size } : undefined;
    } catch {
      return undefined;
    }
  }

  set(key: string, manifest: Descriptor): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomicSync(join(this.dir, key), JSON.stringify({ digest: manifest.digest, size: manifest.size }));
  }

  forget(key: string): void {
    rmSync(join(this.dir, key), { force: true });
  }

  keys(): string[] {
    try {
      return readdirSync(this.dir).filter((k) => HEX64.test(k));
    } catch {
      return [];
    }
  }
}

/** Reads and checks an entry from a store (the cache or a remote): its manifest, then its config. */
export async function readEntry(
  store: Fetcher,
  manifest: Descriptor,
  key: string,
): Promise<{ entry: RunEntry; manifest: ReturnType<typeof parseImageManifest>; bytes: Buffer; config: Buffer } | string> {
  let bytes: Buffer;
  let config: Buffer;
  let m: ReturnType<typeof parseImageManifest>;
  try {
    if (manifest.size > MAX_ENTRY * 8) return 'manifest too large';
    bytes = await readAll(verifying(await store.fetch(manifest), manifest, `run cache entry ${key.slice(0, 12)}`), MAX_ENTRY * 8);
    m = parseImageManifest(bytes, `run cache entry ${key.slice(0, 12)}`);
    if (m.artifactType !== RUN_ARTIFACT_TYPE || m.config.mediaType !== RUN_ENTRY_MEDIA_TYPE) return 'not a run cache entry';
    if (m.config.size > MAX_ENTRY) return 'entry too large';
    config = await readAll(verifying(await store.fetch(m.config), m.config, `run cache entry ${key.slice(0, 12)}`), MAX_ENTRY);
  } catch (e) {
    return (e as Error).message;
  }
  const entry = parseEntry(config, key);
  if (typeof entry === 'string') return entry;
  // Every output's blob must be among the layers: those are what a copy brings along.
  const layers = new Set(m.layers.map((l) => l.digest));
  for (const o of entry.outs) if (!layers.has(o.blob?.digest ?? o.pointer!.digest)) return `output ${o.path} is not among the entry's layers`;
  return { entry, manifest: m, bytes, config };
}

/** Stores an entry in the cache (config and manifest) and notes it in the index. Its outputs' blobs must be there. */
export async function saveEntry(cache: CacheStore, index: RunIndex, e: RunEntry, layers: Descriptor[]): Promise<Descriptor> {
  const cfg = entryBytes(e);
  const config: Descriptor = { mediaType: RUN_ENTRY_MEDIA_TYPE, digest: sha256(cfg), size: cfg.length };
  await cache.push(config, bufferSource(cfg));
  const man = entryManifest(config, layers, e);
  const manifest: Descriptor = { mediaType: MediaType.ociManifest, digest: sha256(man), size: man.length };
  await cache.push(manifest, bufferSource(man));
  index.set(e.key, manifest);
  return manifest;
}
