import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MkError } from '../errors/index.js';
import { buildPack, type PackInput, type PackResult } from './pack.js';

type Job = { resolve: (r: PackResult) => void; reject: (e: unknown) => void };

/**
 * Builds packs on worker threads, one per core, so hashing and tarring many small files
 * keeps every core busy. Below `minBytes` of work it builds in this thread (starting
 * workers costs more than it saves).
 */
export class PackPool {
  private workers: Worker[] = [];
  private idle: Worker[] = [];
  private queue: Array<() => void> = [];
  private jobs = new Map<number, Job>();
  private next = 0;
  readonly size: number;

  constructor(totalBytes: number, groups: number, minBytes = 32 << 20) {
    const cores = Math.max(1, availableParallelism());
    this.size = totalBytes >= minBytes && groups > 1 ? Math.min(cores, groups, 8) : 0;
  }

  private start(): void {
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(new URL('./pack-worker.js', import.meta.url));
      w.on('message', (m: { id: number; result?: PackResult; error?: { message: string; code?: string; hint?: string } }) => {
        const job = this.jobs.get(m.id);
        this.jobs.delete(m.id);
        this.release(w);
        if (!job) return;
        if (m.error) job.reject(new MkError(m.error.code ?? 'EPACK', m.error.message, { hint: m.error.hint }));
        else job.resolve(m.result!);
      });
      w.on('error', (e) => {
        for (const [, job] of this.jobs) job.reject(e);
        this.jobs.clear();
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  private release(w: Worker): void {
    this.idle.push(w);
    this.queue.shift()?.();
  }

  build(files: PackInput[], outPath: string): Promise<PackResult> {
    if (this.size === 0) return buildPack(files, outPath);
    if (this.workers.length === 0) this.start();
    return new Promise<PackResult>((resolve, reject) => {
      const run = () => {
        const w = this.idle.pop()!;
        const id = this.next++;
        this.jobs.set(id, { resolve, reject });
        w.postMessage({ id, files, outPath });
      };
      if (this.idle.length) run();
      else this.queue.push(run);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
    this.idle = [];
  }
}
