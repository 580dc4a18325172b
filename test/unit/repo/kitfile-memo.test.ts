/**
 * The pre-commit hook's Kitfile sync skips parsing a Kitfile it found in sync with the same
 * artifacts before (src/repo/kitfile-memo.ts): anything that changed since, the Kitfile's bytes
 * (edited by hand too), an artifact, a file gone, is synced as before.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultKitfile } from '../../../src/formats/kitfile-sync.js';
import { KITFILE_SYNCED, syncProjectKitfileKnown } from '../../../src/repo/kitfile-memo.js';
import { tempDir } from '../../support/repo.js';

const tmp = tempDir('mk-kitfile-memo-');
afterAll(() => tmp.cleanup());

describe('the Kitfile sync memo', () => {
  it('syncs what changed, and only skips what it found in sync with the same artifacts', async () => {
    const root = join(tmp.dir, 'p');
    const state = join(root, '.git', 'mk');
    mkdirSync(state, { recursive: true });
    writeFileSync(join(root, 'Kitfile'), defaultKitfile('p'));
    const kitfile = () => readFileSync(join(root, 'Kitfile'), 'utf8');
    const model = { path: 'models/a.safetensors', kind: 'model' as const };
    const data = { path: 'data/t.parquet', kind: 'dataset' as const };

    expect(await syncProjectKitfileKnown(root, state, [model])).toBe('Kitfile');
    expect(kitfile()).toMatch(/path: models\/a\.safetensors/);
    // In sync now: said unchanged, and remembered.
    expect(await syncProjectKitfileKnown(root, state, [model])).toBeUndefined();
    expect(readFileSync(join(state, KITFILE_SYNCED), 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    expect(await syncProjectKitfileKnown(root, state, [model])).toBeUndefined();
    const modelOnly = kitfile();
    // Another artifact: synced.
    expect(await syncProjectKitfileKnown(root, state, [model, data])).toBe('Kitfile');
    expect(kitfile()).toMatch(/path: data\/t\.parquet/);
    expect(await syncProjectKitfileKnown(root, state, [model, data])).toBeUndefined();
    // The Kitfile edited by hand (back to its text before the second artifact): synced again.
    writeFileSync(join(root, 'Kitfile'), modelOnly);
    expect(await syncProjectKitfileKnown(root, state, [model, data])).toBe('Kitfile');
    expect(kitfile()).toMatch(/path: data\/t\.parquet/);
    // A file gone: its entry leaves.
    expect(await syncProjectKitfileKnown(root, state, [model, data])).toBeUndefined();
    expect(await syncProjectKitfileKnown(root, state, [model], [data.path])).toBe('Kitfile');
    expect(kitfile()).not.toMatch(/data\/t\.parquet/);
  });
});
