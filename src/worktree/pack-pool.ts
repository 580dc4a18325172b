import { availableParallelism } from 'node:os';
import type Tinypool from 'tinypool';
import type { Ingest } from '../content/storage.js';
import { isErrorCode, MkError } from '../errors/index.js';
import { buildPack, type PackInput, type PackResult } from './pack.js';

/**
 * Builds packs on worker threads (tinypool), one per core, so hashing and tarring many
 * small files keeps every core busy. Below `minBytes` of work it builds in this thread
 * (starting workers costs more than it saves). Either way each pack goes into the cache
 * through the cache's own ingest (a worker opens the same cache folder), which hashes the
 * tar as it is written and names it.
 */
export class PackPool {
  private pool?: Tinypool;
  readonly size: number;

  constructor(
    private readonly cache: Pick<Ingest, 'ingest'>,
    private readonly cacheDir: string,
    totalBytes: number,
    groups: number,
    minBytes = 32 << 20,
  ) {
    const cores = Math.max(1, availableParallelism());
    this.size = totalBytes >= minBytes && groups > 1 ? Math.min(cores, groups, 8) : 0;
  }

  async build(files: PackInput[]): Promise<PackResult> {
    if (this.size === 0) return buildPack(files, this.cache);
    if (!this.pool) {
      const { default: Pool } = await import('tinypool'); // loaded only when a big add needs threads
      this.pool = new Pool({ filename: new URL('./pack-worker.js', import.meta.url).href, minThreads: this.size, maxThreads: this.size });
    }
    const r = (await this.pool.run({ files, cacheDir: this.cacheDir })) as { result?: PackResult; error?: { message: string; code?: string; hint?: string } };
    if (r.error) throw new MkError(isErrorCode(r.error.code) ? r.error.code : 'EPACK', r.error.message, { hint: r.error.hint });
    return r.result!;
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
    this.pool = undefined;
  }
}
