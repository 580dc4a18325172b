import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { GitError } from '../errors/index.js';

export interface ObjectInfo {
  type: string;
  size: number;
}

interface Pending {
  kind: 'info' | 'contents';
  resolve: (v: { info: ObjectInfo; body?: Buffer } | undefined) => void;
  reject: (e: Error) => void;
}

/**
 * One `git cat-file --batch-command` (git >= 2.36): an object's type and size (`info`) without
 * reading it, or its whole content (`contents`), in one process however many objects. A history
 * rewrite asks the size of every blob first, so a large file is never read to find out that it
 * is not a small pointer.
 */
export class ObjectReader {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly queue: Pending[] = [];
  private chunks: Buffer[] = [];
  private have = 0;
  private need = 0;
  private failed?: Error;

  constructor(gitDir: string) {
    this.child = spawn('git', ['--git-dir', gitDir, 'cat-file', '--batch-command'], { stdio: ['pipe', 'pipe', 'pipe'] });
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
    };
    this.child.on('error', (e) => fail(e.message));
    this.child.on('close', (code) => fail(stderr.trim().split('\n').filter(Boolean).pop() ?? `exited with ${code}`));
    this.child.stdin.on('error', () => undefined);
  }

  /** Type and size, or undefined for an object the repository lacks. */
  async info(oid: string): Promise<ObjectInfo | undefined> {
    return (await this.ask('info', oid))?.info;
  }

  /** Type and content, or undefined for an object the repository lacks. */
  async contents(oid: string): Promise<{ type: string; body: Buffer } | undefined> {
    const r = await this.ask('contents', oid);
    return r ? { type: r.info.type, body: r.body! } : undefined;
  }

  close(): void {
    this.child.stdin.end();
  }

  private ask(kind: Pending['kind'], oid: string): Promise<{ info: ObjectInfo; body?: Buffer } | undefined> {
    if (this.failed) return Promise.reject(this.failed);
    if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(oid)) return Promise.reject(new GitError(`not an object id: ${oid}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ kind, resolve, reject });
      this.child.stdin.write(`${kind} ${oid}\n`);
    });
  }

  /** Answers are "<oid> <type> <size>\n" (+ "<body>\n" for contents) or "<oid> missing\n", in order. */
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
      const p = this.queue[0]!;
      if (head.length !== 3) {
        buf = buf.subarray(nl + 1);
        this.queue.shift();
        p.resolve(undefined);
        continue;
      }
      const info = { type: head[1]!, size: Number(head[2]) };
      if (p.kind === 'info') {
        buf = buf.subarray(nl + 1);
        this.queue.shift();
        p.resolve({ info });
        continue;
      }
      const end = nl + 1 + info.size;
      if (buf.length < end + 1) {
        this.need = end + 1;
        break;
      }
      const body = Buffer.from(buf.subarray(nl + 1, end));
      buf = buf.subarray(end + 1);
      this.queue.shift();
      p.resolve({ info, body });
    }
    this.chunks = buf.length ? [buf] : [];
    this.have = buf.length;
  }
}
