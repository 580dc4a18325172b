/**
 * Transfer progress without a terminal (`--progress` into a log) prints a plain line now and
 * then and a last one, never a redrawn bar per update (the line itself:
 * test/unit/cli/progress-text.test.ts).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, randomBytesFrom, rng } from '../../support/files.js';
import { git, makeRepo, mk, mkRun, tempDir } from '../../support/repo.js';

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
