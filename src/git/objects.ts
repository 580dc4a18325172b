import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { GitError, UnsafePathError } from '../errors/index.js';
import { isGitSegment } from '../repo/paths.js';

interface RawObject {
  type: string;
  body: Buffer;
}

interface Pending {
  resolve: (o: RawObject | undefined) => void;
  reject: (e: Error) => void;
}

const HEX = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * One `git cat-file --batch` per git dir, started on first use and shared by every read
 * after it: one process however many objects (gc walks all history), and far less start-up
 * than loading an in-process git library (the post-checkout hook reads one commit). It does
 * not keep Node alive while no read is pending.
 */
class CatFile {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly queue: Pending[] = [];
  /** What git wrote and was not consumed yet; concatenated only once an answer is complete. */
  private chunks: Buffer[] = [];
  private have = 0;
  private need = 0;
  private failed?: Error;

  constructor(gitdir: string) {
    this.child = spawn('git', ['--git-dir', gitdir, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    this.child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.have += chunk.length;
      if (this.have >= this.need) this.drain();
    });
    const fail = (why: string) => {
      this.failed ??= new GitError(`git cat-file: ${why}`);
      for (const p of this.queue.splice(0)) p.reject(this.failed);
      if (batches.get(gitdir) === this) batches.delete(gitdir);
    };
    this.child.on('error', (e) => fail(e.message));
    this.child.on('close', (code) =>
      fail(
        stderr
          .trim()
          .split('\n')
          .filter(Boolean)
          .pop()
          ?.replace(/^(fatal|error): /, '') ?? `exited with ${code}`,
      ),
    );
    this.child.stdin.on('error', () => undefined); // reported by 'close'
    this.idle();
  }

  read(oid: string): Promise<RawObject | undefined> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject });
      if (this.queue.length === 1) this.busy();
      this.child.stdin.write(oid + '\n');
    });
  }

  /** Answers are "<oid> <type> <size>\n<body>\n", or "<oid> missing\n", in the order asked. */
  private drain(): void {
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.need = 0;
    while (this.queue.length) {
      const nl = buf.indexOf(10);
      if (nl < 0) {
        this.need = buf.length + 1;
        break;
      }
      const head = buf.subarray(0, nl).toString('utf8').split(' ');
      if (head.length !== 3) {
        buf = buf.subarray(nl + 1);
        this.queue.shift()!.resolve(undefined);
        continue;
      }
      const end = nl + 1 + Number(head[2]);
      if (buf.length < end + 1) {
        this.need = end + 1;
        break;
      }
      const body = Buffer.from(buf.subarray(nl + 1, end));
      buf = buf.subarray(end + 1);
      this.queue.shift()!.resolve({ type: head[1]!, body });
    }
    this.chunks = buf.length ? [buf] : [];
    this.have = buf.length;
    if (this.queue.length === 0) this.idle();
  }

  private busy(): void {
    this.child.ref();
    ref(this.child.stdout, true);
  }

  private idle(): void {
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) ref(s, false);
  }
}

/** Pipes to a child are sockets, which keep Node alive unless unreferenced. */
function ref(stream: object, on: boolean): void {
  const s = stream as { ref?: () => void; unref?: () => void };
  if (on) s.ref?.();
  else s.unref?.();
}

const batches = new Map<string, CatFile>();

/**
 * A git object by id, annotated tags followed; commits become their tree when a tree is
 * wanted. A missing or malformed object (a shallow or partial clone, a damaged repository, a
 * crafted object) is a GitError naming it.
 */
async function readObject(gitdir: string, kind: 'commit' | 'tree' | 'blob', oid: string): Promise<Buffer> {
  const fail = (why: string) => new GitError(`cannot read ${kind} ${oid.slice(0, 12)}: ${why}`, "the clone may be shallow or partial ('git fetch --unshallow'), or damaged ('git fsck')");
  let id = oid;
  for (let hops = 0; hops < 32; hops++) {
    if (!HEX.test(id)) throw fail('it is not in this repository');
    let batch = batches.get(gitdir);
    if (!batch) batches.set(gitdir, (batch = new CatFile(gitdir)));
    const o = await batch.read(id);
    if (!o) throw fail('it is not in this repository');
    if (o.type === kind) return o.body;
    const next = o.type === 'tag' ? /^object ([0-9a-f]+)$/m.exec(headers(o.body))?.[1] : o.type === 'commit' && kind === 'tree' ? /^tree ([0-9a-f]+)$/m.exec(headers(o.body))?.[1] : undefined;
    if (!next) throw fail(`it is a ${o.type}, not a ${kind}`);
    id = next;
  }
  throw fail('too many tags in a row');
}

/** The header lines of a commit or tag (up to the blank line before the message). */
function headers(body: Buffer): string {
  const end = body.indexOf('\n\n');
  return body.subarray(0, end < 0 ? body.length : end).toString('utf8');
}

export interface CommitObject {
  tree: string;
  committer: { timestamp: number; timezoneOffset: number };
}

/**
 * A commit's tree and committer time. `timezoneOffset` is in minutes, signed as
 * `Date.getTimezoneOffset()` is (east of UTC is negative: +0100 is -60).
 */
export async function readCommit(gitdir: string, oid: string): Promise<CommitObject> {
  const h = headers(await readObject(gitdir, 'commit', oid));
  const tree = /^tree ([0-9a-f]+)$/m.exec(h)?.[1];
  const who = /^committer .*> (-?\d+) ([+-])(\d\d)(\d\d)$/m.exec(h);
  if (!tree || !who) throw new GitError(`cannot read commit ${oid.slice(0, 12)}: it is malformed`, "the repository may be damaged ('git fsck')");
  const minutes = (who[2] === '+' ? 1 : -1) * (Number(who[3]) * 60 + Number(who[4]));
  return { tree, committer: { timestamp: Number(who[1]), timezoneOffset: minutes === 0 ? 0 : -minutes } };
}

export interface TreeEntry {
  path: string;
  mode: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

const MODES: Record<string, [string, TreeEntry['type']]> = {
  '40000': ['040000', 'tree'],
  '040000': ['040000', 'tree'],
  '100644': ['100644', 'blob'],
  '100755': ['100755', 'blob'],
  '120000': ['120000', 'blob'],
  '160000': ['160000', 'commit'],
};

/** A tree's entries; a name no checkout could create (`..`, `a/b`, `.git` in any form) is refused. */
export async function readTree(gitdir: string, oid: string): Promise<TreeEntry[]> {
  const body = await readObject(gitdir, 'tree', oid);
  const idBytes = oid.length === 64 ? 32 : 20;
  const tree: TreeEntry[] = [];
  for (let at = 0; at < body.length;) {
    const space = body.indexOf(32, at);
    const nul = body.indexOf(0, at);
    if (space < 0 || nul < space || nul + 1 + idBytes > body.length) throw new GitError(`cannot read tree ${oid.slice(0, 12)}: it is malformed`, "the repository may be damaged ('git fsck')");
    const rawMode = body.subarray(at, space).toString('utf8');
    const mode = MODES[rawMode];
    if (!mode) throw new GitError(`cannot read tree ${oid.slice(0, 12)}: unexpected entry mode ${rawMode}`, "the repository may be damaged ('git fsck')");
    tree.push({ mode: mode[0], type: mode[1], path: body.subarray(space + 1, nul).toString('utf8'), oid: body.subarray(nul + 1, nul + 1 + idBytes).toString('hex') });
    at = nul + 1 + idBytes;
  }
  for (const e of tree) {
    if (e.path === '' || e.path === '.' || e.path === '..' || e.path.includes('/') || e.path.includes('\\') || e.path.includes('\0') || isGitSegment(e.path)) {
      throw new UnsafePathError(e.path, `tree ${oid.slice(0, 12)} has an entry no checkout may write`);
    }
  }
  return tree;
}

export async function readBlob(gitdir: string, oid: string): Promise<Uint8Array> {
  return new Uint8Array(await readObject(gitdir, 'blob', oid));
}
