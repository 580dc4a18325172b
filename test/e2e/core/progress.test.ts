/**
 * Transfer progress speaks in human sizes ("12 MiB/115 MiB"), shows time left only once it
 * means something, and without a terminal (`--progress` into a log) prints a plain line now
 * and then and a last one, never a redrawn bar per update.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressText, duration } from '../../../src/cli/progress.js';
import { put, randomBytesFrom, rng } from '../../support/files.js';
import { git, makeRepo, mk, mkRun, tempDir } from '../../support/repo.js';

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

describe('--progress without a terminal', () => {
  let repo: { dir: string; cleanup: () => void };
  let store: { dir: string; cleanup: () => void };
  beforeAll(() => {
    repo = makeRepo();
    store = tempDir('mk-store-');
    const rand = rng(5);
    for (let i = 0; i < 30; i++) put(join(repo.dir, 'ds', `f${i}.bin`), randomBytesFrom(rand, 100_000));
    mk(repo.dir, 'add', 'ds');
    mk(repo.dir, 'remote', 'add', 'origin', join(store.dir, 'layout'));
    git(repo.dir, 'commit', '-qm', 'data');
  });
  afterAll(() => {
    repo.cleanup();
    store.cleanup();
  });

  it('prints a few plain lines (the first and the last), human sizes, no bar, no carriage returns', () => {
    const r = mkRun(repo.dir, ['push', '--progress']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(4); // a line per phase at most, in a push this short
    // eslint-disable-next-line no-control-regex -- an escape sequence (a redrawn bar) is what must not be there
    expect(r.stderr).not.toMatch(/\r|\u001b|█|░/);
    for (const l of lines) expect(l).toMatch(/^push: \d+(\.\d)? (B|KiB|MiB)\/\d+(\.\d)? (B|KiB|MiB) \(\d+%\)( \| [^|]+\/s)? \| \d+\/\d+ blobs$/);
    expect(lines.at(-1)).toMatch(/\(100%\)/);
    // Without --progress, nothing (not a terminal).
    git(repo.dir, 'commit', '-q', '--allow-empty', '-m', 'again');
    expect(mkRun(repo.dir, ['push']).stderr).toBe('');
  });
});
