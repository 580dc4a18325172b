/**
 * A team publishes a ModelKit per commit; the ModelKit says which params it was trained with
 * and which metrics it reached, so that the registry alone answers: kit 1.15 `info` shows the
 * params in the Kitfile's model.parameters, `kit inspect` the metrics in the manifest's
 * annotations, and `kit unpack` still reads it. Everything real: the CNCF registry on a
 * loopback port, kit v1.15, git, the mk CLI.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, randomBytesFrom, rng, sha256File } from '../support/files.js';
import { startRegistry, type RunningRegistry } from '../support/registry-server.js';
import { git, makeRepo, mk, tempDir } from '../support/repo.js';
import { kit, mkJsonAsync } from '../modelkit/tools.js';

let reg: RunningRegistry;
const tmp = tempDir('mk-exp-registry-');
let n = 0;
function freshDir(name: string): string {
  const d = join(tmp.dir, `${name}-${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
}

beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg?.stop();
  tmp.cleanup();
});

/** A project with a model, params (YAML + TOML) and metrics, one commit per training. */
function makeExperimentProject(repository: string): { dir: string; cleanup: () => void; train: (lr: number, acc: number, branch?: string) => string } {
  const repo = makeRepo();
  const p = (rel: string) => join(repo.dir, rel);
  appendFileSync(p('.mk/config.yaml'), 'params: [params.yaml, opt.toml]\nmetrics: [metrics.json]\n');
  writeFileSync(p('opt.toml'), '[optimizer]\nname = "adam"\nbeta = 0.9\n');
  mk(repo.dir, 'remote', 'add', 'origin', `oci://${reg.host}/${repository}`);
  let seed = 1;
  const train = (lr: number, acc: number, branch?: string) => {
    if (branch) git(repo.dir, 'checkout', '-qB', branch);
    writeFileSync(p('params.yaml'), `train:\n  lr: ${lr}\n  epochs: 3\nmodel: tiny\n`);
    writeFileSync(p('metrics.json'), JSON.stringify({ acc, loss: Number((1 - acc).toFixed(3)) }));
    put(p('model.bin'), randomBytesFrom(rng(seed++), 4096));
    mk(repo.dir, 'add', 'model.bin');
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', `train lr=${lr}`);
    return git(repo.dir, 'rev-parse', 'HEAD').trim();
  };
  return { ...repo, train };
}

describe('a ModelKit carries its params and metrics; kit 1.15 reads it', () => {
  let proj: ReturnType<typeof makeExperimentProject>;
  let commit: string;
  let ref: string;
  let digest: string;

  beforeAll(async () => {
    proj = makeExperimentProject('team/exp-kit');
    commit = proj.train(0.01, 0.91);
    const pushed = await mkJsonAsync(proj.dir, ['push']);
    digest = pushed.modelkits[0].digest;
    ref = `${reg.host}/team/exp-kit:${commit}`;
  });
  afterAll(() => proj?.cleanup());

  it('kit info shows the params, nested as written, in model.parameters', async () => {
    const info = parseYaml(await kit(freshDir('kit-home'), 'info', '--remote', '--plain-http', ref));
    expect(info.model.path).toBe('model.bin');
    expect(info.model.parameters).toEqual({ train: { lr: 0.01, epochs: 3 }, model: 'tiny', optimizer: { name: 'adam', beta: 0.9 } });
  });

  it('kit inspect shows params and metrics, flat, in the manifest annotations', async () => {
    const inspected = JSON.parse(await kit(freshDir('kit-home'), 'inspect', '--remote', '--plain-http', ref));
    expect(inspected.digest).toBe(digest);
    const a = inspected.manifest.annotations;
    expect(JSON.parse(a['vnd.mk.experiment.metrics'])).toEqual({ acc: 0.91, loss: 0.09 });
    expect(JSON.parse(a['vnd.mk.experiment.params'])).toEqual({ 'train.lr': 0.01, 'train.epochs': 3, model: 'tiny', 'optimizer.name': 'adam', 'optimizer.beta': 0.9 });
  });

  it('kit unpack gets the model and the files, and a Kitfile with the parameters that kit packs again', async () => {
    const home = freshDir('kit-home');
    const out = freshDir('kit-unpack');
    await kit(home, 'unpack', '--plain-http', ref, '-d', out);
    expect(sha256File(join(out, 'model.bin'))).toBe(sha256File(join(proj.dir, 'model.bin')));
    expect(readFileSync(join(out, 'metrics.json'), 'utf8')).toBe(readFileSync(join(proj.dir, 'metrics.json'), 'utf8'));
    expect(parseYaml(readFileSync(join(out, 'Kitfile'), 'utf8')).model.parameters.train).toEqual({ lr: 0.01, epochs: 3 });
    await kit(home, 'pack', out, '-t', 'again/exp:1');
    const again = parseYaml(await kit(home, 'info', 'again/exp:1'));
    expect(again.model.parameters.optimizer).toEqual({ name: 'adam', beta: 0.9 });
  });

  it('is reproducible: another clone builds the same digest, and mk verify agrees with the registry', async () => {
    const clone = freshDir('clone');
    git(tmp.dir, 'clone', '-q', proj.dir, clone);
    const built = await mkJsonAsync(clone, ['modelkit', 'build', commit]);
    expect(built.digest).toBe(digest);
    const v = await mkJsonAsync(proj.dir, ['verify', commit]);
    expect(v.ok).toBe(true);
  });

  it('a commit that declares no params has no experiment annotations and no model.parameters', async () => {
    const plain = makeRepo();
    try {
      put(join(plain.dir, 'model.bin'), randomBytesFrom(rng(99), 1000));
      writeFileSync(join(plain.dir, 'params.yaml'), 'lr: 1\n'); // present, but not declared
      mk(plain.dir, 'add', 'model.bin');
      git(plain.dir, 'add', '-A');
      git(plain.dir, 'commit', '-qm', 'plain');
      const r = await mkJsonAsync(plain.dir, ['modelkit', 'inspect', 'HEAD']);
      expect(Object.keys(r.manifest.annotations).filter((k) => k.startsWith('vnd.mk.experiment'))).toEqual([]);
      expect(r.config.model.parameters).toBeUndefined();
    } finally {
      plain.cleanup();
    }
  });
});
