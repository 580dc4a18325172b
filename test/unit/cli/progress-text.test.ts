/**
 * Transfer progress speaks in human sizes ("12 MiB/115 MiB") and shows time left only once it
 * means something (the line itself; test/e2e/core/progress.test.ts runs it without a terminal).
 */
import { describe, expect, it } from 'vitest';
import { duration, progressText } from '../../../src/cli/progress.js';

const MiB = 1024 * 1024;

describe('the progress text', () => {
  const p = (doneBytes: number, blobs = 0) => ({ totalBlobs: 40, totalBytes: 120_498_176, doneBytes, copiedBlobs: blobs, skippedBlobs: 0 });

  it('at the start: human sizes, no rate, no time left', () => {
    expect(progressText(p(0), 0)).toBe('0 B/115 MiB (0%) | 0/40 blobs');
    expect(progressText(p(0), 0)).not.toMatch(/120498176|ETA/);
  });

  it('time left only after a few seconds and a little progress', () => {
    expect(progressText(p(60 * MiB, 20), 2000)).toBe('60 MiB/115 MiB (52%) | 30 MiB/s | 20/40 blobs'); // too early to tell
    expect(progressText(p(MiB, 1), 10_000)).toBe('1.0 MiB/115 MiB (0%) | 102 KiB/s | 1/40 blobs'); // too little done
    expect(progressText(p(12 * MiB, 3), 10_000)).toBe('12 MiB/115 MiB (10%) | 1.2 MiB/s | ETA 1m26s | 3/40 blobs');
    expect(progressText(p(120_498_176, 40), 10_000)).toBe('115 MiB/115 MiB (100%) | 11 MiB/s | 40/40 blobs');
  });

  it('durations read as a person would say them', () => {
    expect([duration(0), duration(59.4), duration(61), duration(3599), duration(7260)]).toEqual(['0s', '59s', '1m01s', '59m59s', '2h01m']);
  });
});
