import cliProgress from 'cli-progress';
import type { CopyProgress } from '../api/transfer.js';
import { bytes } from './format.js';

/** On a terminal, a bar redrawn in place; elsewhere (with --progress) one plain line this often, and a last one. */
export const PLAIN_INTERVAL_MS = 5000;

/** Time left is shown only once the rate means something: this long after the start, and this much done. */
const ETA_AFTER_MS = 3000;
const ETA_AFTER_FRACTION = 0.02;

/** `12.0 MiB/114.9 MiB (10%) | 4.0 MiB/s | ETA 25s | 3/40 blobs`: human sizes, no time left before it is meaningful. */
export function progressText(p: CopyProgress, elapsedMs: number): string {
  const fraction = p.totalBytes > 0 ? Math.min(1, p.doneBytes / p.totalBytes) : 1;
  const secs = elapsedMs / 1000;
  const rate = secs > 0 ? p.doneBytes / secs : 0;
  const parts = [`${bytes(p.doneBytes)}/${bytes(p.totalBytes)} (${Math.floor(fraction * 100)}%)`];
  if (elapsedMs >= 1000) parts.push(`${bytes(Math.round(rate))}/s`);
  if (elapsedMs >= ETA_AFTER_MS && fraction >= ETA_AFTER_FRACTION && fraction < 1 && rate > 0) parts.push(`ETA ${duration((p.totalBytes - p.doneBytes) / rate)}`);
  parts.push(`${p.copiedBlobs + p.skippedBlobs}/${p.totalBlobs} blobs`);
  return parts.join(' | ');
}

/** 45s, 3m05s, 2h10m. */
export function duration(secs: number): string {
  const s = Math.max(0, Math.round(secs));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface Progress {
  update: (p: CopyProgress) => void;
  stop: () => void;
}

/**
 * Transfer progress on stderr: a bar on a terminal; with --progress and no terminal, a plain
 * line every few seconds and a last one at the end (a log file gets a few readable lines, not
 * a redrawn bar per update); nothing at all when not enabled.
 */
export function progressBar(label: string, enabled: boolean, now: () => number = Date.now): Progress {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  return process.stderr.isTTY ? terminalBar(label, now) : plainLines(label, now);
}

function terminalBar(label: string, now: () => number): Progress {
  const start = now();
  let last: CopyProgress | undefined;
  const bar = new cliProgress.SingleBar(
    {
      format: (options, params) => `${label} [${cliProgress.Format.BarFormat(params.progress, options)}] ${last ? progressText(last, now() - start) : ''}`,
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      last = p;
      if (!started) {
        bar.start(Math.max(1, p.totalBytes), 0);
        started = true;
      } else if (bar.getTotal() !== Math.max(1, p.totalBytes)) bar.setTotal(Math.max(1, p.totalBytes)); // the next phase of the transfer
      bar.update(p.doneBytes);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

function plainLines(label: string, now: () => number): Progress {
  const start = now();
  // Copies: the transfer updates one progress object in place.
  let last: CopyProgress | undefined;
  let printed: CopyProgress | undefined;
  let lastAt = 0;
  const same = (a: CopyProgress, b: CopyProgress) => (Object.keys(a) as Array<keyof CopyProgress>).every((k) => a[k] === b[k]);
  const print = (p: CopyProgress) => {
    process.stderr.write(`${label}: ${progressText(p, now() - start)}\n`);
    printed = p;
    lastAt = now();
  };
  return {
    update(p) {
      last = { ...p };
      if (!printed || now() - lastAt >= PLAIN_INTERVAL_MS) print(last);
    },
    stop() {
      if (last && printed && !same(last, printed)) print(last);
    },
  };
}

export function wantProgress(o: { json?: boolean; progress?: boolean; quiet?: boolean }): boolean {
  if (o.json || o.quiet) return false;
  return o.progress === true || !!process.stderr.isTTY;
}
