import { lstatSync, type Stats } from 'node:fs';
import type { Descriptor } from '../../content/descriptor.js';
import { MediaType } from '../../content/media-types.js';
import { MkError } from '../../errors/index.js';
import { git } from '../../git/run.js';
import { StatCache } from '../../hashing/stat-cache.js';
import { guessKind, looksLikePointer, MAX_POINTER_BYTES, parsePointer, serializePointer, type Pointer } from '../../formats/pointer.js';
import { RepoContext } from '../../repo/context.js';
import { abs, checkStoredPath } from '../../repo/paths.js';
import { updateWithheld, type Withheld } from '../../repo/withheld.js';
import type { Withheld as NoAccess } from '../../remote/access.js';
import type { RemoteConfig } from '../../repo/config.js';
import { PktReader, PktWriter } from './pkt-line.js';

type Access = typeof import('../../remote/access.js');

export interface FilterProcessOptions {
  cwd?: string;
  /** Git's requests (default: standard input). */
  input?: AsyncIterable<Buffer>;
  /** Where answers go (default: file descriptor 1). */
  outputFd?: number;
  /** One line for the user (default: standard error). */
  warn?: (line: string) => void;
}

const CAPABILITIES = ['clean', 'smudge', 'delay'];

/**
 * `mk filter-process`: Git's long-running filter protocol, version 2 (gitattributes(5),
 * "Long Running Filter Process"), with the capabilities clean, smudge and delay.
 *
 * - clean: the content git streams becomes a blob of the cache (one pass: hashed while it is
 *   written to an ingest file, then renamed into place) and git stores the pointer instead.
 *   Content that already is an mk pointer passes through. A file whose stat data the stat
 *   cache knows, and whose blob the cache holds, is not hashed again (its content is still
 *   read from git's pipe, as the protocol requires).
 * - smudge: a pointer becomes the bytes of its blob, read through the cache's verified path.
 *   A blob the cache lacks is delayed (when git allows it) and all of them are fetched at
 *   once from the default remote when git asks for the delayed blobs; what cannot be had is
 *   delivered as the pointer text, with one warning line, so the checkout goes on
 *   (`mk pull` restores those files later). Content that is not a pointer passes through;
 *   a damaged or hostile pointer is refused with one line and left as its pointer text (no
 *   data is written for it, and git's checkout is not stopped midway).
 */
export async function filterProcess(opts: FilterProcessOptions = {}): Promise<void> {
  const ctxRoot = RepoContext.open(opts.cwd).root;
  const r = new PktReader(opts.input ?? (process.stdin as AsyncIterable<Buffer>));
  const w = new PktWriter(opts.outputFd ?? 1);
  const warn = opts.warn ?? ((l: string) => process.stderr.write(l + '\n'));
  const hello = await r.lines();
  if (hello[0] !== 'git-filter-client' || !hello.includes('version=2'))
    throw new MkError('EPROTOCOL', `git filter protocol: unexpected greeting ${JSON.stringify(hello.join(' ').slice(0, 80))}`, { hint: "run 'mk filter-process' only from git (filter.mk.process)" });
  w.text('git-filter-server');
  w.text('version=2');
  w.flush();
  const offered = (await r.lines()).filter((l) => l.startsWith('capability=')).map((l) => l.slice('capability='.length));
  for (const c of CAPABILITIES) if (offered.includes(c)) w.text(`capability=${c}`);
  w.flush();
  const f = new Filter(ctxRoot, w, warn);
  try {
    for (;;) {
      const req = await r.keyValues();
      if (!req) break;
      const command = req.get('command');
      const path = req.get('pathname') ?? '';
      if (command === 'clean') await f.clean(path, r.content());
      else if (command === 'smudge') await f.smudge(path, r.content(), req.get('can-delay') === '1', req.get('treeish'));
      else if (command === 'list_available_blobs') await f.listAvailable();
      else {
        // Not a capability mk offered: git sends none, but stay in step if it ever does.
        w.status('error');
      }
    }
  } finally {
    f.finish();
  }
}

/** Reads content up to `limit` bytes; `rest` continues the same iteration. */
async function head(content: AsyncIterable<Buffer>, limit: number): Promise<{ parts: Buffer[]; size: number; it: AsyncIterator<Buffer>; done: boolean }> {
  const it = content[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let size = 0;
  while (size <= limit) {
    const n = await it.next();
    if (n.done) return { parts, size, it, done: true };
    parts.push(n.value);
    size += n.value.length;
  }
  return { parts, size, it, done: false };
}

async function* chain(parts: Buffer[], it: AsyncIterator<Buffer>): AsyncIterable<Buffer> {
  yield* parts;
  for (;;) {
    const n = await it.next();
    if (n.done) return;
    yield n.value;
  }
}

function sameStat(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

class Filter {
  private ctxCache?: RepoContext;
  private statCache?: StatCache;
  /** Delayed smudges waiting for list_available_blobs: path → pointer text. */
  private readonly delayed = new Map<string, string>();
  /** Delayed smudges git may ask for again now: path → pointer text. */
  private readonly ready = new Map<string, string>();
  /** Files delivered as pointer text (their blobs could not be had). */
  private readonly leftAsPointers: string[] = [];
  /** Files routed to a remote this user may not read (remotes by path), by path. */
  private readonly noAccess = new Map<string, NoAccess>();
  /** Loaded when a remote by path is used (the filter starts without it). */
  private access?: Access;
  private readonly refused: string[] = [];
  /** Files left as pointer text because their revision is not signed as verify_signatures asks. */
  private readonly withheld: Withheld = {};
  /** Files whose bytes were placed (their withheld record, if any, is forgotten). */
  private readonly placed: string[] = [];
  /** The signature verdict of each revision smudged from (memoised: one check per revision per git command). */
  private readonly verdicts = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly root: string,
    private readonly w: PktWriter,
    private readonly warn: (line: string) => void,
  ) {}

  /** The repository context, read when first needed (during a clone, .mk/config.yaml arrives with the checkout). */
  private get ctx(): RepoContext {
    this.ctxCache ??= RepoContext.open(this.root);
    return this.ctxCache;
  }

  private get stat(): StatCache {
    this.statCache ??= new StatCache(this.ctx.stateDir);
    return this.statCache;
  }

  finish(): void {
    this.statCache?.save();
    const denied = this.leftAsPointers.map((p) => this.noAccess.get(p)).filter((w): w is NoAccess => !!w);
    if (denied.length && this.access) {
      this.warn(`mk: ${this.access.withheldLine(denied)}`);
      try {
        this.access.recordWithheld(this.ctx.stateDir, denied);
      } catch {
        /* only the word 'withheld' is lost */
      }
    }
    const refusedHere = Object.keys(this.withheld);
    if (refusedHere.length || this.placed.length) {
      try {
        updateWithheld(this.ctx.stateDir, this.withheld, this.placed);
      } catch {
        /* no repository context: nothing to record */
      }
    }
    if (refusedHere.length) {
      const n = refusedHere.length;
      const reason = Object.values(this.withheld)[0]!.reason;
      this.warn(`mk: left ${n} file${n === 1 ? '' : 's'} as pointer text (${refusedHere.slice(0, 3).join(', ')}${n > 3 ? ', ...' : ''}): ${reason}`);
    }
    const left = this.leftAsPointers.filter((p) => !this.noAccess.has(p));
    if (left.length) {
      const n = left.length;
      this.warn(
        `mk: ${n} file${n === 1 ? '' : 's'} left as pointer text, the data is neither in the cache nor on a reachable remote (${left.slice(0, 3).join(', ')}${n > 3 ? ', ...' : ''}); run 'mk pull' once a remote holds it`,
      );
    }
  }

  // --- clean ----------------------------------------------------------------------------

  async clean(path: string, content: AsyncIterable<Buffer>): Promise<void> {
    const h = await head(content, MAX_POINTER_BYTES);
    if (h.done && h.size <= MAX_POINTER_BYTES) {
      const text = Buffer.concat(h.parts, h.size);
      if (isValidFilePointer(text.toString('utf8'), path) || (looksLikePointer(text.toString('utf8')) && (await this.indexText(path))?.equals(text))) {
        // Already a pointer (git re-cleaning what it stored, or a file left as pointer text,
        // a refused one too: what the smudge left, the clean gives back): as it is.
        this.answer(text);
        return;
      }
    }
    let before: Stats | undefined;
    try {
      checkStoredPath(path);
      before = lstatSync(abs(this.root, path));
      if (!before.isFile()) before = undefined;
    } catch {
      before = undefined;
    }
    const previous = await this.indexPointer(path);
    const known = before && this.stat.lookup(path, before);
    const cache = this.ctx.cache;
    if (known && before && cache.claim({ digest: known, size: before.size })) {
      // Unchanged since mk hashed it, and stored: read git's copy through without hashing it.
      let n = h.size;
      for (;;) {
        const x = await h.it.next();
        if (x.done) break;
        n += x.value.length;
      }
      if (n === before.size) {
        this.answer(Buffer.from(this.pointerText(path, { digest: known, size: n }, before, previous)));
        return;
      }
      // The stat cache was wrong about it: git's content is what counts, and it is gone. Refuse this once.
      this.stat.forget(path);
      this.w.status('error');
      this.warn(`mk: ${path} changed while git was reading it; run the command again`);
      return;
    }
    const got = await this.store(path, chain(h.parts, h.it));
    if (before) {
      try {
        const after = lstatSync(abs(this.root, path));
        if (sameStat(before, after) && after.size === got.size) this.stat.record(path, after, got.digest);
      } catch {
        /* gone: nothing to remember */
      }
    }
    this.answer(Buffer.from(this.pointerText(path, got, before, previous)));
  }

  private pointerText(path: string, got: { digest: string; size: number }, st: Stats | undefined, previous: Pointer | undefined): string {
    const p: Pointer = { version: 1, kind: previous?.kind ?? guessKind(path), type: 'file', digest: got.digest, size: got.size };
    if (st && st.mode & 0o100) p.exec = true;
    if (previous?.description !== undefined) p.description = previous.description;
    return serializePointer(p);
  }

  /** The bytes git's index holds for `path` when they are pointer-sized, if any. */
  private async indexText(path: string): Promise<Buffer | undefined> {
    try {
      const size = Number((await git(this.root, ['cat-file', '-s', `:${path}`], { okCodes: [128] })).trim());
      if (!size || size > MAX_POINTER_BYTES) return undefined;
      return Buffer.from(await git(this.root, ['cat-file', 'blob', `:${path}`]), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** The pointer git's index holds for `path` (its kind and description are kept), if any. */
  private async indexPointer(path: string): Promise<Pointer | undefined> {
    try {
      const size = Number((await git(this.root, ['cat-file', '-s', `:${path}`], { okCodes: [128] })).trim());
      if (!size || size > MAX_POINTER_BYTES) return undefined;
      return parsePointer(await git(this.root, ['cat-file', 'blob', `:${path}`]), path);
    } catch {
      return undefined;
    }
  }

  /** Stores the content in the cache (the store hashes it as it is written, and names it). */
  private async store(path: string, content: AsyncIterable<Buffer>): Promise<{ digest: string; size: number }> {
    const w = await this.ctx.cache.ingest(path);
    try {
      for await (const c of content) await w.write(c);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return w.commit();
  }

  /** A successful answer with content. */
  private answer(content: Uint8Array): void {
    this.w.text('status=success');
    this.w.flush();
    this.w.data(content);
    this.w.flush();
    this.w.flush(); // empty list: the status stays success
  }

  // --- smudge ----------------------------------------------------------------------------

  /**
   * With config verify_signatures: why the data of `treeish` (the commit git checks out, or HEAD
   * when git names none, as for `git checkout -- <path>`) may not be placed, or undefined.
   */
  private async refusal(treeish: string | undefined): Promise<string | undefined> {
    let ctx: RepoContext;
    try {
      ctx = RepoContext.open(this.root); // read now: in a clone, .mk/config.yaml arrived with the checkout
    } catch {
      return undefined;
    }
    if (!ctx.config.verifySignaturesKey) return undefined;
    let rev = treeish && /^[0-9a-f]{40,64}$/.test(treeish) ? treeish : 'HEAD';
    if (rev !== 'HEAD') {
      // git names a tree (not a commit) for some operations: the data is then judged by HEAD's.
      const type = (await git(this.root, ['cat-file', '-t', rev], { okCodes: [128] }).catch(() => '')).trim();
      if (type !== 'commit') rev = 'HEAD';
    }
    let v = this.verdicts.get(rev);
    if (!v) {
      v = import('../../signing/gate.js').then((g) => g.smudgeRefusal(this.root, rev));
      this.verdicts.set(rev, v);
    }
    return v;
  }

  async smudge(path: string, content: AsyncIterable<Buffer>, canDelay: boolean, treeish?: string): Promise<void> {
    const parts: Buffer[] = [];
    for await (const c of content) parts.push(c);
    let bytes = Buffer.concat(parts);
    const again = this.ready.get(path);
    if (again !== undefined) {
      // A delayed file git asks for again (with empty content): its pointer was kept.
      this.ready.delete(path);
      bytes = Buffer.from(again);
    }
    if (bytes.length > MAX_POINTER_BYTES || !looksLikePointer(bytes.toString('utf8'))) {
      this.answer(bytes); // not a pointer: as it is
      return;
    }
    const text = bytes.toString('utf8');
    let p: Pointer;
    try {
      checkStoredPath(path);
      p = parsePointer(text, path);
      if (p.type !== 'file') throw new MkError('EPOINTER', `${path}: a folder pointer cannot stand for a file`);
    } catch (e) {
      this.refuse(path, e, bytes);
      return;
    }
    const desc: Descriptor = { mediaType: MediaType.octet, digest: p.digest, size: p.size };
    const cache = this.ctx.cache;
    const have = cache.statBlobSync(p.digest);
    if (have === undefined) {
      if (again === undefined && canDelay && this.canFetch()) {
        this.delayed.set(path, text);
        this.w.status('delayed');
        return;
      }
      if (again === undefined && this.canFetch()) await this.fetch([{ path, desc }]);
      if (cache.statBlobSync(p.digest) === undefined) {
        this.leftAsPointers.push(path);
        this.answer(bytes);
        return;
      }
    }
    // verify_signatures covers the files git writes too: an unsigned revision's data stays out, as pointer text.
    const refused = await this.refusal(treeish);
    if (refused !== undefined) {
      Object.defineProperty(this.withheld, path, { value: { digest: p.digest, reason: refused }, enumerable: true, configurable: true });
      this.answer(bytes);
      return;
    }
    this.placed.push(path);
    await this.sendBlob(path, desc, bytes);
  }

  private async sendBlob(path: string, desc: Descriptor, pointerText: Buffer): Promise<void> {
    let it: AsyncIterable<Uint8Array>;
    try {
      // The verified read path: a size that contradicts the blob is refused before any byte.
      it = await this.ctx.cache.fetch(desc);
    } catch (e) {
      this.refuse(path, e, pointerText);
      return;
    }
    this.w.text('status=success');
    this.w.flush();
    try {
      for await (const c of it) this.w.data(c);
    } catch (e) {
      // The bytes did not match the digest (the blob is dropped from the cache): git discards what it got.
      this.w.flush();
      this.w.status('error');
      this.refused.push(path);
      this.warn(`mk: ${path}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.w.flush();
    this.w.flush();
  }

  /**
   * A pointer mk will not follow (damaged, hostile, or contradicting its blob): no byte of data
   * is written for it, and git gets the pointer text as it is stored (as Git LFS passes through
   * what it cannot read). An error answer would stop git midway through a checkout, after it
   * had already removed the old file and updated others; this way the checkout finishes and
   * the file holds its pointer text, which mk status reports and the clean filter keeps as it is.
   */
  private refuse(path: string, e: unknown, pointerText: Buffer): void {
    this.refused.push(path);
    this.answer(pointerText);
    this.warn(`mk: refusing to check out ${path}: ${e instanceof Error ? e.message : String(e)}; it is left as its pointer text`);
  }

  private canFetch(): boolean {
    try {
      const c = RepoContext.open(this.root).config;
      return c.autoFetch && c.remotes.length > 0;
    } catch {
      return false;
    }
  }

  /**
   * Downloads blobs into the cache, all at once (one graph copy) per remote: each file's from
   * its own remote (remotes by path), else the default one. Failures are left missing; a
   * remote by path this user may not read makes its files withheld.
   */
  private async fetch(files: Array<{ path: string; desc: Descriptor }>): Promise<void> {
    if (!files.length) return;
    try {
      // Read the settings now: in a clone, .mk/config.yaml arrived with the checkout.
      this.ctxCache = RepoContext.open(this.root);
      const ctx = this.ctxCache;
      const { openRemote, remoteConfig } = await import('../../remote/remotes.js');
      const { routeOfPath } = await import('../../repo/routes.js');
      const { copyGraph } = await import('../../transfer/graph-copy.js');
      const groups = new Map<string, { rc: RemoteConfig; routed: boolean; files: Array<{ path: string; desc: Descriptor }> }>();
      for (const f of files) {
        const route = routeOfPath(ctx.config, f.path);
        const rc = route ?? remoteConfig(ctx);
        let g = groups.get(rc.name);
        if (!g) groups.set(rc.name, (g = { rc, routed: !!route, files: [] }));
        g.files.push(f);
      }
      for (const g of groups.values()) {
        try {
          const target = await openRemote(ctx, g.rc, { readOnly: true });
          const unique = [...new Map(g.files.map((f) => [f.desc.digest, f.desc])).values()];
          // Blob by blob only if the batch fails (one missing blob must not keep the others away).
          try {
            await copyGraph(target, ctx.cache, unique, {});
          } catch (e) {
            const access = g.routed ? (this.access ??= await import('../../remote/access.js')) : undefined;
            const why = access?.deniedReason(e);
            if (access && why) {
              for (const f of g.files) this.noAccess.set(f.path, access.withheldOf(g.rc, ctx.root, f.path, why));
              continue;
            }
            for (const d of unique) await copyGraph(target, ctx.cache, [d], {}).catch(() => undefined);
          }
        } catch {
          /* this remote cannot be reached: its files stay pointer text */
        }
      }
    } catch {
      /* no remote: the files stay pointer text */
    }
  }

  async listAvailable(): Promise<void> {
    if (this.delayed.size) {
      const files: Array<{ path: string; desc: Descriptor }> = [];
      for (const [path, text] of this.delayed) {
        const p = parsePointer(text, path);
        files.push({ path, desc: { mediaType: MediaType.octet, digest: p.digest, size: p.size } });
      }
      await this.fetch(files);
    }
    // Every delayed file is available now: as bytes, or (when the fetch failed) as its pointer text.
    for (const [path, text] of this.delayed) {
      this.ready.set(path, text);
      this.w.text(`pathname=${path}`);
    }
    this.delayed.clear();
    this.w.flush();
    this.w.status('success');
  }
}

function isValidFilePointer(text: string, path: string): boolean {
  if (!looksLikePointer(text)) return false;
  try {
    return parsePointer(text, path).type === 'file';
  } catch {
    return false;
  }
}
