/**
 * A registry's garbage collection deletes every blob no tagged manifest reaches. Packs and
 * raw files are layers of the tagged ModelKits; the directory manifests (roots and file
 * lists) are not, so mk attaches them to each ModelKit as an OCI referrer (an artifact whose
 * `subject` is the ModelKit, listed under the OCI 1.1 fallback tag `sha256-<digest>`): after
 * a collection every pushed version must still be pullable. (distribution 2.8's
 * `--delete-untagged` also drops manifests only an index references, its issue #3004, which
 * breaks multi-platform images as well; it is not used here.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peer } from '../../support/peers.js';
import { REGISTRY_BIN } from '../../support/registry-server.js';
import { g, head, identify, mk, newRepo, pointerDigest, registry, writeRandom, type Registry } from './support.js';

describe('directory manifests survive a registry garbage collection', () => {
  let tmp: string;
  let reg: Registry;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'mk-gc-'));
    reg = await registry(join(tmp, 'registry'));
  });
  afterAll(async () => {
    await reg?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('push two versions, collect garbage, then a fresh clone pulls both', async () => {
    const a = newRepo(join(tmp, 'a'));
    mk(a, 'remote', 'add', 'origin', `oci://${reg.host}/team/gc`);
    for (let i = 0; i < 30; i++) writeRandom(join(a, `ds/part-${i}.bin`), 2000 + i);
    mk(a, 'add', 'ds');
    g(a, 'add', '-A');
    g(a, 'commit', '-qm', 'v1');
    mk(a, 'push');
    const v1 = head(a);
    writeRandom(join(a, 'ds/part-7.bin'), 2007);
    mk(a, 'add', 'ds');
    g(a, 'commit', '-qm', 'v2');
    mk(a, 'push');
    const v2 = head(a);

    // The referrer is visible to an independent client.
    const r = spawnSync(peer('oras'), ['discover', '--plain-http', '--distribution-spec', 'v1.1-referrers-tag', '--format', 'json', `${reg.host}/team/gc:${v2}`], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('application/vnd.mk.directory-manifests.v1');

    await reg.stop('SIGTERM');
    const gc = spawnSync(REGISTRY_BIN, ['garbage-collect', join(reg.root, 'config.yml')], { encoding: 'utf8' });
    expect(gc.status, gc.stderr + gc.stdout).toBe(0);
    // The collector reached both versions' directory roots through the referrers.
    for (const rev of [v1, v2]) expect(gc.stdout + gc.stderr).toContain(`marking blob sha256:${pointerDigest(a, rev, 'ds')}`);
    await reg.start();

    const b = join(tmp, 'b');
    g(tmp, 'clone', '-q', a, 'b');
    identify(b);
    mk(b, 'pull');
    expect(g(b, 'status', '--porcelain')).toBe('');
    expect(mk(b, 'status')).toMatch(/^clean\s+ds/m);
    expect(spawnSync('diff', ['-r', join(a, 'ds'), join(b, 'ds')]).status).toBe(0);
    // The older version too.
    mk(b, 'pull', v1);
    g(b, 'checkout', '-q', v1);
    mk(b, 'checkout');
    expect(mk(b, 'status')).toMatch(/^clean\s+ds/m);
  });
});
