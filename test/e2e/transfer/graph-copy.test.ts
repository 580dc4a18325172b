/**
 * One graph copy moves everything, between any two stores. A commit's ModelKit, with a
 * tracked model file and a tracked dataset folder (packs, file lists, a directory root) and
 * the referrer that keeps the directory manifests reachable, is copied with
 * `mk modelkit copy` from each kind of store (mk's cache, a local layout, a registry) to each
 * other kind. After every copy the destination holds the same manifest under the tag, every
 * blob of the graph (roots, lists, packs) verifies, the referrer is listed, and a fresh
 * clone restores byte-identical data from it alone.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referrers } from '../../../src/modelkit/referrers.js';
import { openLayoutStore, openRegistryStore } from '../../../src/stores/open.js';
import { asRecord, corruptBlobs, put, randomBytesFrom, rng, sha256File, snapshotTree } from '../../support/files.js';
import { startFaultProxy } from '../../support/fault-proxy.js';
import { mkAsync } from '../modelkit/tools.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { git, makeRepo, mk, mkJson, tempDir } from '../../support/repo.js';

type Kind = 'cache' | 'layout' | 'registry';
const KINDS: Kind[] = ['cache', 'layout', 'registry'];

describe('mk modelkit copy between every pair of stores', () => {
  let reg: RunningRegistry;
  let a: { dir: string; cleanup: () => void };
  const box = tempDir('mk-copy-pairs-');
  let digest: string;
  let rootDigest: string;
  let ds: Record<string, unknown>;
  let model: string;
  let n = 0;

  beforeAll(async () => {
    reg = await startRegistry();
    a = makeRepo();
    const rand = rng(9);
    put(join(a.dir, 'models/m.bin'), randomBytesFrom(rand, 2_000_000));
    for (let i = 0; i < 150; i++) put(join(a.dir, `data/ds/p${i % 5}/f${i}.csv`), randomBytesFrom(rand, 3000 + (i % 7) * 100));
    put(join(a.dir, '.mk/config.yaml'), 'version: 1\nstorage:\n  pack_target: 64KiB\n');
    mk(a.dir, 'add', 'models/m.bin', 'data/ds');
    git(a.dir, 'add', '-A');
    git(a.dir, 'commit', '-qm', 'data');
    digest = mkJson(a.dir, 'modelkit', 'build').digest;
    rootDigest = /digest: (sha256:[0-9a-f]{64})/.exec(git(a.dir, 'show', 'HEAD:data/ds.mk.yaml'))![1]!;
    ds = asRecord(snapshotTree(join(a.dir, 'data/ds')));
    model = sha256File(join(a.dir, 'models/m.bin'));
  });
  afterAll(async () => {
    await reg?.stop();
    a?.cleanup();
    box.cleanup();
  });

  /** A fresh clone of `a` with no data, and the reference of its cache as a copy destination. */
  function freshClone(): string {
    const dir = join(box.dir, `clone-${n++}`);
    git(box.dir, 'clone', '-q', a.dir, dir);
    mk(dir, 'init'); // the cache folder
    return dir;
  }

  /** Places the ModelKit in a store of `kind` (copied from the revision) and returns its reference. */
  function source(kind: Kind): string {
    if (kind === 'cache') return 'HEAD'; // built from the commit, read from a's cache
    const ref = kind === 'layout' ? `oci:${join(box.dir, `src-layout-${n++}`)}:v1` : `${reg.host}/pairs/src${n++}:v1`;
    mk(a.dir, 'modelkit', 'copy', 'HEAD', ref);
    return ref;
  }

  /** Checks a destination and restores from it in a fresh clone. */
  async function checkDestination(kind: Kind, ref: string, clone?: string): Promise<void> {
    const insp = mkJson(clone ?? a.dir, 'modelkit', 'inspect', ref);
    expect(insp.digest).toBe(digest);
    let work: string;
    if (kind === 'registry') {
      const repo = ref.slice(reg.host.length + 1).split(':')[0]!;
      const store = await openRegistryStore({ host: reg.host, repository: repo });
      expect((await referrers(store, { digest })).length).toBeGreaterThanOrEqual(1);
      expect(await store.exists({ mediaType: 'application/vnd.mk.directory.v2+json', digest: rootDigest, size: (await store.statBlob(rootDigest))! })).toBe(true);
      work = freshClone();
      mk(work, 'remote', 'add', 'copy', `oci://${reg.host}/${repo}`, '--local', '--default');
      mk(work, 'pull');
    } else {
      const dir = kind === 'cache' ? join(clone!, '.git/mk/cache') : ref.slice(4, ref.lastIndexOf(':'));
      expect(corruptBlobs(dir)).toEqual([]);
      expect(existsSync(join(dir, 'blobs/sha256', rootDigest.slice(7)))).toBe(true);
      expect((await referrers(openLayoutStore(dir), { digest })).length).toBeGreaterThanOrEqual(1);
      if (kind === 'cache') {
        work = clone!;
        mk(work, 'checkout'); // no remote at all: the copy filled this clone's cache
      } else {
        work = freshClone();
        mk(work, 'remote', 'add', 'copy', dir, '--local', '--default');
        mk(work, 'pull');
      }
    }
    expect(asRecord(snapshotTree(join(work, 'data/ds')))).toEqual(ds);
    expect(sha256File(join(work, 'models/m.bin'))).toBe(model);
  }

  for (const from of KINDS) {
    for (const to of KINDS) {
      if (from === to && from === 'cache') continue;
      it(`${from} → ${to}`, async () => {
        const src = source(from);
        if (to === 'cache') {
          const clone = freshClone();
          const ref = `oci:${join(clone, '.git/mk/cache')}:v1`;
          mk(from === 'cache' ? a.dir : box.dir, 'modelkit', 'copy', src, ref);
          await checkDestination('cache', ref, clone);
        } else {
          const ref = to === 'layout' ? `oci:${join(box.dir, `dst-layout-${n++}`)}:v1` : `${reg.host}/pairs/dst${n++}:v1`;
          const r = JSON.parse(mk(from === 'cache' ? a.dir : box.dir, 'modelkit', 'copy', src, ref, '--json'));
          expect(r.referrers).toBeGreaterThanOrEqual(1);
          await checkDestination(to, ref);
        }
      });
    }
  }

  it('registry → another repository of the same registry: every blob is mounted, none sent again', async () => {
    const proxy = await startFaultProxy(reg.url);
    try {
      const src = `${proxy.host}/pairs/mount-src:v1`;
      // Through the proxy, which runs in this process: mk must run without blocking it.
      const run = async (cwd: string, args: string[]) => {
        const r = await mkAsync(cwd, args);
        expect(r.status, r.stderr).toBe(0);
        return r.stdout;
      };
      await run(a.dir, ['modelkit', 'copy', 'HEAD', src]);
      proxy.clear();
      const r = JSON.parse(await run(box.dir, ['modelkit', 'copy', src, `${proxy.host}/pairs/mount-dst:v1`, '--json']));
      expect(r.referrers).toBeGreaterThanOrEqual(1);
      const uploads = proxy.requests.filter((q) => /\/v2\/pairs\/mount-dst\/blobs\/uploads\//.test(q.url));
      const posts = uploads.filter((q) => q.method === 'POST');
      expect(posts.length).toBeGreaterThan(3); // model, packs, file lists, root, config...
      for (const q of posts) expect(q.url).toMatch(/[?&]mount=sha256%3A[0-9a-f]{64}&from=pairs%2Fmount-src/);
      expect(uploads.filter((q) => q.method === 'PUT' || q.method === 'PATCH')).toEqual([]);
    } finally {
      await proxy.stop();
    }
    await checkDestination('registry', `${reg.host}/pairs/mount-dst:v1`);
  });
});
