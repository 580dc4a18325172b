import pLimit, { type LimitFunction } from 'p-limit';

/**
 * At most `n` transfers at once. A slot is held from `acquire()` until the returned
 * release function is called (for a download: until its body has been read or dropped).
 */
export class TransferSlots {
  private readonly limit: LimitFunction;

  constructor(n: number) {
    this.limit = pLimit(Math.max(1, Math.floor(n)));
  }

  get active(): number {
    return this.limit.activeCount;
  }

  get pending(): number {
    return this.limit.pendingCount;
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      void this.limit(
        () =>
          new Promise<void>((release) => {
            if (signal?.aborted) {
              release();
              reject(signal.reason);
              return;
            }
            let released = false;
            resolve(() => {
              if (!released) {
                released = true;
                release();
              }
            });
          }),
      );
    });
  }

  /** Runs `fn` in a slot. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
