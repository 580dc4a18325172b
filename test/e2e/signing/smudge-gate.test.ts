/**
 * `verify_signatures` covers the files mk's Git filter writes too. With the setting committed and
 * an unsigned HEAD, a plain `git clone` (per-user setup done: `mk install --global`) leaves the
 * model as pointer text with one line saying why, and `mk status` says why; once the ModelKit is
 * signed by the key, the same clone gets the model. Real git, a real registry, mk's own keys.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { tempDir } from '../../support/repo.js';
import { fileSha, g, gitRunAsync, newRepo, writeRandom } from '../git/support.js';
import { mkAsync, mkOk } from '../modelkit/tools.js';

describe('verify_signatures and the files the Git filter writes', () => {
  const tmp = tempDir('mk-smudge-gate-');
  let reg: RunningRegistry;
  let A: string;
  let bare: string;
  let model: string;
  const keys = join(tmp.dir, 'keys');
  const globalCfg = join(tmp.dir, 'global.gitconfig');
  const ge = { GIT_CONFIG_GLOBAL: globalCfg };

  beforeAll(async () => {
    reg = await startRegistry();
    mkdirSync(keys);
    writeFileSync(globalCfg, '');
    A = newRepo(join(tmp.dir, 'origin'), { filter: true });
    await mkOk(A, ['keygen', '--out', join(keys, 'team')]);
    mkdirSync(join(A, 'keys'));
    copyFileSync(join(keys, 'team.pub'), join(A, 'keys', 'team.pub'));
    // The team requires signatures by its key (committed), and publishes to the registry.
    appendFileSync(join(A, '.mk', 'config.yaml'), 'verify_signatures:\n  key: keys/team.pub\n');
    await mkOk(A, ['remote', 'add', 'origin', `oci://${reg.host}/team/gated`]);
    model = writeRandom(join(A, 'model.onnx'), 1 << 20);
    g(A, 'add', '-A');
    g(A, 'commit', '-q', '-m', 'model');
    // Published without a signature.
    await mkOk(A, ['push']);
    bare = join(tmp.dir, 'bare.git');
    g(tmp.dir, 'clone', '-q', '--bare', A, bare);
    expect((await mkAsync(tmp.dir, ['install', '--global'], ge)).status).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
    tmp.cleanup();
  });

  it('an unsigned HEAD: git clone leaves the model as pointer text, says why in one line, and mk status says why', async () => {
    const r = await gitRunAsync(tmp.dir, ['clone', '-q', bare, 'unsigned'], ge);
    expect(r.status, r.stderr).toBe(0);
    const B = join(tmp.dir, 'unsigned');
    expect(readFileSync(join(B, 'model.onnx'), 'utf8')).toMatch(/^mk: 1$/m);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('mk: '));
    expect(lines).toEqual([
      expect.stringMatching(/^mk: left 1 file as pointer text \(model\.onnx\): refusing the ModelKit of [0-9a-f]{12} on 'origin': signature: not signed \(verify_signatures: .*team\.pub\)$/),
    ]);
    const st = await mkAsync(B, ['status'], ge);
    expect(st.stdout).toMatch(/refused \(refusing the ModelKit of [0-9a-f]{12} on 'origin': signature: not signed/);
    expect(st.stdout).not.toMatch(/\bclean\b/);
    const j = JSON.parse((await mkAsync(B, ['status', '--json'], ge)).stdout);
    expect(j.artifacts[0]).toMatchObject({ path: 'model.onnx', workspace: 'deleted', refused: expect.stringContaining('not signed') });
  });

  it('signed by the team key: the same clone gets the model, and status is clean', async () => {
    await mkOk(A, ['sign', 'HEAD', '--key', join(keys, 'team.key')]);
    const r = await gitRunAsync(tmp.dir, ['clone', '-q', bare, 'signed'], ge);
    expect(r.status, r.stderr).toBe(0);
    const C = join(tmp.dir, 'signed');
    expect(fileSha(join(C, 'model.onnx'))).toBe(model);
    expect(r.stderr).not.toMatch(/^mk: /m);
    const st = await mkAsync(C, ['status'], ge);
    expect(st.stdout).toMatch(/^clean\s+model\.onnx/m);
  });
});
