import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitError } from '../errors/index.js';
import type { ObjectReader } from './cat-file-command.js';
import { git } from './run.js';

/**
 * History rewriting with Git's plumbing (as `git lfs migrate import` or `git filter-repo` do, but
 * object by object): every commit reachable from the given refs is read, its tree rewritten by a
 * visitor that may replace blobs, and written again with exactly the same headers (author,
 * committer, dates, encoding, message) but the new tree and parents. A commit whose tree and
 * parents did not change keeps its id. Signatures (gpgsig) are dropped: they no longer match.
 * New objects are hashed here and written by `git hash-object` in batches, which must give the
 * same ids.
 */

/** Runs git with bytes in and out (paths in trees are bytes, not necessarily UTF-8). */
export function gitBytes(cwd: string, args: string[], input?: Buffer, env?: NodeJS.ProcessEnv): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', args, { cwd, env: env ?? process.env, maxBuffer: 1 << 30, encoding: 'buffer' }, (err, stdout, stderr) => {
      if (err)
        return reject(
          new GitError(
            `git ${args[0]}: ${(stderr.toString('utf8') || err.message)
              .trim()
              .split('\n')
              .pop()!
              .replace(/^(fatal|error): /, '')}`,
          ),
        );
      resolve(stdout);
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? Buffer.alloc(0));
  });
}

/** Writes new objects: their ids are computed here, the objects written by git in batches. */
export class ObjectWriter {
  private queued = new Map<string, { type: string; body: Buffer }>();
  private readonly algo: 'sha1' | 'sha256';
  written = 0;

  constructor(
    private readonly root: string,
    hexLength: number,
  ) {
    this.algo = hexLength === 64 ? 'sha256' : 'sha1';
  }

  /** The id of the object (queued for writing). */
  add(type: 'blob' | 'tree' | 'commit' | 'tag', body: Buffer): string {
    const id = createHash(this.algo).update(`${type} ${body.length}\0`).update(body).digest('hex');
    this.queued.set(id, { type, body });
    return id;
  }

  get pending(): number {
    return this.queued.size;
  }

  /** Writes everything queued (one `git hash-object` per type) and checks that git computed the same ids. */
  async flush(): Promise<void> {
    if (!this.queued.size) return;
    const dir = mkdtempSync(join(tmpdir(), 'mk-rewrite-'));
    try {
      const byType = new Map<string, Array<[string, string]>>();
      let n = 0;
      for (const [id, o] of this.queued) {
        const f = join(dir, String(n++));
        writeFileSync(f, o.body);
        (byType.get(o.type) ?? byType.set(o.type, []).get(o.type)!).push([id, f]);
      }
      for (const [type, list] of byType) {
        const input = list.map(([, f]) => f).join('\n') + '\n';
        const args = ['hash-object', '-w', '-t', type, '--no-filters', '--stdin-paths'];
        // Objects git itself accepted once but its checks now refuse (old histories) are written as they are.
        const out = await git(this.root, args, { input }).catch(() => git(this.root, [...args, '--literally'], { input }));
        const ids = out.split('\n').filter(Boolean);
        list.forEach(([id], i) => {
          if (ids[i] !== id) throw new GitError(`git wrote a ${type} as ${ids[i] ?? 'nothing'}, but mk computed ${id}`, 'this is a bug in mk: nothing was changed; report it');
        });
      }
      this.written += this.queued.size;
      this.queued.clear();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

export interface TreeEntryRaw {
  mode: string;
  /** The name as stored (bytes, read as latin1 so that any byte survives). */
  name: string;
  oid: string;
}

export function parseTree(body: Buffer, hexLength: number): TreeEntryRaw[] {
  const idBytes = hexLength / 2;
  const out: TreeEntryRaw[] = [];
  for (let at = 0; at < body.length;) {
    const sp = body.indexOf(32, at);
    const nul = body.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 1 + idBytes > body.length) throw new GitError('a tree object is malformed', "check the repository with 'git fsck'");
    out.push({ mode: body.toString('latin1', at, sp), name: body.toString('latin1', sp + 1, nul), oid: body.toString('hex', nul + 1, nul + 1 + idBytes) });
    at = nul + 1 + idBytes;
  }
  return out;
}

export function serializeTree(entries: TreeEntryRaw[]): Buffer {
  return Buffer.concat(entries.flatMap((e) => [Buffer.from(`${e.mode} ${e.name}\0`, 'latin1'), Buffer.from(e.oid, 'hex')]));
}

export interface BlobEntry {
  /** Path from the repository root (latin1-read bytes). */
  path: string;
  name: string;
  mode: string;
  oid: string;
}

export interface TreeVisitor {
  /** Called before each commit's tree: returns a key; a tree is rewritten once per (tree, path, key). */
  begin(commit: string, tree: string): Promise<string>;
  /** The id of a replacement for a blob (written through the writer), or undefined to keep it. */
  blob(e: BlobEntry, key: string): Promise<string | undefined>;
  /** Blobs to add to the root tree (name -> id), when it lacks them. */
  rootAdditions?(key: string): Map<string, string> | undefined;
}

/** Git's order of tree entries: by name, a folder's name read with a '/' after it. */
function treeOrder(a: TreeEntryRaw, b: TreeEntryRaw): number {
  const key = (e: TreeEntryRaw) => Buffer.from(e.name + (e.mode === '40000' || e.mode === '040000' ? '/' : ''), 'latin1');
  return Buffer.compare(key(a), key(b));
}

export interface RewriteResult {
  commits: number;
  rewritten: number;
  /** Old commit id -> new (only commits that changed). */
  map: Map<string, string>;
  /** The refs with their old and new targets (only those that changed). */
  refs: Array<{ ref: string; old: string; new: string }>;
}

/** One header of a commit or tag with its continuation lines (a signature spans many). */
function headerBlocks(head: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  for (let at = 0; at < head.length;) {
    let nl = head.indexOf(10, at);
    if (nl < 0) nl = head.length;
    const line = head.subarray(at, nl);
    if (line[0] === 32 && lines.length) lines[lines.length - 1] = Buffer.concat([lines[lines.length - 1]!, Buffer.from('\n'), line]);
    else lines.push(line);
    at = nl + 1;
  }
  return lines;
}

function splitObject(body: Buffer): { head: Buffer; rest: Buffer } {
  const end = body.indexOf('\n\n');
  return end < 0 ? { head: body.subarray(0, body.length - (body[body.length - 1] === 10 ? 1 : 0)), rest: Buffer.alloc(0) } : { head: body.subarray(0, end), rest: body.subarray(end + 1) };
}

const keyOf = (line: Buffer) => line.toString('latin1', 0, Math.max(0, line.indexOf(32)));

/**
 * Rewrites every commit reachable from `refs` (full ref names) with `visitor`, oldest first.
 * Nothing is written to the refs: the caller checks what it needs, flushes the writer and
 * moves the refs (see updateRefs).
 */
export async function rewriteHistory(
  root: string,
  reader: ObjectReader,
  writer: ObjectWriter,
  hexLength: number,
  refs: string[],
  visitor: TreeVisitor,
  onCommit?: (done: number, of: number) => void,
): Promise<RewriteResult> {
  const tips = new Map<string, string>();
  for (const line of (await git(root, ['for-each-ref', '--format=%(objectname) %(refname)', ...refs])).split('\n').filter(Boolean)) {
    const sp = line.indexOf(' ');
    if (refs.includes(line.slice(sp + 1))) tips.set(line.slice(sp + 1), line.slice(0, sp));
  }
  const commits = tips.size ? (await git(root, ['rev-list', '--topo-order', '--reverse', ...new Set(tips.values())])).split('\n').filter(Boolean) : [];
  const map = new Map<string, string>();
  const trees = new Map<string, string>();
  const rewriteTree = async (oid: string, prefix: string, key: string): Promise<string> => {
    const memo = `${oid}\0${prefix}\0${key}`;
    const known = trees.get(memo);
    if (known) return known;
    const o = await reader.contents(oid);
    if (!o || o.type !== 'tree') throw new GitError(`cannot read tree ${oid.slice(0, 12)}`, "the clone may be partial or damaged ('git fsck')");
    const entries = parseTree(o.body, hexLength);
    let changed = false;
    for (const e of entries) {
      let next: string | undefined;
      if (e.mode === '40000' || e.mode === '040000') next = await rewriteTree(e.oid, `${prefix}${e.name}/`, key);
      else if (e.mode === '100644' || e.mode === '100755') next = await visitor.blob({ path: prefix + e.name, name: e.name, mode: e.mode, oid: e.oid }, key);
      if (next && next !== e.oid) {
        e.oid = next;
        changed = true;
      }
    }
    if (prefix === '')
      for (const [name, blob] of visitor.rootAdditions?.(key) ?? []) {
        if (entries.some((e) => e.name === name)) continue;
        entries.push({ mode: '100644', name, oid: blob });
        entries.sort(treeOrder);
        changed = true;
      }
    const id = changed ? writer.add('tree', serializeTree(entries)) : oid;
    trees.set(memo, id);
    return id;
  };
  let done = 0;
  for (const c of commits) {
    const o = await reader.contents(c);
    if (!o || o.type !== 'commit') throw new GitError(`cannot read commit ${c.slice(0, 12)}`, "the clone may be shallow or damaged ('git fsck')");
    const { head, rest } = splitObject(o.body);
    const blocks = headerBlocks(head);
    const tree = blocks
      .find((b) => keyOf(b) === 'tree')
      ?.toString('latin1')
      .slice(5);
    if (!tree) throw new GitError(`commit ${c.slice(0, 12)} has no tree`, "check the repository with 'git fsck'");
    const key = await visitor.begin(c, tree);
    const newTree = await rewriteTree(tree, '', key);
    let changed = newTree !== tree;
    const out: Buffer[] = [];
    for (const b of blocks) {
      const k = keyOf(b);
      if (k === 'tree') out.push(Buffer.from(`tree ${newTree}`));
      else if (k === 'parent') {
        const p = b.toString('latin1').slice(7);
        const np = map.get(p) ?? p;
        if (np !== p) changed = true;
        out.push(Buffer.from(`parent ${np}`));
      } else if (k === 'gpgsig' || k === 'gpgsig-sha256') continue;
      else out.push(b);
    }
    if (changed) map.set(c, writer.add('commit', Buffer.concat([Buffer.from(out.map((b) => b.toString('latin1')).join('\n'), 'latin1'), Buffer.from('\n'), rest])));
    onCommit?.(++done, commits.length);
  }
  const result: RewriteResult = { commits: commits.length, rewritten: map.size, map, refs: [] };
  for (const [ref, old] of tips) {
    const next = await retarget(reader, writer, old, map);
    if (next !== old) result.refs.push({ ref, old, new: next });
  }
  return result;
}

/** The new target of a ref: a rewritten commit, or a new annotated tag naming it (its signature dropped). */
async function retarget(reader: ObjectReader, writer: ObjectWriter, oid: string, map: Map<string, string>, depth = 0): Promise<string> {
  if (map.has(oid)) return map.get(oid)!;
  const o = await reader.contents(oid);
  if (!o || o.type !== 'tag' || depth > 16) return oid;
  const { head, rest } = splitObject(o.body);
  const blocks = headerBlocks(head);
  const target = blocks
    .find((b) => keyOf(b) === 'object')
    ?.toString('latin1')
    .slice(7);
  if (!target) return oid;
  const next = await retarget(reader, writer, target, map, depth + 1);
  if (next === target) return oid;
  const out = blocks.filter((b) => keyOf(b) !== 'gpgsig').map((b) => (keyOf(b) === 'object' ? Buffer.from(`object ${next}`) : b));
  // A tag's signature is the tail of its message.
  let msg = rest.toString('latin1');
  const sig = msg.search(/^-----BEGIN (PGP|SSH) SIGNATURE-----$/m);
  if (sig >= 0) msg = msg.slice(0, sig);
  return writer.add('tag', Buffer.concat([Buffer.from(out.map((b) => b.toString('latin1')).join('\n') + '\n' + msg, 'latin1')]));
}

/**
 * Moves the refs to their new targets in one transaction (each only if it still points where it
 * did), keeping each old target under `<backup>/<ref without 'refs/'>`.
 */
export async function updateRefs(root: string, refs: RewriteResult['refs'], backup: string, message: string): Promise<void> {
  const lines = refs.flatMap((r) => [`update ${r.ref} ${r.new} ${r.old}`, `create ${backup}/${r.ref.replace(/^refs\//, '')} ${r.old}`]);
  await git(root, ['update-ref', '-m', message, '--stdin'], { input: lines.join('\n') + '\n' });
}
