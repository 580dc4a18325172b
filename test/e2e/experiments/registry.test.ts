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
import { put, randomBytesFrom, rng, sha256File } from '../../support/files.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { expectMkError, git, makeRepo, mk, mkRun, tempDir } from '../../support/repo.js';
import { kit, mkAsync, mkJsonAsync, mkOk } from '../modelkit/tools.js';

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

describe('mk exp show compares candidates; mk promote makes one the champion, on the registry and in Git', () => {
  let proj: ReturnType<typeof makeExperimentProject>;
  const c: Record<string, string> = {};
  const digests: Record<string, string> = {};
  const repository = 'team/exp-show';

  beforeAll(async () => {
    proj = makeExperimentProject(repository);
    c.main = proj.train(0.01, 0.91);
    c.a = proj.train(0.02, 0.93, 'exp-a');
    git(proj.dir, 'checkout', '-q', 'main');
    c.b = proj.train(0.05, 0.88, 'exp-b');
    git(proj.dir, 'checkout', '-q', 'main');
    const pushed = await mkJsonAsync(proj.dir, ['push', 'main', 'exp-a']);
    for (const m of pushed.modelkits) digests[m.commit] = m.digest;
  });
  afterAll(() => proj?.cleanup());

  it('a row per commit and branch tip, with params, metrics, model digest and ModelKit reference; --sort-by', async () => {
    const r = await mkJsonAsync(proj.dir, ['exp', 'show', '--all-branches', '--sort-by', 'acc']);
    const rows = r.rows.filter((x: any) => x.commit);
    expect(rows.map((x: any) => x.commit)).toEqual([c.a, c.main, c.b]);
    expect(rows[0]).toMatchObject({ names: ['exp-a'], metrics: { acc: 0.93, loss: 0.07 }, params: { 'train.lr': 0.02, 'optimizer.name': 'adam' } });
    expect(rows[0].model).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(rows[0].modelkit.reference).toBe(`${reg.host}/${repository}:${c.a}`);
    expect(new Set(rows.map((x: any) => x.model)).size).toBe(3);
    const asc = await mkJsonAsync(proj.dir, ['exp', 'show', '--all-branches', '--sort-by', 'loss', '--sort-order', 'asc']);
    expect(asc.rows.filter((x: any) => x.commit).map((x: any) => x.metrics.loss)).toEqual([0.07, 0.09, 0.12]);
    // --all-tags: a tagged commit, with every name pointing there.
    git(proj.dir, 'tag', 'rc1', c.b!);
    const tagged = await mkJsonAsync(proj.dir, ['exp', 'show', '-n', '1', '--all-tags']);
    expect(tagged.rows.map((x: any) => x.names)).toEqual([['workspace'], ['main'], ['exp-b', 'rc1']]);
    git(proj.dir, 'tag', '-d', 'rc1');
    // Without --all-branches: HEAD's history only (and the work tree).
    const head = await mkJsonAsync(proj.dir, ['exp', 'show']);
    expect(head.rows.map((x: any) => x.names[0])).toEqual(['workspace', 'main']);
  });

  it('promote refuses a commit whose ModelKit is not published, and changes nothing', async () => {
    const r = await mkAsync(proj.dir, ['promote', 'exp-b']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`mk: the ModelKit of ${c.b!.slice(0, 12)} is not published on origin`);
    expect(r.stderr).toContain("hint: run 'mk push exp-b' first");
    const tags = (await mkJsonAsync(proj.dir, ['modelkit', 'list'])).modelkits.flatMap((m: any) => m.tags);
    expect(tags).toContain(c.a);
    expect(tags).not.toContain('champion');
    expect(git(proj.dir, 'notes', '--ref=refs/notes/mk-promotions', 'list')).toBe('');
  });

  it('promote tags the published ModelKit champion on the registry, records it in Git; exp show marks it; promoting again moves it and keeps the history', async () => {
    const p = await mkJsonAsync(proj.dir, ['promote', 'exp-a']);
    expect(p).toMatchObject({ commit: c.a, tag: 'champion', digest: digests[c.a!], reference: `${reg.host}/${repository}:champion` });
    // The registry alone: kit resolves the champion tag to exp-a's ModelKit.
    const inspected = JSON.parse(await kit(freshDir('kit-home'), 'inspect', '--remote', '--plain-http', `${reg.host}/${repository}:champion`));
    expect(inspected.digest).toBe(digests[c.a!]);
    expect(git(proj.dir, 'log', '-1', '--format=%N', '--notes=mk-promotions', c.a!)).toContain('"tag":"champion"');
    let rows = (await mkJsonAsync(proj.dir, ['exp', 'show', '--all-branches'])).rows;
    expect(rows.find((x: any) => x.commit === c.a).promoted).toEqual(['champion']);
    expect(rows.find((x: any) => x.commit === c.main).promoted).toEqual([]);
    expect(await mkOk(proj.dir, ['exp', 'show', '--all-branches'])).toMatch(/exp-a \[champion\]/);

    await mkOk(proj.dir, ['promote', 'main', '--as', 'champion']);
    await mkOk(proj.dir, ['promote', 'exp-a', '--as', 'candidate-1']);
    rows = (await mkJsonAsync(proj.dir, ['exp', 'show', '--all-branches'])).rows;
    expect(rows.find((x: any) => x.commit === c.main).promoted).toEqual(['champion']);
    expect(rows.find((x: any) => x.commit === c.a).promoted).toEqual(['candidate-1']);
    // History: one commit of the notes ref per promotion, newest first.
    expect(git(proj.dir, 'log', '--format=%s', 'refs/notes/mk-promotions').trim().split('\n')).toHaveLength(3);
    expect(JSON.parse(await kit(freshDir('kit-home'), 'inspect', '--remote', '--plain-http', `${reg.host}/${repository}:champion`)).digest).toBe(digests[c.main!]);
  });

  it('exp show --remote reads the published ModelKits from the registry alone, outside any repository', async () => {
    const nowhere = freshDir('app-dev');
    const r = await mkJsonAsync(nowhere, ['exp', 'show', '--remote', `${reg.host}/${repository}`, '--sort-by', 'acc'], { MK_CACHE_DIR: join(nowhere, 'cache') });
    expect(r.source).toBe('registry');
    expect(r.rows.map((x: any) => x.commit)).toEqual([c.a, c.main]);
    expect(r.rows[0]).toMatchObject({ metrics: { acc: 0.93, loss: 0.07 }, params: { 'train.lr': 0.02, 'train.epochs': 3, model: 'tiny' }, promoted: ['candidate-1'] });
    expect(r.rows[1].promoted).toEqual(['champion']);
    expect(r.rows[1].modelkit).toEqual({ reference: `${reg.host}/${repository}:${c.main}`, digest: digests[c.main!] });
    const text = await mkOk(nowhere, ['exp', 'show', '--remote', `${reg.host}/${repository}`], { MK_CACHE_DIR: join(nowhere, 'cache') });
    expect(text).toMatch(/champion/);
    // Inside the project, by remote name: the same rows.
    const byName = await mkJsonAsync(proj.dir, ['exp', 'show', '--remote', 'origin']);
    expect(byName.rows.map((x: any) => x.modelkit.digest).sort()).toEqual(r.rows.map((x: any) => x.modelkit.digest).sort());
  });

  it('bad input: an invalid tag name, an unknown revision', async () => {
    expectMkError(mkRun(proj.dir, ['promote', 'main', '--as', 'bad tag']), "'bad tag' is not a valid tag");
    expectMkError(mkRun(proj.dir, ['promote', 'no-such-rev']), "unknown revision 'no-such-rev'");
    expectMkError(mkRun(proj.dir, ['exp', 'show', '--sort-by', 'nope']), "no experiment has a metric or param 'nope'");
  });
});
