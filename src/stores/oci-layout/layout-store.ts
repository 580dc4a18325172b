import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { copyFile, open, rename, rm, stat, unlink, readdir } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Descriptor } from '../../content/descriptor.js';
import { digestHex, isDigest } from '../../content/descriptor.js';
import type { BlobSource, BlobSweep, CacheStore, FetchOptions, IngestResult, IngestWriter, PushOptions, SourceStat } from '../../content/storage.js';
import { MediaType } from '../../content/media-types.js';
import { DigestMismatchError, NotFoundError, MkError, WrongSizeError } from '../../errors/index.js';
import { hashFile, verifying, writeStreamHashed } from '../../hashing/digest.js';
import { acquireLock } from '../../util/lockfile.js';
import { processAlive, removeStaleTemps, writeFileAtomicSync } from '../../util/fs.js';
import { copyOut } from './copy-out.js';
import { Claims } from './claims.js';
import { copyHashed, LayoutIngestWriter } from './ingest.js';
import { TrustRecord } from './trust.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

/**
 * An OCI image layout (image-spec image-layout.md) on the local disk: mk's cache, and the
 * embedded "local layout" remote. Blobs are written to `ingest/`, verified against the
 * expected digest and size, and only then renamed into `blobs/sha256/`: a killed process
 * never leaves bad bytes under a valid name. Tags are `ref.name` annotations in index.json,
 * so any OCI tool (skopeo, oras) sees them.
 *
 * As mk's own cache (`ownCache`) it also keeps the one trust rule (TrustRecord) and drops a
 * blob whose bytes no longer match its name. A layout used as a remote (shared with a team,
 * read by other tools) is never changed by reading it: a bad blob there is reported.
 */
export class OciLayoutStore implements CacheStore {
  readonly root: string;
  readonly location: string;
  private readonly ownCache: boolean;
  private readonly trust?: TrustRecord;
  /** What writers are using, so that a gc (here or in a clone sharing the cache) keeps it: mk's cache only. */
  private readonly claims?: Claims;

  constructor(root: string, opts: { ownCache?: boolean } = {}) {
    this.root = root;
    this.location = root;
    this.ownCache = opts.ownCache ?? false;
    if (this.ownCache) {
      this.trust = new TrustRecord(root, (hex) => join(root, 'blobs', 'sha256', hex));
      this.claims = new Claims(root);
    }
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
    this.claims?.restoreTrash(join(this.root, 'blobs', 'sha256'));
    this.claims?.sweep();
  }

  /** The file of a blob: for this store's own modules only (nothing outside src/stores builds one). */
  private file(desc: Pick<Descriptor, 'digest'>): string {
    return join(this.root, 'blobs', 'sha256', digestHex(desc.digest));
  }

  /**
   * Where the OCI layout keeps a blob (`blobs/sha256/<hex>`), for tests and tools that work on
   * the layout as files. mk's own code holds stores by their interfaces, which have no paths.
   */
  blobPath(desc: Pick<Descriptor, 'digest'>): string {
    return this.file(desc);
  }

  // --- existence and size --------------------------------------------------------------

  async exists(desc: Descriptor): Promise<boolean> {
    try {
      return (await stat(this.file(desc))).size === desc.size;
    } catch {
      return false;
    }
  }

  async statBlob(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.file({ digest }))).size;
    } catch {
      return undefined;
    }
  }

  statBlobSync(digest: string): number | undefined {
    try {
      return statSync(this.file({ digest })).size;
    } catch {
      return undefined;
    }
  }

  existsSync(desc: Pick<Descriptor, 'digest' | 'size'> & { mediaType?: string }): boolean {
    return this.statBlobSync(desc.digest) === desc.size;
  }

  // --- reading: the one verified path ----------------------------------------------------

  /** The trust rule (mk's cache only): the blob may leave without being hashed again. */
  private trusted(desc: Pick<Descriptor, 'digest' | 'size'>): boolean {
    return !!this.trust?.trusted(digestHex(desc.digest), desc.size);
  }

  /**
   * Streams a blob. A whole-blob read is verified as it streams (unless the trust rule vouches
   * for the blob): a mismatch throws at the end, and in mk's cache the bad blob is dropped, so
   * it is never served twice. A ranged read is not verified (the caller checks the whole).
   */
  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const path = this.file(desc);
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
    if (this.trusted(desc)) return createReadStream(path, { highWaterMark: 1 << 20 });
    const drop = () => this.quarantine(desc);
    const what = `blob ${desc.digest} in ${this.location}`;
    return (async function* () {
      try {
        yield* verifying(createReadStream(path, { highWaterMark: 1 << 20 }), desc, what);
      } catch (e) {
        if (e instanceof DigestMismatchError) await drop();
        throw e;
      }
    })();
  }

  /** A source for sending the blob elsewhere: its file (in-kernel copies), trusted when the rule vouches for it. */
  source(desc: Descriptor): BlobSource {
    const path = this.file(desc);
    return { path, trusted: this.trusted(desc), open: (offset = 0) => createReadStream(path, { start: offset, highWaterMark: 1 << 20 }) };
  }

  /** Copies (or links) a blob out to a new file, verified or trusted (see copy-out.ts). */
  async copyOut(desc: Descriptor, dest: string, opts: { mode: number; link?: 'hardlink' | 'symlink' }): Promise<void> {
    await copyOut(
      {
        file: (d) => this.file(d),
        trusted: (d) => this.trusted(d),
        noteVerified: (d) => this.noteVerified(d),
        quarantine: (d) => this.quarantine(d),
        verify: (d) => this.verify(d),
        wrongSize: (d, n) => this.wrongSize(d, n),
      },
      desc,
      dest,
      opts,
    );
  }

  /** A small metadata blob read whole and verified; a bad one is dropped from mk's cache. */
  readSmall(digest: string, what: string, limit = 512 << 20): Buffer {
    const path = this.file({ digest });
    let bytes: Buffer;
    try {
      if (statSync(path).size > limit) throw new MkError('ETOOLARGE', `${what} in ${this.location} is larger than the ${limit} bytes allowed`);
      bytes = readFileSync(path);
    } catch (e) {
      if (e instanceof MkError) throw e;
      throw new NotFoundError(`${what} is not in ${this.location}`, "run 'mk fetch' to download it from a remote");
    }
    const got = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
    if (got !== digest) {
      if (this.ownCache) this.dropSync(digest);
      throw new DigestMismatchError(`${what} in ${this.location}`, digest, got);
    }
    return bytes;
  }

  readHead(digest: string, n: number): Buffer | undefined {
    let fd: number | undefined;
    try {
      fd = openSync(this.file({ digest }), 'r');
      const buf = Buffer.alloc(n);
      const got = readSync(fd, buf, 0, n, 0);
      return buf.subarray(0, got);
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  // --- checks and repairs -------------------------------------------------------------------

  private noteVerified(desc: Pick<Descriptor, 'digest' | 'size'>, written = false): void {
    this.trust?.note(digestHex(desc.digest), desc.size, written);
  }

  /** Re-hashes a stored blob; in mk's cache, drops it when it no longer matches its name. */
  async verify(desc: Descriptor): Promise<boolean> {
    try {
      const { digest, size } = await hashFile(this.file(desc));
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

  /** Removes a blob whose bytes no longer match its name, from mk's own cache only. */
  private async quarantine(desc: Pick<Descriptor, 'digest'>): Promise<void> {
    if (this.ownCache) this.dropSync(desc.digest);
  }

  private dropSync(digest: string): void {
    rmSync(this.file({ digest }), { force: true });
    this.trust?.forget(digestHex(digest));
  }

  /**
   * A blob asked for with a size other than the one on disk: either the blob is damaged
   * (it no longer hashes to its name: quarantined) or whoever described it (a pointer, a
   * manifest) got the size wrong, and the blob is good and stays. Always throws.
   */
  async wrongSize(desc: Pick<Descriptor, 'digest' | 'size'>, actual: number): Promise<never> {
    const what = `blob ${desc.digest} in ${this.location}`;
    const got = await hashFile(this.file(desc)).catch(() => undefined);
    if (got?.digest === desc.digest) throw new WrongSizeError(what, desc.size, got.size);
    await this.quarantine(desc);
    throw new DigestMismatchError(what, `${desc.size} bytes`, `${actual} bytes`);
  }

  dropIfLinked(digest: string, st: { ino: number; nlink: number }): boolean {
    if (st.nlink < 2 || !this.ownCache) return false;
    try {
      if (statSync(this.file({ digest })).ino !== st.ino) return false;
    } catch {
      return false;
    }
    this.dropSync(digest);
    return true;
  }

  // --- writing -------------------------------------------------------------------------------

  async push(expected: Descriptor, source: BlobSource, opts: PushOptions = {}): Promise<void> {
    if (!isDigest(expected.digest)) throw new MkError('EDIGEST', `not a sha256 digest: ${expected.digest}`);
    if (this.claim(expected)) return;
    const tmp = this.ingestPath(expected.digest);
    try {
      if (source.path && source.trusted && !this.ownCache) {
        // A verified, untouched cache blob going to a layout remote: an in-kernel copy, checked
        // by size. mk's own cache takes no one's word for it: it hashes what it writes.
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
      await rename(tmp, this.file(expected));
      this.noteVerified(expected, true);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  // --- ingest: the store hashes what is written and names it -----------------------------

  async ingest(hint: string): Promise<IngestWriter> {
    return LayoutIngestWriter.open(this.ingestPath(hint), (tmp, digest, size) => this.place(tmp, digest, size));
  }

  async ingestFile(path: string, opts: { before?: SourceStat; what?: string } = {}): Promise<IngestResult> {
    const tmp = this.ingestPath(opts.what ?? path);
    const got = await copyHashed(path, tmp, opts.before, opts.what);
    return this.place(tmp, got.digest, got.size);
  }

  claim(desc: Pick<Descriptor, 'digest' | 'size'>): boolean {
    if (!this.claims) return this.existsSync(desc);
    const hex = digestHex(desc.digest);
    this.claims.claim(hex); // first: a gc reading the claims after this keeps the blob
    if (this.existsSync(desc)) return true;
    return this.claims.takeBack(hex, join(this.root, 'blobs', 'sha256')) && this.existsSync(desc);
  }

  /**
   * Names an ingest file by the digest computed from the bytes written into it (by this
   * module: see ingest.ts), claimed first. Renamed over an existing copy too: a freshly
   * verified one heals a copy damaged behind mk's back.
   */
  private async place(tmp: string, digest: string, size: number): Promise<IngestResult> {
    try {
      this.claims?.claim(digestHex(digest));
      const written = this.statBlobSync(digest) !== size;
      await rename(tmp, this.file({ digest }));
      this.noteVerified({ digest, size }, true);
      return { digest, size, written };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /** A fresh temporary path in ingest/ for a blob being written. */
  private ingestPath(hint: string): string {
    // Only a hint for humans: never a path (callers pass repository paths such as 'data/x.bin').
    const name = hint
      .replace(/^sha256:/, '')
      .slice(0, 16)
      .replace(/[^A-Za-z0-9._-]/g, '_');
    return join(this.root, 'ingest', `${name}-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  // --- tags -------------------------------------------------------------------------

  private readIndex(): Index {
    try {
      const idx = JSON.parse(readFileSync(join(this.root, 'index.json'), 'utf8')) as Index;
      if (!idx || !Array.isArray(idx.manifests)) throw new MkError('ECONFIG', 'no manifests array');
      idx.manifests = idx.manifests.filter((d) => d && typeof d === 'object' && isDigest(d.digest) && Number.isSafeInteger(d.size) && typeof d.mediaType === 'string');
      return idx;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
      throw new MkError('ECONFIG', `${join(this.root, 'index.json')}: not a valid OCI index (${(e as Error).message})`);
    }
  }

  taggedManifests(): Descriptor[] {
    return this.readIndex().manifests;
  }

  async resolve(reference: string): Promise<Descriptor> {
    if (isDigest(reference)) {
      const hit = this.readIndex().manifests.find((d) => d.digest === reference);
      if (hit) return stripRef(hit);
      const path = this.file({ digest: reference });
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
    let names: string[];
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

  async beginSweep(): Promise<BlobSweep> {
    const blobDir = join(this.root, 'blobs', 'sha256');
    if (!this.claims) {
      // A layout used as a remote: nobody claims blobs in it.
      return {
        free: async (digests) => {
          for (const d of digests) await unlink(this.file({ digest: d })).catch(() => undefined);
          return digests;
        },
        end: () => undefined,
      };
    }
    const sweep = await this.claims.beginSweep();
    return {
      free: async (digests) => sweep.free(digests.map(digestHex), blobDir, (hex) => this.trust?.forget(hex)).map((hex) => `sha256:${hex}`),
      end: () => sweep.end(),
    };
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
