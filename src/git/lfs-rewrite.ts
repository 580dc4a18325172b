import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { LFS_POINTER_MAX, parseLfsPointer, type LfsPointer } from '../formats/lfs-pointer.js';
import { guessKind, serializePointer } from '../formats/pointer.js';
import { ATTRIBUTES_FILE, attributesFromLfs } from '../repo/gitattributes.js';
import type { ObjectReader } from './cat-file-command.js';
import { gitBytes, parseTree, type BlobEntry, type ObjectWriter, type TreeVisitor } from './rewrite.js';

/** A file path read as latin1 (every byte kept), as UTF-8 text. */
export const utf8Path = (p: string) => Buffer.from(p, 'latin1').toString('utf8');

/** The mk pointer Git stores for a file that Git LFS stored as `p` (kind guessed from the path, as the clean filter does). */
export function mkPointerText(path: string, p: LfsPointer, exec: boolean): string {
  return serializePointer({ version: 1, kind: guessKind(path), type: 'file', digest: `sha256:${p.oid}`, size: p.size, ...(exec ? { exec: true } : {}) });
}

/**
 * Asks git which of `paths` have `filter=lfs` under the given .gitattributes files (path, blob):
 * they go into a temporary index on their own and `git check-attr --cached` reads them there (git
 * 2.39 has no `check-attr --source`), so git's own rules decide, nested files and macros included.
 */
export async function lfsFiltered(root: string, attrs: Array<[string, string]>, paths: string[]): Promise<Set<string>> {
  const dir = mkdtempSync(join(tmpdir(), 'mk-attr-'));
  try {
    const env = { ...process.env, GIT_INDEX_FILE: join(dir, 'index') };
    if (attrs.length) await gitBytes(root, ['update-index', '-z', '--index-info'], Buffer.concat(attrs.map(([p, oid]) => Buffer.from(`100644 ${oid}\t${p}\0`, 'latin1'))), env);
    const out = (await gitBytes(root, ['check-attr', '--cached', '-z', '--stdin', 'filter'], Buffer.concat(paths.map((p) => Buffer.from(p + '\0', 'latin1'))), env)).toString('latin1').split('\0');
    const lfs = new Set<string>();
    for (let i = 0; i + 2 < out.length; i += 3) if (out[i + 2] === 'lfs') lfs.add(out[i]!);
    return lfs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Scan {
  /** `.gitattributes` files under the tree: [relative path, blob]. */
  attrs: Array<[string, string]>;
  /** Blobs that are LFS pointers: [relative path, blob]. */
  pointers: Array<[string, string]>;
}

/**
 * The visitor `mk migrate --from-lfs --history` rewrites history with: a blob that is a Git LFS
 * pointer at a path the commit's attributes give `filter=lfs` becomes the mk pointer of the
 * same bytes (the LFS oid is their sha256, mk's digest), and `.gitattributes` files give LFS's
 * attributes to mk. The LFS objects the new pointers name are collected in `objects`.
 */
export class LfsToMk implements TreeVisitor {
  /** LFS objects the rewritten history names: oid -> size. */
  readonly objects = new Map<string, number>();
  /** Pointers converted, counted once per (path, blob). */
  converted = 0;
  private readonly pointerOf = new Map<string, LfsPointer | null>();
  private readonly scans = new Map<string, Scan>();
  private readonly decisions = new Map<string, Map<string, boolean>>();
  /** Per attributes key: the .gitattributes files that change (path -> new blob). */
  private readonly attrPlans = new Map<string, Map<string, string>>();
  private readonly mkBlobs = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly reader: ObjectReader,
    private readonly writer: ObjectWriter,
    private readonly hexLength: number,
  ) {}

  private async lfsPointer(oid: string): Promise<LfsPointer | null> {
    let p = this.pointerOf.get(oid);
    if (p !== undefined) return p;
    const info = await this.reader.info(oid);
    p = null;
    if (info?.type === 'blob' && info.size > 0 && info.size < LFS_POINTER_MAX) p = parseLfsPointer((await this.reader.contents(oid))!.body) ?? null;
    this.pointerOf.set(oid, p);
    return p;
  }

  private async scan(tree: string): Promise<Scan> {
    const known = this.scans.get(tree);
    if (known) return known;
    const o = await this.reader.contents(tree);
    const s: Scan = { attrs: [], pointers: [] };
    for (const e of o && o.type === 'tree' ? parseTree(o.body, this.hexLength) : []) {
      if (e.mode === '40000' || e.mode === '040000') {
        const sub = await this.scan(e.oid);
        for (const [p, b] of sub.attrs) s.attrs.push([`${e.name}/${p}`, b]);
        for (const [p, b] of sub.pointers) s.pointers.push([`${e.name}/${p}`, b]);
      } else if (e.mode === '100644' || e.mode === '100755') {
        if (e.name === '.gitattributes') s.attrs.push([e.name, e.oid]);
        else if (await this.lfsPointer(e.oid)) s.pointers.push([e.name, e.oid]);
      }
    }
    this.scans.set(tree, s);
    return s;
  }

  async begin(_commit: string, tree: string): Promise<string> {
    const s = await this.scan(tree);
    const key = createHash('sha1')
      .update(s.attrs.map(([p, b]) => `${p}\0${b}`).join('\n'))
      .digest('hex');
    if (!this.attrPlans.has(key)) {
      const texts = new Map<string, string>();
      for (const [p, b] of s.attrs) texts.set(p, (await this.reader.contents(b))?.body.toString('latin1') ?? '');
      const plan = new Map<string, string>();
      for (const [p, text] of attributesFromLfs(texts)) plan.set(p, this.writer.add('blob', Buffer.from(text, 'latin1')));
      this.attrPlans.set(key, plan);
    }
    let d = this.decisions.get(key);
    if (!d) this.decisions.set(key, (d = new Map()));
    const unknown = s.pointers.map(([p]) => p).filter((p) => !d.has(p));
    if (unknown.length) {
      const lfs = await lfsFiltered(this.root, s.attrs, unknown);
      for (const p of unknown) d.set(p, lfs.has(p));
    }
    return key;
  }

  async blob(e: BlobEntry, key: string): Promise<string | undefined> {
    if (e.name === ATTRIBUTES_FILE) return this.attrPlans.get(key)?.get(e.path);
    const p = await this.lfsPointer(e.oid);
    if (!p || !this.decisions.get(key)?.get(e.path)) return undefined;
    const memo = `${e.oid}\0${e.path}\0${e.mode}`;
    let id = this.mkBlobs.get(memo);
    if (!id) {
      id = this.writer.add('blob', Buffer.from(mkPointerText(utf8Path(e.path), p, e.mode === '100755')));
      this.mkBlobs.set(memo, id);
      this.converted++;
    }
    this.objects.set(p.oid, p.size);
    return id;
  }

  rootAdditions(key: string): Map<string, string> | undefined {
    const root = this.attrPlans.get(key)?.get(ATTRIBUTES_FILE);
    return root ? new Map([[ATTRIBUTES_FILE, root]]) : undefined;
  }
}
