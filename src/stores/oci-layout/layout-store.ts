import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { copyFile, open, rename, rm, stat, unlink, readdir } from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Descriptor } from '../../content/descriptor.js';
import { digestHex, isDigest } from '../../content/descriptor.js';
import type { BlobFiles, BlobSource, BlobStat, FetchOptions, PushOptions, Target } from '../../content/storage.js';
import { MediaType } from '../../content/media-types.js';
import { DigestMismatchError, NotFoundError, MkError, WrongSizeError } from '../../errors/index.js';
import { hashFile, verifying, writeStreamHashed } from '../../hashing/digest.js';
import { acquireLock } from '../../util/lockfile.js';
import { processAlive, removeStaleTemps, writeFileAtomicSync } from '../../util/fs.js';
import { isRacy, racyWindowMs } from '../../hashing/racy.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * Blob files this process has just written after checking their digest: copying one out
 * again (a pull's checkout) need not re-read it to verify. Anything else is re-verified.
 */
const verifiedInThisProcess = new Set<string>();

/** Blobs at least this large are trusted by their stat data once verified (smaller ones are cheap to re-hash). */
const TRUST_BYTES = 8 << 20;

function statKey(st: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

/**
 * An OCI image layout (image-spec image-layout.md) on the local disk: the local cache and
 * the embedded "local layout" remote. Blobs are written to `ingest/`, verified against the
 * expected digest and size, and only then renamed into `blobs/sha256/`: a killed process
 * never leaves bad bytes under a valid name. Tags are `ref.name` annotations in index.json,
 * so any OCI tool (skopeo, oras) sees them.
 */
export class OciLayoutStore implements Target, BlobFiles, BlobStat {
  readonly root: string;
  readonly location: string;

  /**
   * mk's own cache: keeps verified.json (stat data of large blobs once verified) and removes
   * a blob whose bytes no longer match its name. A layout used as a remote (shared with a
   * team, read by other tools) is never changed by reading it: a bad blob there is reported.
   */
  private readonly ownCache: boolean;

  constructor(root: string, opts: { ownCache?: boolean } = {}) {
    this.root = root;
    this.location = root;
    this.ownCache = opts.ownCache ?? false;
  }

  /** Creates the layout files when missing. */
  init(): this {
    mkdirSync(join(this.root, 'blobs', 'sha256'), { recursive: true });
    mkdirSync(join(this.root, 'ingest'), { recursive: true });
    const marker = join(this.root, 'oci-layout');
    if (!existsSync(marker)) writeFileAtomicSync(marker, '{"imageLayoutVersion":"1.0.0"}');
    const index = join(this.root, 'index.json');
    if (!existsSync(index)) writeFileAtomicSync(index, JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }));
    this.sweepDead();
    return this;
  }

  /**
   * Removes what writers that died (killed mid-write) left: partial blobs in ingest/ (named
   * `<hint>-<pid>-<hex>`) and temporary index or verified.json files, whenever their process
   * is gone. Those of live writers stay.
   */
  private sweepDead(): void {
    const dir = join(this.root, 'ingest');
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      /* none */
    }
    for (const n of names) {
      const m = /-(\d+)-[0-9a-f]{12}$/.exec(n);
      if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) rmSync(join(dir, n), { force: true, recursive: true });
    }
    removeStaleTemps(this.root);
  }

  blobPath(desc: Pick<Descriptor, 'digest'>): string {
    return join(this.root, 'blobs', 'sha256', digestHex(desc.digest));
  }

  async exists(desc: Descriptor): Promise<boolean> {
    try {
      const st = await stat(this.blobPath(desc));
      return st.size === desc.size;
    } catch {
      return false;
    }
  }

  async statBlob(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath({ digest }))).size;
    } catch {
      return undefined;
    }
  }

  statBlobSync(digest: string): number | undefined {
    try {
      return statSync(this.blobPath({ digest })).size;
    } catch {
      return undefined;
    }
  }

  existsSync(desc: Descriptor): boolean {
    try {
      return statSync(this.blobPath(desc)).size === desc.size;
    } catch {
      return false;
    }
  }

  /**
   * Streams a blob. A whole-blob read is verified as it streams: a mismatch throws at the
   * end and the bad blob is removed, so it is never served twice.
   */
  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const path = this.blobPath(desc);
    let st;
    try {
      st = await stat(path);
    } catch {
      throw new NotFoundError(`blob ${desc.digest} is not in ${this.location}`, "run 'mk fetch' to download it from a remote");
    }
    if (opts.range) {
      const end = opts.range.end ?? desc.size;
      if (end <= opts.range.start) return (async function* () {})();
      return createReadStream(path, { start: opts.range.start, end: end - 1, highWaterMark: 1 << 20 });
    }
    if (st.size !== desc.size) await this.wrongSize(desc, st.size);
    const self = this;
    return (async function* () {
      try {
        yield* verifying(createReadStream(path, { highWaterMark: 1 << 20 }), desc, `blob ${desc.digest} in ${self.location}`);
      } catch (e) {
        if (e instanceof DigestMismatchError) await self.quarantine(desc);
        throw e;
      }
    })();
  }

  private trust?: Record<string, [string, number]>;

  private get trustMap(): Record<string, [string, number]> {
    if (!this.trust) {
      try {
        const t = JSON.parse(readFileSync(join(this.root, 'verified.json'), 'utf8')) as unknown;
        this.trust = t && typeof t === 'object' && !Array.isArray(t) ? (t as Record<string, [string, number]>) : {};
      } catch {
        this.trust = {};
      }
    }
    return this.trust;
  }

  /**
   * Remembers that a large blob's bytes matched its digest, with the stat data it had then
   * (like the work tree's stat cache): a later restore copies it without re-hashing 2 GiB as
   * long as nothing touched it. `written`: this process just wrote and renamed it into place
   * (no one else could have changed it within the same timestamp tick).
   */
  noteVerified(desc: Pick<Descriptor, 'digest' | 'size'>, written = false): void {
    if (desc.size < TRUST_BYTES || !this.ownCache) return;
    try {
      const path = this.blobPath(desc);
      const st = statSync(path);
      const at = written ? Math.max(st.mtimeMs, st.ctimeMs) + racyWindowMs(st) : Date.now();
      const map = this.trustMap;
      map[digestHex(desc.digest)] = [statKey(st), at];
      for (const hex of Object.keys(map)) if (!existsSync(join(this.root, 'blobs', 'sha256', hex))) delete map[hex];
      writeFileAtomicSync(join(this.root, 'verified.json'), JSON.stringify(map));
    } catch {
      /* read-only or gone: only speed is lost */
    }
  }

  /**
   * True when a large blob was verified before and its stat data has not changed since (an
   * edit through a hard link changes it). Silent corruption that leaves stat data alone is
   * not seen here; 'mk verify' re-hashes everything.
   */
  trustedSync(desc: Pick<Descriptor, 'digest' | 'size'>): boolean {
    if (desc.size < TRUST_BYTES || !this.ownCache) return false;
    const e = this.trustMap[digestHex(desc.digest)];
    if (!e) return false;
    try {
      const st = statSync(this.blobPath(desc));
      return st.size === desc.size && e[0] === statKey(st) && !isRacy(st, e[1]);
    } catch {
      return false;
    }
  }

  /** Re-hashes a stored blob; removes it when it no longer matches its name. */
  async verify(desc: Descriptor): Promise<boolean> {
    try {
      const { digest, size } = await hashFile(this.blobPath(desc));
      if (digest === desc.digest) {
        if (size !== desc.size) throw new WrongSizeError(`blob ${desc.digest} in ${this.location}`, desc.size, size);
        this.noteVerified(desc);
        return true;
      }
    } catch (e) {
      if (e instanceof WrongSizeError) throw e;
      return false;
    }
    await this.quarantine(desc);
    return false;
  }

  /**
   * Removes a blob whose bytes no longer match its name, from mk's own cache only (a remote
   * layout is never changed by a read: verify and fetch report, they do not delete).
   */
  async quarantine(desc: Pick<Descriptor, 'digest'>): Promise<void> {
    if (this.ownCache) await rm(this.blobPath(desc), { force: true });
  }

  /**
   * A blob asked for with a size other than the one on disk: either the blob is damaged
   * (it no longer hashes to its name: quarantined) or whoever described it (a pointer, a
   * manifest) got the size wrong, and the blob is good and stays. Always throws.
   */
  async wrongSize(desc: Pick<Descriptor, 'digest' | 'size'>, actual: number): Promise<never> {
    const what = `blob ${desc.digest} in ${this.location}`;
    const got = await hashFile(this.blobPath(desc)).catch(() => undefined);
    if (got?.digest === desc.digest) throw new WrongSizeError(what, desc.size, got.size);
    await this.quarantine(desc);
    throw new DigestMismatchError(what, `${desc.size} bytes`, `${actual} bytes`);
  }

  async push(expected: Descriptor, source: BlobSource, opts: PushOptions = {}): Promise<void> {
    if (!isDigest(expected.digest)) throw new MkError('EDIGEST', `not a sha256 digest: ${expected.digest}`);
    if (await this.exists(expected)) return;
    const tmp = this.ingestPath(expected.digest);
    try {
      if (source.path && source.trusted) {
        // A verified, untouched cache blob: an in-kernel copy, checked by size.
        await copyFile(source.path, tmp);
        const st = await stat(tmp);
        check(expected, expected.digest, st.size);
        opts.onProgress?.(st.size);
      } else if (source.path) {
        const got = await hashFile(source.path, tmp);
        check(expected, got.digest, got.size);
        opts.onProgress?.(got.size);
      } else {
        const fh = await open(tmp, 'wx', 0o444);
        let got;
        try {
          got = await writeStreamHashed(source.open(0), fh, { hash: !source.selfVerifying, limit: expected.size, onChunk: opts.onProgress });
        } finally {
          await fh.close();
        }
        // A self-verifying source has already thrown if the bytes were wrong.
        check(expected, got.digest ?? expected.digest, got.truncated ? expected.size + 1 : got.size);
      }
      await rename(tmp, this.blobPath(expected));
      verifiedInThisProcess.add(this.blobPath(expected));
      this.noteVerified(expected, true);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /**
   * Moves a file already verified to hold `desc` into the store (no copy). Used by writers
   * that hash while they produce a blob (pack builder, downloads).
   */
  async adopt(desc: Descriptor, file: string): Promise<void> {
    const dst = this.blobPath(desc);
    await rename(file, dst);
    verifiedInThisProcess.add(dst);
    this.noteVerified(desc, true);
  }

  /** True when this process wrote (and verified) the blob itself, moments ago. */
  verifiedRecently(desc: Pick<Descriptor, 'digest'>): boolean {
    return verifiedInThisProcess.has(this.blobPath(desc));
  }

  /** A fresh temporary path in ingest/ for a blob being written. */
  ingestPath(digestOrName: string): string {
    // Only a hint for humans: never a path (callers pass repository paths such as 'data/x.bin').
    const name = digestOrName.replace(/^sha256:/, '').slice(0, 16).replace(/[^A-Za-z0-9._-]/g, '_');
    return join(this.root, 'ingest', `${name}-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** Copies a blob to `dst` in-kernel (reflink when the filesystem can), without verification. */
  async copyOut(desc: Descriptor, dst: string): Promise<void> {
    await copyFile(this.blobPath(desc), dst, fsc.COPYFILE_FICLONE);
  }

  // --- tags -------------------------------------------------------------------------

  readIndex(): Index {
    try {
      const idx = JSON.parse(readFileSync(join(this.root, 'index.json'), 'utf8')) as Index;
      if (!idx || !Array.isArray(idx.manifests)) throw new Error('no manifests array');
      idx.manifests = idx.manifests.filter((d) => d && typeof d === 'object' && isDigest(d.digest) && Number.isSafeInteger(d.size) && typeof d.mediaType === 'string');
      return idx;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
      throw new MkError('ECONFIG', `${join(this.root, 'index.json')}: not a valid OCI index (${(e as Error).message})`);
    }
  }

  async resolve(reference: string): Promise<Descriptor> {
    if (isDigest(reference)) {
      const hit = this.readIndex().manifests.find((d) => d.digest === reference);
      if (hit) return stripRef(hit);
      const path = this.blobPath({ digest: reference });
      if (existsSync(path)) {
        let mediaType: unknown;
        try {
          mediaType = (JSON.parse(readFileSync(path, 'utf8')) as { mediaType?: unknown } | null)?.mediaType;
        } catch {
          throw new MkError('EMANIFEST', `${reference} in ${this.location} is not a manifest (not JSON)`);
        }
        return { mediaType: typeof mediaType === 'string' ? mediaType : MediaType.ociManifest, digest: reference, size: statSync(path).size };
      }
      throw new NotFoundError(`${reference} is not in ${this.location}`);
    }
    const hit = this.readIndex().manifests.find((d) => d.annotations?.[REF_NAME] === reference);
    if (!hit) throw new NotFoundError(`tag '${reference}' is not in ${this.location}`);
    return stripRef(hit);
  }

  async tag(desc: Descriptor, reference: string): Promise<void> {
    await this.updateIndex((idx) => {
      idx.manifests = idx.manifests.filter((d) => d.annotations?.[REF_NAME] !== reference);
      idx.manifests.push({ ...stripRef(desc), annotations: { ...(desc.annotations ?? {}), [REF_NAME]: reference } });
    });
  }

  async untag(reference: string): Promise<void> {
    await this.updateIndex((idx) => {
      idx.manifests = idx.manifests.filter((d) => d.annotations?.[REF_NAME] !== reference);
    });
  }

  async tags(): Promise<string[]> {
    return this.readIndex()
      .manifests.map((d) => d.annotations?.[REF_NAME])
      .filter((t): t is string => typeof t === 'string')
      .sort();
  }

  /** index.json is read-modified-written under a lock file, so two writers never lose a tag. */
  private async updateIndex(change: (idx: Index) => void): Promise<void> {
    const lock = await acquireLock(join(this.root, 'index.json.lock'));
    try {
      const idx = this.readIndex();
      change(idx);
      writeFileAtomicSync(join(this.root, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: idx.manifests }, null, 1));
    } finally {
      lock.release();
    }
  }

  // --- maintenance ------------------------------------------------------------------

  /** Every blob digest in the store. */
  async listBlobs(): Promise<Array<{ digest: string; size: number }>> {
    const dir = join(this.root, 'blobs', 'sha256');
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const out: Array<{ digest: string; size: number }> = [];
    for (const n of names) {
      if (!/^[a-f0-9]{64}$/.test(n)) continue;
      try {
        out.push({ digest: 'sha256:' + n, size: (await stat(join(dir, n))).size });
      } catch {
        /* removed concurrently */
      }
    }
    return out;
  }

  async deleteBlob(digest: string): Promise<void> {
    await unlink(this.blobPath({ digest })).catch(() => undefined);
  }

  /** Removes leftovers of killed writers from ingest/ (older than `ageMs`). */
  async cleanIngest(ageMs = 60 * 60 * 1000): Promise<number> {
    const dir = join(this.root, 'ingest');
    let n = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const p = join(dir, name);
      const st = await stat(p).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > ageMs) {
        await rm(p, { force: true, recursive: true });
        n++;
      }
    }
    return n;
  }
}

function check(expected: Descriptor, digest: string, size: number): void {
  if (size !== expected.size) throw new DigestMismatchError(`blob ${expected.digest}`, `${expected.size} bytes`, `${size} bytes`);
  if (digest !== expected.digest) throw new DigestMismatchError(`blob ${expected.digest}`, expected.digest, digest);
}

function stripRef(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.artifactType) out.artifactType = d.artifactType;
  const ann = { ...(d.annotations ?? {}) };
  delete ann[REF_NAME];
  if (Object.keys(ann).length) out.annotations = ann;
  return out;
}

