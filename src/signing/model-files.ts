import { createHash } from 'node:crypto';
import type { Descriptor } from '../content/descriptor.js';
import { decompress, isCompression } from '../content/decompress.js';
import { parseModelKitLayerType } from '../content/media-types.js';
import type { CacheStore, Fetcher } from '../content/storage.js';
import { verifying } from '../hashing/digest.js';
import type { TrackedPointer } from '../git/pointers.js';
import { loadDirManifest } from '../worktree/load.js';
import { readTar } from '../formats/tar.js';
import { cleanEntryName } from '../formats/stored-path.js';
import { MkError } from '../errors/index.js';
import type { ImageManifest, KitConfig } from '../modelkit/read.js';
import { configEntries, kitfileText } from '../modelkit/unpack.js';

/** A file as `kit unpack` writes it: its path under the unpack directory and the sha256 (hex) of its bytes. */
export interface ModelFile {
  path: string;
  sha256: string;
}

/** Files of each tar layer (by layer digest), from directory manifests: what mk knows without reading a byte of data. */
export type KnownLayerFiles = Map<string, ModelFile[]>;

/**
 * The files of the packs of tracked directories, from their directory manifests (in the
 * cache): a pack's entries are `<directory>/<file>`, each with the digest the manifest lists.
 */
export async function dirManifestFiles(cache: CacheStore, tracked: TrackedPointer[]): Promise<KnownLayerFiles> {
  const out: KnownLayerFiles = new Map();
  for (const t of tracked) {
    if (t.pointer.type !== 'dir') continue;
    let m;
    try {
      m = await loadDirManifest(cache, t.pointer);
    } catch {
      continue; // not cached: the layer is read instead
    }
    m.layers.forEach((l, i) => {
      if (l.format !== 'tar' || out.has(l.digest)) return;
      out.set(
        l.digest,
        m.files.filter((f) => f.layer === i).map((f) => ({ path: `${t.path}/${f.path}`, sha256: f.digest.slice(7) })),
      );
    });
  }
  return out;
}

export interface ModelKitFiles {
  files: ModelFile[];
  /** Layers whose bytes had to be read (tar layers no directory manifest describes: code, docs). */
  read: Array<{ digest: string; size: number }>;
}

/**
 * Every file `kit unpack` writes for a ModelKit (no filter; referenced ModelKits left out):
 * the Kitfile (the bytes kit writes), a raw layer's file (its digest is the layer digest, or
 * the config's diffId when compressed), a tar layer's files (from `known`, else read from
 * `fetcher` and hashed). A later layer's file replaces an earlier one at the same path, as
 * unpacking does. Sorted by path.
 */
export async function modelKitFiles(manifest: ImageManifest, config: KitConfig, kitfile: boolean, fetcher: Fetcher, known: KnownLayerFiles): Promise<ModelKitFiles> {
  const byPath = new Map<string, string>();
  const read: ModelKitFiles['read'] = [];
  if (kitfile) byPath.set('Kitfile', createHash('sha256').update(kitfileText(config), 'utf8').digest('hex'));
  const layers = new Map<string, Descriptor>((manifest.layers as Descriptor[]).map((l) => [l.digest, l]));
  const entries = configEntries(config);
  const diffIds = new Map(entries.filter((e) => e.digest && e.diffId).map((e) => [e.digest!, e.diffId!]));
  const order = entries.some((e) => e.digest) ? entries.filter((e) => e.digest).map((e) => layers.get(e.digest!)) : [...layers.values()];
  for (const l of order) {
    if (!l) throw new MkError('EMODELKIT', 'digest in config and manifest do not match');
    const mt = parseModelKitLayerType(l.mediaType);
    const format = mt?.format ?? (l.mediaType.endsWith('.tar') || l.mediaType.includes('.tar+') ? 'tar' : 'raw');
    const compression = mt?.compression ?? /\+(\w+)$/.exec(l.mediaType)?.[1];
    if (compression !== undefined && !isCompression(compression)) throw new MkError('EUNSUPPORTED', `layer ${l.digest.slice(0, 19)} uses ${compression} compression, which mk cannot read`);
    const what = `layer ${l.digest.slice(7, 19)}`;
    if (format === 'raw') {
      const rel = l.annotations?.['org.cncf.model.filepath'];
      if (!rel) throw new MkError('EMODELKIT', `raw layer ${l.digest} has no org.cncf.model.filepath annotation`);
      const diffId = diffIds.get(l.digest);
      let digest = !compression ? l.digest : diffId;
      if (!digest) {
        read.push({ digest: l.digest, size: l.size });
        const h = createHash('sha256');
        for await (const c of decompress(verifying(await fetcher.fetch(l), l, what), compression as 'gzip' | 'zstd', what)) h.update(c);
        digest = `sha256:${h.digest('hex')}`;
      }
      byPath.set(cleanEntryName(rel), digest.slice(7));
      continue;
    }
    const listed = !compression ? known.get(l.digest) : undefined;
    if (listed) {
      for (const f of listed) byPath.set(f.path, f.sha256);
      continue;
    }
    read.push({ digest: l.digest, size: l.size });
    const src = verifying(await fetcher.fetch(l), l, what);
    await readTar(compression ? decompress(src, compression as 'gzip' | 'zstd', what) : src, what, async (e) => {
      if (e.type !== 'file') return;
      const h = createHash('sha256');
      for await (const c of e.body) h.update(c);
      byPath.set(e.name, h.digest('hex'));
    });
  }
  const files = [...byPath].map(([path, sha256]) => ({ path, sha256 }));
  files.sort((a, b) => comparePaths(a.path, b.path));
  return { files, read };
}

/** Path order as model_signing sorts its manifest (pathlib: component by component). */
export function comparePaths(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return x.length - y.length;
}
