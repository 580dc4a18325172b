import type { Descriptor } from '../content/descriptor.js';
import { MediaType } from '../content/media-types.js';
import { parseImageIndex, parseImageManifest } from '../content/oci-manifest.js';
import { bufferSource, hasLocalStat, readAll, type BlobSource, type Fetcher, type Ingest, type SmallReads, type Target } from '../content/storage.js';
import { decodeDirRoot } from '../formats/dir-manifest.js';
import { isMkError, MkError } from '../errors/index.js';
import { copyLevel, type CopyOptions, type CopyProgress, type CopyResult } from './copy.js';

/** Media types whose content names other blobs (the graph's inner nodes). */
const IMAGE_MANIFESTS = new Set<string>([MediaType.ociManifest, 'application/vnd.docker.distribution.manifest.v2+json']);
const INDEXES = new Set<string>([MediaType.ociIndex, 'application/vnd.docker.distribution.manifest.list.v2+json']);
const DIR_ROOTS = new Set<string>([MediaType.mkDirectory, MediaType.mkDirectoryV1]);

/** A node that names children, read whole (manifests, indexes and directory roots are small). */
const NODE_LIMIT = 256 << 20;

export function isInnerNode(mediaType: string): boolean {
  return IMAGE_MANIFESTS.has(mediaType) || INDEXES.has(mediaType) || DIR_ROOTS.has(mediaType);
}

/** The children a node's bytes name. */
export function childrenOf(desc: Descriptor, bytes: Uint8Array): Descriptor[] {
  const what = `${desc.mediaType.replace(/^application\//, '')} ${desc.digest.slice(7, 19)}`;
  if (IMAGE_MANIFESTS.has(desc.mediaType)) {
    const m = parseImageManifest(bytes, what);
    return [m.config, ...m.layers];
  }
  if (INDEXES.has(desc.mediaType)) return parseImageIndex(bytes, what).manifests;
  if (DIR_ROOTS.has(desc.mediaType)) {
    const root = decodeDirRoot(bytes, what);
    return [...root.lists, ...root.layers.map((l) => ({ mediaType: MediaType.octet, digest: l.digest, size: l.size }))];
  }
  return [];
}

export interface GraphCopyOptions extends CopyOptions {
  /** Tags to set once everything is in place (a ModelKit's tags, a referrers fallback tag). */
  tags?: Array<{ desc: Descriptor; name: string }>;
}

/** Blobs the copy needs that neither side holds: nothing was copied. */
export class GraphIncompleteError extends MkError {
  readonly missing: Descriptor[];
  readonly roots: Descriptor[];
  constructor(missing: Descriptor[], roots: Descriptor[], from: string) {
    super('ENOTCACHED', `${missing.length} blob(s) are neither in ${from} nor at the destination (e.g. ${missing[0]!.digest.slice(7, 19)}); nothing was copied`, {
      hint: 'fetch them first from a store that has them',
      data: { missing: missing.map((d) => d.digest), roots: roots.map((d) => d.digest) },
    });
    this.missing = missing;
    this.roots = roots;
  }
}

interface Node {
  desc: Descriptor;
  children: string[];
  /** Bytes of an inner node read during discovery (pushed from memory). */
  bytes?: Buffer;
  height: number;
  /** Roots this node was reached from (to name what is incomplete). */
  roots: Set<string>;
  /** Already at the destination (skipped, with its subtree when the source lacks it). */
  present: boolean;
}

function hasSmallReads(t: unknown): t is SmallReads {
  return typeof (t as SmallReads).readSmall === 'function';
}

/**
 * The one graph copy: copies the graphs below `roots` from `src` to `dst`, and is the only
 * code that orders writes. It walks the graph (image manifest → config and layers; index →
 * manifests; directory root → file lists and layers), checks before anything is sent that
 * every node is at the destination already or available from the source (else
 * GraphIncompleteError, nothing sent), then writes level by level from the leaves up, so a
 * destination never holds a parent whose children it lacks, skipping what it has (the
 * `known` record spares the requests), a bounded number at a time, largest first, reporting
 * through `onProgress`. Tags come last.
 *
 * A node the source does not hold but the destination does (an older referrer listed in an
 * index being extended) is taken as complete there. Inner nodes are read from the
 * destination when it is local and holds them, else from the source.
 */
export async function copyGraph(src: Fetcher, dst: Target, roots: Descriptor[], opts: GraphCopyOptions = {}): Promise<CopyResult> {
  const nodes = new Map<string, Node>();
  const order: Node[] = [];
  const missing: Descriptor[] = [];
  const srcLocal = hasLocalStat(src) ? src : undefined;
  const dstLocal = hasLocalStat(dst) ? dst : undefined;
  // A destination with its own ingest (mk's cache) claims what it already holds: a gc on a shared
  // cache keeps a blob this copy counts on instead of copying it.
  const dstClaims = typeof (dst as Partial<Ingest>).claim === 'function' ? (dst as unknown as Ingest) : undefined;
  const atDst = async (d: Descriptor) => (opts.known?.has(d) ?? false) || (dstClaims ? dstClaims.claim(d) : dstLocal ? dstLocal.existsSync(d) : await dst.exists(d));
  const inSrc = async (d: Descriptor) => (srcLocal ? srcLocal.existsSync(d) : true); // a remote source answers when fetched

  const read = async (d: Descriptor, fromDst: boolean): Promise<Buffer> => {
    const store = fromDst ? dst : src;
    if (hasSmallReads(store) && (!hasLocalStat(store) || store.statBlobSync(d.digest) !== undefined)) return store.readSmall(d.digest, `${d.mediaType} ${d.digest.slice(7, 19)}`, NODE_LIMIT);
    return readAll(await store.fetch(d), NODE_LIMIT);
  };

  const visit = async (d: Descriptor, root: string): Promise<Node> => {
    const seen = nodes.get(d.digest);
    if (seen) {
      seen.roots.add(root);
      return seen;
    }
    const node: Node = { desc: d, children: [], height: 0, roots: new Set([root]), present: false };
    nodes.set(d.digest, node);
    node.present = await atDst(d);
    const have = await inSrc(d);
    if (!have && !node.present) {
      missing.push(d);
      return node;
    }
    if (isInnerNode(d.mediaType)) {
      let bytes: Buffer | undefined;
      try {
        bytes = await read(d, node.present && !!dstLocal);
      } catch (e) {
        // The source lacks it but the destination has it (and what it names): done there.
        if (node.present && isMkError(e, 'ENOTFOUND')) return node;
        throw e;
      }
      node.bytes = bytes;
      const kids = childrenOf(d, bytes);
      for (const k of kids) {
        const child = await visit(k, root);
        node.children.push(k.digest);
        node.height = Math.max(node.height, child.height + 1);
      }
    }
    order.push(node);
    return node;
  };
  for (const r of roots) await visit(r, r.digest);
  if (missing.length) {
    const affected = roots.filter((r) => missing.some((m) => nodes.get(m.digest)?.roots.has(r.digest)));
    throw new GraphIncompleteError(missing, affected, (src as { location?: string }).location ?? 'the source');
  }

  // Leaves first, then each level of parents: children are always in place before a parent.
  const todo = order.filter((n) => !n.present);
  const progress: CopyProgress = { totalBlobs: order.length, totalBytes: order.reduce((s, n) => s + n.desc.size, 0), doneBytes: 0, skippedBlobs: 0, copiedBlobs: 0 };
  for (const n of order)
    if (n.present) {
      progress.skippedBlobs++;
      progress.doneBytes += n.desc.size;
      opts.known?.add([n.desc]);
    }
  opts.onProgress?.(progress);
  const result: CopyResult = { copied: [], skipped: order.filter((n) => n.present).map((n) => n.desc), mounted: [], bytes: 0 };
  const heights = [...new Set(todo.map((n) => n.height))].sort((a, b) => a - b);
  for (const h of heights) {
    const level = todo.filter((n) => n.height === h);
    const fromMemory = new Map<string, BlobSource>(level.filter((n) => n.bytes).map((n) => [n.desc.digest, bufferSource(n.bytes!)]));
    const r = await copyLevel(
      src,
      dst,
      level.map((n) => n.desc),
      { ...opts, progress, sourceFor: (d) => fromMemory.get(d.digest) },
    );
    result.copied.push(...r.copied);
    result.skipped.push(...r.skipped);
    result.mounted.push(...r.mounted);
    result.bytes += r.bytes;
  }
  for (const t of opts.tags ?? []) await dst.tag(t.desc, t.name);
  return result;
}
