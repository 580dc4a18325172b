import cliProgress from 'cli-progress';
import type { CopyProgress } from '../api/transfer.js';
import { bytes } from './format.js';

/**
 * A progress bar with bytes, rate and time left, on a terminal only (or with --progress);
 * nothing at all when output goes to a file or a pipe.
 */
export function progressBar(label: string, enabled: boolean): { update: (p: CopyProgress) => void; stop: () => void } {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {done}/{total} | {rate}/s | ETA {eta_formatted} | {blobs} blobs`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      stream: process.stderr,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 2000,
    },
    cliProgress.Presets.shades_classic,
  );
  const start = Date.now();
  let started = false;
  return {
    update(p) {
      if (!started) {
        bar.start(Math.max(1, p.totalBytes), 0, { done: '0 B', total: bytes(p.totalBytes), rate: '0 B', blobs: `0/${p.totalBlobs}` });
        started = true;
      }
      const secs = Math.max(0.001, (Date.now() - start) / 1000);
      bar.update(p.doneBytes, { done: bytes(p.doneBytes), total: bytes(p.totalBytes), rate: bytes(p.doneBytes / secs), blobs: `${p.copiedBlobs + p.skippedBlobs}/${p.totalBlobs}` });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export function wantProgress(o: { json?: boolean; progress?: boolean; quiet?: boolean }): boolean {
  if (o.json || o.quiet) return false;
  return o.progress === true || !!process.stderr.isTTY;
}
