/**
 * Two clones share one cache (MK_CACHE_DIR): in one, `mk gc`; in the other, at the same time,
 * `mk add` of a new version and `git commit`. gc must never free what the other clone is
 * committing: blobs written after its scan began are never freed by that run, and a commit
 * never lands pointing at a blob gc is freeing. Reproduced as a loop of trials (a count, not
 * a time): in each, gc runs back to back from a seeded offset into the add until the commit
 * is done, then the committed, never-pushed version must still be in the cache, whole.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePointer } from '../../src/formats/pointer.js';
import { put, randomBytesFrom, rng } from '../support/files.js';
import { git, gitEnv, makeRepo, mkRun, mkSpawn, tempDir } from '../support/repo.js';

/** git without blocking this process (the gc loop keeps starting mk meanwhile). */
function gitAsync(cwd: string, args: string[]): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn('git', args, { cwd, env: gitEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ status: code ?? -1, stderr }));
  });
}

const TRIALS = Number(process.env.MK_GC_RACE_TRIALS ?? 20);
const SEED = Number(process.env.MK_GC_RACE_SEED ?? 22);

describe('mk gc in one clone while another clone sharing the cache adds and commits', () => {
  const shared = tempDir('mk-gc-race-');
  const env = { MK_CACHE_DIR: join(shared.dir, 'cache') };
  let a: { dir: string; cleanup: () => void };
  let b: string;

  beforeAll(() => {
    a = makeRepo();
    put(join(a.dir, 'base.bin'), randomBytesFrom(rng(SEED), 50_000));
    expect(mkRun(a.dir, ['add', 'base.bin'], env).status).toBe(0);
    git(a.dir, 'commit', '-qm', 'base');
    git(shared.dir, 'clone', '-q', a.dir, 'b');
    b = join(shared.dir, 'b');
    git(b, 'config', 'user.name', 'Test');
    git(b, 'config', 'user.email', 'test@example.com');
    expect(mkRun(b, ['checkout'], env).status).toBe(0);
  });
  afterAll(() => {
    a?.cleanup();
    shared.cleanup();
  });

  it(`keeps every committed version (${TRIALS} trials)`, async () => {
    const rand = rng(SEED + 1);
    const lost: string[] = [];
    for (let t = 0; t < TRIALS; t++) {
      // A new version of a few files, so the add takes a while and gc can land anywhere in it.
      for (let i = 0; i < 4; i++) put(join(b, 'models', `m${i}.bin`), randomBytesFrom(rand, 200_000 + Math.floor(rand() * 200_000)));
      // gc runs back to back in clone A for the whole of B's add and commit, the first one
      // starting at a seeded offset into the add.
      const add = mkSpawn(b, ['add', 'models'], env);
      let busy = true;
      const gcs = (async () => {
        await new Promise((r) => setTimeout(r, Math.floor(rand() * 300)));
        const failures: string[] = [];
        do {
          const g = await mkSpawn(a.dir, ['gc'], env).done;
          if (g.status !== 0) failures.push(g.stderr);
        } while (busy);
        return failures;
      })();
      const added = await add.done;
      expect(added.status, added.stderr).toBe(0);
      const commit = await gitAsync(b, ['commit', '-qm', `v${t}`]);
      busy = false;
      expect(commit.status, commit.stderr).toBe(0);
      expect(await gcs).toEqual([]);
      // The committed pointer's blob, and each layer its directory manifest names, must be in the cache.
      const p = parsePointer(git(b, 'show', 'HEAD:models.mk.yaml'), 'models.mk.yaml');
      const blob = (d: string) => join(env.MK_CACHE_DIR, 'blobs', 'sha256', d.slice(7));
      const missing = [p.digest].filter((d) => !existsSync(blob(d)));
      if (!missing.length) {
        const root = JSON.parse(readFileSync(blob(p.digest), 'utf8')) as { layers?: Array<{ digest: string }>; lists?: Array<{ digest: string }> };
        for (const l of [...(root.layers ?? []), ...(root.lists ?? [])]) if (!existsSync(blob(l.digest))) missing.push(l.digest);
        for (const d of [p.digest])
          expect(
            'sha256:' +
              createHash('sha256')
                .update(readFileSync(blob(d)))
                .digest('hex'),
          ).toBe(d);
      }
      if (missing.length) lost.push(`trial ${t}: ${missing.length} blob(s) of commit v${t} gone from the cache`);
    }
    expect(lost).toEqual([]);
    // And the other clone can still restore every file of its HEAD from the cache alone.
    const r = mkRun(b, ['status', '--json'], env);
    expect(r.stdout).not.toContain('not cached');
  });
});
