/**
 * A data scientist pushes a commit with `mk push`; an operator who has only `kit` pulls the
 * ModelKit of that commit from the team registry and gets exactly the model, the data and
 * the code, byte for byte. The other way round, a ModelKit made with `kit pack` and
 * `kit push` is unpacked by `mk modelkit unpack` exactly as kit itself unpacks it.
 * Everything real: the CNCF registry on a loopback port, kit v1.15, the mk CLI.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRecord, put, randomBytesFrom, rng, snapshotTree, type FileState } from '../../support/files.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { expectMkError, git, makeRepo, mk, tempDir } from '../../support/repo.js';
import { DATASET, DATASET_BIG, LABELS, makeProject, MODEL, pushUpstream, under, withoutKitfile, workTreeFiles, type Project } from './project.js';
import { folderMaker, kit, kitRun, mkAsync, mkJsonAsync, mkOk, mkOutsideIn } from './tools.js';

let reg: RunningRegistry;
const tmp = tempDir('mk-kit-interop-');
const kitHome = join(tmp.dir, 'kitops-home');
/** The cache `mk modelkit unpack` uses outside a repository. */
const mkCache = join(tmp.dir, 'mk-cache');
const outside = { MK_CACHE_DIR: mkCache };

beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg?.stop();
  tmp.cleanup();
});

const freshDir = folderMaker(tmp.dir);

/** kit with a KITOPS_HOME of its own, for reading remote ModelKits while other clients run. */
function kitAlone(...args: string[]): Promise<string> {
  return kit(freshDir('kitops-home'), ...args);
}

/** mk outside any repository, with a cache of its own (as an operator without the project would run it). */
const mkOutside = mkOutsideIn(tmp.dir, outside);

/**
 * kit before the digest-keyed unpack plan (e.g. v1.7) pairs the i-th layer of each media
 * type with the i-th config entry of that section, and checks their digests match. Every
 * ModelKit must pass that pairing, whoever reads it.
 */
function expectKitPairing(manifest: { layers: Array<{ mediaType: string; digest: string }> }, config: any): void {
  const sections: Record<string, Array<{ digest?: string }>> = {
    model: config.model?.digest ? [config.model] : [],
    modelpart: config.model?.parts ?? [],
    code: config.code ?? [],
    dataset: config.datasets ?? [],
    docs: config.docs ?? [],
  };
  const seen: Record<string, number> = {};
  for (const l of manifest.layers) {
    const base = /^application\/vnd\.kitops\.modelkit\.(\w+)\.v1\./.exec(l.mediaType)![1]!;
    const i = seen[base] ?? 0;
    seen[base] = i + 1;
    expect(sections[base]?.[i]?.digest, `${base} layer ${i}`).toBe(l.digest);
  }
  for (const [k, list] of Object.entries(sections)) expect(seen[k] ?? 0, `${k} entries`).toBe(list.length);
}

function kitfileOf(dir: string): any {
  return parseYaml(readFileSync(join(dir, 'Kitfile'), 'utf8'));
}

describe('kit gets what mk push published', () => {
  let proj: Project;
  let ref: string;
  let pushed: { commit: string; digest: string; tags: string[] };
  let work: Map<string, FileState>;

  beforeAll(async () => {
    proj = makeProject();
    mk(proj.dir, 'remote', 'add', 'origin', `oci://${reg.host}/team/proj`);
    git(proj.dir, 'commit', '-q', '-m', 'publish to the team registry');
    pushUpstream(proj.dir);
    const r = await mkJsonAsync(proj.dir, ['push']);
    expect(r.modelkits).toHaveLength(1);
    pushed = r.modelkits[0];
    ref = `${reg.host}/team/proj:${pushed.commit}`;
    work = workTreeFiles(proj.dir);
  });
  afterAll(() => proj?.cleanup());

  it('mk push tags the ModelKit with the commit id and the upstream branch', async () => {
    expect(pushed.commit).toBe(git(proj.dir, 'rev-parse', 'HEAD').trim());
    expect(pushed.tags).toEqual([pushed.commit, 'main']);
    expect(await kit(kitHome, 'inspect', '--remote', '--plain-http', `${reg.host}/team/proj:main`)).toContain(pushed.digest);
  });

  it('is laid out as the design says: a raw model layer, several dataset packs, raw layers for big and single files, one code layer', async () => {
    const info = await mkJsonAsync(proj.dir, ['modelkit', 'inspect', ref]);
    expect(info.digest).toBe(pushed.digest);
    const layers = info.manifest.layers as Array<{ mediaType: string; annotations?: Record<string, string> }>;
    const kinds = layers.map((l) => `${l.mediaType.replace('application/vnd.kitops.modelkit.', '')} ${l.annotations?.['org.cncf.model.filepath'] ?? ''}`.trim());
    expect(kinds[0]).toBe(`model.v1.raw ${MODEL}`);
    expect(kinds[1]).toBe('code.v1.tar');
    expect(kinds.filter((k) => k === 'dataset.v1.tar').length).toBeGreaterThanOrEqual(3);
    expect(kinds).toContain(`dataset.v1.raw ${DATASET_BIG}`);
    expect(kinds).toContain(`dataset.v1.raw ${LABELS}`);
    expect(info.manifest.annotations['org.opencontainers.image.revision']).toBe(pushed.commit);
    expectKitPairing(info.manifest, info.config);
    // Every layer of the dataset directory carries the Kitfile entry's name; the first its
    // path, each other a path of its own inside the directory (kit pack refuses two entries
    // with one path).
    const dsPaths = info.config.datasets.filter((d: { name: string }) => d.name === 'ds').map((d: { path: string }) => d.path) as string[];
    expect(dsPaths.length).toBeGreaterThanOrEqual(5);
    expect(dsPaths[0]).toBe(DATASET);
    expect(new Set(dsPaths).size).toBe(dsPaths.length);
    for (const p of dsPaths.slice(1)) expect(p.startsWith(`${DATASET}/`), p).toBe(true);
    console.log(`mk ModelKit ${pushed.digest}: ${layers.length} layers\n  ${kinds.join('\n  ')}`);
  });

  it('kit unpack gives every file of the commit, code and data, byte for byte, plus a Kitfile', async () => {
    const out = freshDir('kit-all');
    await kit(kitHome, 'unpack', ref, '--plain-http', '-d', out);
    const got = snapshotTree(out);
    expect(asRecord(withoutKitfile(got))).toEqual(asRecord(work));
    // The model is a 12 MiB raw layer, the dataset several hundred files from several packs.
    expect(got.get(MODEL)!.size).toBe(12 * 1024 * 1024 + 3);
    expect(under(got, DATASET).size).toBeGreaterThan(600);
    expect(got.get('scripts/run.sh')!.mode).toBe(0o755);
    expect(got.get('data/ds/bin/prepare.sh')!.mode).toBe(0o755);
    const kf = kitfileOf(out);
    expect(kf.model.path).toBe(MODEL);
    expect(new Set(kf.datasets.map((d: { name: string }) => d.name))).toEqual(new Set(['ds', 'labels.csv']));
    expect(kf.code.map((c: { path: string }) => c.path)).toEqual(['.']);
  });

  it('mk modelkit unpack of the revision itself (built in the clone, no registry) gives the same files', async () => {
    const out = freshDir('mk-head');
    await mkOk(proj.dir, ['modelkit', 'unpack', 'HEAD', '-d', out]);
    expect(asRecord(withoutKitfile(snapshotTree(out)))).toEqual(asRecord(work));
  });

  it('kit unpack --filter model gets the model and nothing else', async () => {
    const out = freshDir('kit-model');
    await kit(kitHome, 'unpack', ref, '--plain-http', '--filter', 'model', '-d', out);
    expect(asRecord(snapshotTree(out))).toEqual(asRecord(under(work, MODEL)));
  });

  it('kit unpack --filter by its name gets the whole dataset directory, from all its layers; mk selects the same', async () => {
    const byKit = freshDir('kit-ds');
    const byMk = freshDir('mk-ds');
    await Promise.all([kitAlone('unpack', ref, '--plain-http', '--filter', 'datasets:ds', '-d', byKit), mkOutside('modelkit', 'unpack', ref, '--filter', 'datasets:ds', '-d', byMk)]);
    expect(asRecord(snapshotTree(byKit))).toEqual(asRecord(under(work, DATASET)));
    expect(asRecord(snapshotTree(byMk))).toEqual(asRecord(under(work, DATASET)));
  });

  it('--filter by the directory path selects the layer kit lists under that path, in kit and in mk alike', async () => {
    const byKit = freshDir('kit-ds-path');
    const byMk = freshDir('mk-ds-path');
    await Promise.all([kitAlone('unpack', ref, '--plain-http', '--filter', `datasets:${DATASET}`, '-d', byKit), mkOutside('modelkit', 'unpack', ref, '--filter', `datasets:${DATASET}`, '-d', byMk)]);
    const got = snapshotTree(byKit);
    expect(got.size).toBeGreaterThan(0);
    expect(got.size).toBeLessThan(under(work, DATASET).size);
    expect(asRecord(snapshotTree(byMk))).toEqual(asRecord(got));
  });

  it('kit unpack then kit pack of the tree succeeds; kit info lists each entry once; the repacked ModelKit unpacks to the same files', async () => {
    const home = freshDir('kitops-home-rt');
    const out = freshDir('kit-rt');
    await kit(home, 'unpack', ref, '--plain-http', '-d', out);
    const info = parseYaml(await kit(home, 'info', '--remote', '--plain-http', ref));
    const paths = [
      info.model?.path,
      ...(info.model?.parts ?? []).map((p: { path: string }) => p.path),
      ...(info.datasets ?? []).map((d: { path: string }) => d.path),
      ...(info.code ?? []).map((c: { path: string }) => c.path),
      ...(info.docs ?? []).map((d: { path: string }) => d.path),
    ].filter(Boolean);
    expect(new Set(paths).size).toBe(paths.length);
    await kit(home, 'pack', out, '-t', 'roundtrip/proj:again');
    const again = freshDir('kit-rt-again');
    await kit(home, 'unpack', 'roundtrip/proj:again', '-d', again);
    // kit 1.15 leaves out of a layer every file whose path merely starts with another entry's
    // path (pkg/lib/filesystem/ignore/ignore.go compares prefixes without a '/'): the pointer
    // files next to the artifacts (models/model.bin.mk.yaml) are lost by kit's repack, not by mk.
    const dropped = (p: string) => p.endsWith('.mk.yaml');
    const expected = new Map([...withoutKitfile(snapshotTree(out))].filter(([p]) => !dropped(p)));
    expect(asRecord(withoutKitfile(snapshotTree(again)))).toEqual(asRecord(expected));
    expect(asRecord(expected)).toEqual(asRecord(new Map([...work].filter(([p]) => !dropped(p)))));
  });

  it('kit info shows the Kitfile and kit inspect the manifest mk built', async () => {
    const info = await kit(kitHome, 'info', '--remote', '--plain-http', ref);
    expect(info).toContain(`path: ${MODEL}`);
    expect((await kit(kitHome, 'info', '--remote', '--plain-http', '-f', '.model.path', ref)).trim()).toBe(MODEL);
    const inspected = JSON.parse(await kit(kitHome, 'inspect', '--remote', '--plain-http', ref));
    expect(inspected.digest).toBe(pushed.digest);
    const ours = await mkJsonAsync(proj.dir, ['modelkit', 'inspect', ref]);
    expect(inspected.manifest).toEqual(ours.manifest);
    expect(inspected.kitfile.model.path).toBe(MODEL);
  });

  it('kit pull verifies and stores every layer; kit list shows the ModelKit under its tags', async () => {
    await kit(kitHome, 'pull', '--plain-http', `${reg.host}/team/proj:main`);
    const list = JSON.parse(await kit(kitHome, 'list', '--format', 'json')) as Array<{ repo: string; digest: string; tags: string[] }>;
    const mine = list.find((m) => m.repo === `${reg.host}/team/proj`);
    expect(mine?.digest).toBe(pushed.digest);
    expect(mine?.tags).toContain('main');
    // From kit's local storage now, without the registry.
    const out = freshDir('kit-local');
    await kit(kitHome, 'unpack', `${reg.host}/team/proj:main`, '--filter', 'model', '-d', out);
    expect(asRecord(snapshotTree(out))).toEqual(asRecord(under(work, MODEL)));
  });
  it('a later commit adds a sharded checkpoint directory (a model part of several layers): kit gets all of it, and --filter by its name exactly it', async () => {
    const ckpt = 'models/adapter';
    const rand = rng(99);
    put(join(proj.dir, ckpt, 'adapter-00001-of-00002.safetensors'), randomBytesFrom(rand, 300 * 1024 + 1));
    put(join(proj.dir, ckpt, 'adapter-00002-of-00002.safetensors'), randomBytesFrom(rand, 280 * 1024));
    for (let i = 0; i < 80; i++) put(join(proj.dir, ckpt, `layers/layer${i}.json`), JSON.stringify({ layer: i, w: randomBytesFrom(rand, 1500).toString('base64') }));
    mk(proj.dir, 'add', '--kind', 'model', ckpt);
    git(proj.dir, 'add', '-A');
    git(proj.dir, 'commit', '-q', '-m', 'fine-tuned adapter');
    const second = (await mkJsonAsync(proj.dir, ['push'])).modelkits[0] as typeof pushed;
    const ref2 = `${reg.host}/team/proj:${second.commit}`;
    const work2 = workTreeFiles(proj.dir);
    const info2 = await mkJsonAsync(proj.dir, ['modelkit', 'inspect', ref2]);
    expectKitPairing(info2.manifest, info2.config);
    const layers = info2.manifest.layers as Array<{ mediaType: string }>;
    expect(layers.filter((l) => l.mediaType.includes('.modelpart.v1.raw')).length).toBe(2);
    expect(layers.filter((l) => l.mediaType.includes('.modelpart.v1.tar')).length).toBeGreaterThanOrEqual(2);

    const [all, models, byKit, byMk] = [freshDir('kit-all-2'), freshDir('kit-models-2'), freshDir('kit-part-2'), freshDir('mk-part-2')];
    await Promise.all([
      kitAlone('unpack', ref2, '--plain-http', '-d', all),
      kitAlone('unpack', ref2, '--plain-http', '--filter', 'model', '-d', models),
      kitAlone('unpack', ref2, '--plain-http', '--filter', 'model:adapter', '-d', byKit),
      mkOutside('modelkit', 'unpack', ref2, '--filter', 'model:adapter', '-d', byMk),
    ]);
    expect(asRecord(withoutKitfile(snapshotTree(all)))).toEqual(asRecord(work2));
    expect(asRecord(snapshotTree(models))).toEqual(asRecord(under(work2, MODEL, ckpt)));
    expect(asRecord(snapshotTree(byKit))).toEqual(asRecord(under(work2, ckpt)));
    expect(asRecord(snapshotTree(byMk))).toEqual(asRecord(under(work2, ckpt)));
  });
});

describe('a model that is a directory (shards and small files)', () => {
  let repo: { dir: string; cleanup: () => void };
  let ref: string;
  let work: Map<string, FileState>;

  beforeAll(async () => {
    repo = makeRepo();
    appendFileSync(join(repo.dir, '.mk/config.yaml'), 'storage:\n  pack_target: 64KiB\n  raw_threshold: 256KiB\n');
    const rand = rng(5);
    put(join(repo.dir, 'models/llm/model-00001-of-00002.safetensors'), randomBytesFrom(rand, 400 * 1024));
    put(join(repo.dir, 'models/llm/model-00002-of-00002.safetensors'), randomBytesFrom(rand, 300 * 1024 + 5));
    for (let i = 0; i < 60; i++) put(join(repo.dir, `models/llm/extra/cfg${i}.json`), randomBytesFrom(rand, 3000));
    put(join(repo.dir, 'models/llm/tokenizer.json'), '{"vocab":{}}\n');
    put(join(repo.dir, 'models/vocab.txt'), 'a\nb\n');
    mk(repo.dir, 'add', '--kind', 'model', 'models/llm', 'models/vocab.txt');
    mk(repo.dir, 'remote', 'add', 'origin', `oci://${reg.host}/team/llm`);
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-q', '-m', 'sharded model');
    const pushedLlm = (await mkJsonAsync(repo.dir, ['push'])).modelkits[0];
    ref = `${reg.host}/team/llm:${pushedLlm.commit}`;
    work = workTreeFiles(repo.dir);
  });
  afterAll(() => repo?.cleanup());

  it('its first layer is the model, the others model parts, in the config as in the manifest', async () => {
    const info = await mkJsonAsync(repo.dir, ['modelkit', 'inspect', ref]);
    const types = (info.manifest.layers as Array<{ mediaType: string }>).map((l) => l.mediaType.replace(/^application\/vnd\.kitops\.modelkit\./, ''));
    expect(types.filter((t) => t.startsWith('model.'))).toHaveLength(1);
    expect(types.filter((t) => t.startsWith('modelpart.')).length).toBeGreaterThanOrEqual(4);
    expect(info.config.model).toMatchObject({ name: 'llm', path: 'models/llm' });
    expectKitPairing(info.manifest, info.config);
  });

  it('kit unpack --filter model gets the whole model directory and the part, byte for byte; --filter by its name the directory', async () => {
    const [out, byPath, byMk] = [freshDir('kit-llm'), freshDir('kit-llm-name'), freshDir('mk-llm-name')];
    await Promise.all([
      kitAlone('unpack', ref, '--plain-http', '--filter', 'model', '-d', out),
      kitAlone('unpack', ref, '--plain-http', '--filter', 'model:llm', '-d', byPath),
      mkOutside('modelkit', 'unpack', ref, '--filter', 'model:llm', '-d', byMk),
    ]);
    expect(asRecord(snapshotTree(out))).toEqual(asRecord(under(work, 'models/llm', 'models/vocab.txt')));
    expect(asRecord(snapshotTree(byPath))).toEqual(asRecord(under(work, 'models/llm')));
    expect(asRecord(snapshotTree(byMk))).toEqual(asRecord(under(work, 'models/llm')));
  });
});

describe('a ModelKit whose model is another ModelKit (a model reference), unpacked as kit does', () => {
  let repo: { dir: string; cleanup: () => void };
  let base: string;
  let tuned: string;
  let baseWeights: Buffer;

  beforeAll(async () => {
    // The base model, packed and pushed by kit.
    const baseDir = freshDir('base-project');
    baseWeights = randomBytesFrom(rng(41), 200 * 1024 + 7);
    put(join(baseDir, 'weights/base.bin'), baseWeights);
    put(join(baseDir, 'README.md'), 'the base model\n');
    put(join(baseDir, 'Kitfile'), 'manifestVersion: "1.0"\npackage:\n  name: base\nmodel:\n  name: base\n  path: weights/base.bin\ndocs:\n  - path: README.md\n');
    base = `${reg.host}/team/base:v1`;
    await kit(kitHome, 'pack', baseDir, '-t', base);
    await kit(kitHome, 'push', '--plain-http', base);
    // A fine-tune in an mk repository: its Kitfile names the base as its model, the adapter is a part.
    repo = makeRepo();
    put(join(repo.dir, 'adapter/adapter.bin'), randomBytesFrom(rng(42), 90 * 1024));
    put(join(repo.dir, 'data/tune.jsonl'), '{"q":"a"}\n'.repeat(500));
    mk(repo.dir, 'add', '--kind', 'model', 'adapter/adapter.bin');
    mk(repo.dir, 'add', '--kind', 'dataset', 'data/tune.jsonl');
    put(
      join(repo.dir, 'Kitfile'),
      `manifestVersion: "1.0"\npackage:\n  name: tuned\nmodel:\n  name: tuned\n  path: ${base}\n  parts:\n    - name: adapter\n      path: adapter/adapter.bin\ndatasets:\n  - name: tune\n    path: data/tune.jsonl\n`,
    );
    mk(repo.dir, 'remote', 'add', 'origin', `oci://${reg.host}/team/tuned`);
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-q', '-m', 'fine-tune of the base');
    tuned = `${reg.host}/team/tuned:${(await mkJsonAsync(repo.dir, ['push'])).modelkits[0].commit}`;
  });
  afterAll(() => repo?.cleanup());

  it.each([[[]], [['--filter', 'model']], [['--filter', 'datasets']], [['--filter', 'model:base']]])(
    'mk modelkit unpack %j gives what kit unpack gives, the base model included where the filter wants models',
    async (flags) => {
      const byKit = freshDir('kit-ref');
      const byMk = freshDir('mk-ref');
      await Promise.all([kitAlone('unpack', tuned, '--plain-http', ...flags, '-d', byKit), mkOutside('modelkit', 'unpack', tuned, ...flags, '-d', byMk)]);
      const got = snapshotTree(byMk);
      expect(asRecord(got)).toEqual(asRecord(snapshotTree(byKit)));
      const wantsModel = flags.length === 0 || flags[1]!.startsWith('model');
      expect(got.has('weights/base.bin')).toBe(wantsModel);
      if (wantsModel) expect(readFileSync(join(byMk, 'weights/base.bin')).equals(baseWeights)).toBe(true);
      // Only the base's model: not its docs, not its Kitfile.
      expect(got.has('README.md')).toBe(false);
    },
  );

  it('a dataset that names another ModelKit (remotePath) comes with --include-remote, under its path, as kit gives it; without, a warning', async () => {
    const dir = freshDir('remote-ds-project');
    put(join(dir, 'notes.md'), 'bundle notes\n');
    put(join(dir, 'Kitfile'), `manifestVersion: "1.0"\npackage:\n  name: bundle\ndatasets:\n  - name: shared\n    path: shared\n    remotePath: ${tuned}\ndocs:\n  - path: notes.md\n`);
    const ref = `${reg.host}/team/bundle:v1`;
    await kit(kitHome, 'pack', dir, '-t', ref);
    await kit(kitHome, 'push', '--plain-http', ref);
    const [byKit, byMk, plainKit, plainMk] = [freshDir('kit-remote-ds'), freshDir('mk-remote-ds'), freshDir('kit-no-remote'), freshDir('mk-no-remote')];
    const [, , , plain] = await Promise.all([
      kitAlone('unpack', ref, '--plain-http', '--include-remote', '-d', byKit),
      mkOutside('modelkit', 'unpack', ref, '--include-remote', '-d', byMk),
      kitAlone('unpack', ref, '--plain-http', '-d', plainKit),
      mkAsync(tmp.dir, ['modelkit', 'unpack', ref, '-d', plainMk], outside),
    ]);
    const got = snapshotTree(byMk);
    expect(asRecord(got)).toEqual(asRecord(snapshotTree(byKit)));
    expect(got.has('shared/data/tune.jsonl')).toBe(true);
    expect(plain.status).toBe(0);
    expect(plain.stderr).toMatch(/remote datasets \(shared\).*--include-remote/);
    expect(asRecord(snapshotTree(plainMk))).toEqual(asRecord(snapshotTree(plainKit)));
    expect(snapshotTree(plainMk).has('shared/data/tune.jsonl')).toBe(false);
  });

  it('a reference cycle (a ModelKit whose model names its own tag) is refused in one line, nothing written, as kit refuses it', async () => {
    const loop = makeRepo();
    try {
      put(join(loop.dir, 'Kitfile'), `manifestVersion: "1.0"\nmodel:\n  name: loop\n  path: ${reg.host}/team/loop:main\ncode:\n  - path: .\n`);
      put(join(loop.dir, 'src/a.py'), 'print(1)\n');
      mk(loop.dir, 'remote', 'add', 'origin', `oci://${reg.host}/team/loop`);
      git(loop.dir, 'add', '-A');
      git(loop.dir, 'commit', '-q', '-m', 'loop');
      pushUpstream(loop.dir);
      await mkJsonAsync(loop.dir, ['push']);
      const ref = `${reg.host}/team/loop:main`;
      const byKit = await kitRun(freshDir('kitops-home'), 'unpack', ref, '--plain-http', '-d', freshDir('kit-loop'));
      expect(byKit.status).not.toBe(0);
      expect(byKit.stderr + byKit.stdout).toMatch(/cycle/);
      const out = freshDir('mk-loop');
      expectMkError(await mkAsync(tmp.dir, ['modelkit', 'unpack', ref, '-d', out], outside), /cycle in ModelKit references/);
      expect(snapshotTree(out).size).toBe(0);
    } finally {
      loop.cleanup();
    }
  });
});

describe('identical files: two copies in one directory, and two tracked files with the same bytes', () => {
  let repo: { dir: string; cleanup: () => void };
  let ref: string;
  let work: Map<string, FileState>;

  beforeAll(async () => {
    repo = makeRepo();
    appendFileSync(join(repo.dir, '.mk/config.yaml'), 'storage:\n  pack_target: 64KiB\n  raw_threshold: 256KiB\n');
    const clip = randomBytesFrom(rng(11), 300 * 1024);
    put(join(repo.dir, 'data/clips/a.mp4'), clip);
    put(join(repo.dir, 'data/clips/copy of a.mp4'), clip);
    put(join(repo.dir, 'data/clips/nested/again a.mp4'), clip, 0o755);
    put(join(repo.dir, 'data/clips/notes.txt'), 'three copies\n');
    put(join(repo.dir, 'data/train/labels.csv'), 'id,label\n1,a\n');
    put(join(repo.dir, 'data/test/labels.csv'), 'id,label\n1,a\n');
    mk(repo.dir, 'add', '--kind', 'dataset', 'data/clips', 'data/train/labels.csv', 'data/test/labels.csv');
    mk(repo.dir, 'remote', 'add', 'origin', `oci://${reg.host}/team/dups`);
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-q', '-m', 'duplicates');
    ref = `${reg.host}/team/dups:${(await mkJsonAsync(repo.dir, ['push'])).modelkits[0].commit}`;
    work = workTreeFiles(repo.dir);
  });
  afterAll(() => repo?.cleanup());

  it('publishes every copy (the first as a raw layer, the others as one-file tars), and kit and mk unpack them all', async () => {
    const info = await mkJsonAsync(repo.dir, ['modelkit', 'inspect', ref]);
    const digests = (info.manifest.layers as Array<{ digest: string }>).map((l) => l.digest);
    expect(new Set(digests).size).toBe(digests.length);
    expect(digests).toContain(`sha256:${work.get('data/clips/a.mp4')!.sha}`); // the first copy, raw: its digest is the file's
    expect(digests).toContain(`sha256:${work.get('data/train/labels.csv')!.sha}`);
    const types = (info.manifest.layers as Array<{ mediaType: string }>).map((l) => l.mediaType.replace(/^.*\.v1\./, ''));
    expect(types.filter((t) => t === 'raw')).toHaveLength(2);
    expectKitPairing(info.manifest, info.config);
    const [byKit, byMk] = [freshDir('kit-dups'), freshDir('mk-dups')];
    await Promise.all([kitAlone('unpack', ref, '--plain-http', '-d', byKit), mkOutside('modelkit', 'unpack', ref, '-d', byMk)]);
    expect(asRecord(withoutKitfile(snapshotTree(byKit)))).toEqual(asRecord(work));
    expect(asRecord(withoutKitfile(snapshotTree(byMk)))).toEqual(asRecord(work));
    expect(work.get('data/clips/nested/again a.mp4')).toMatchObject({ sha: work.get('data/clips/a.mp4')!.sha, mode: 0o755 });
  });
});

/** A project laid out for `kit pack`: model with a part, code dir, dataset dir (nested) and file, docs. */
function writeKitProject(dir: string): void {
  const rand = rng(42);
  put(join(dir, 'models/weights.safetensors'), randomBytesFrom(rand, 3 * 1024 * 1024 + 11));
  put(join(dir, 'models/tokenizer.json'), '{"vocab": ["a", "b"]}\n');
  put(join(dir, 'src/serve.py'), 'print("serve")\n');
  put(join(dir, 'src/bin/start.sh'), '#!/bin/sh\nexec python src/serve.py\n', 0o755);
  for (let i = 0; i < 120; i++) put(join(dir, `data/train/shard${i % 4}/part${i % 3}/x${i}.bin`), randomBytesFrom(rand, 30 + i * 11));
  put(join(dir, 'data/eval.csv'), 'x,y\n1,2\n');
  put(join(dir, 'docs/README.md'), '# weights\n');
  put(
    join(dir, 'Kitfile'),
    [
      'manifestVersion: 1.0.0',
      'package:',
      '  name: kitmade',
      '  version: 1.2.3',
      '  authors: [alice, bob]',
      'model:',
      '  name: weights',
      '  path: models/weights.safetensors',
      '  framework: pytorch',
      '  parameters: {lr: 0.001, layers: [1, 2]}',
      '  parts:',
      '    - name: tokenizer',
      '      path: models/tokenizer.json',
      '      type: tokenizer',
      'code:',
      '  - path: src',
      'datasets:',
      '  - name: train',
      '    path: data/train',
      '  - name: eval',
      '    path: data/eval.csv',
      'docs:',
      '  - path: docs/README.md',
      '',
    ].join('\n'),
  );
}

/** Every Kitfile entry a single regular file: what `kit pack --layer-format raw` requires. */
function writeKitRawProject(dir: string): void {
  const rand = rng(43);
  put(join(dir, 'models/model.gguf'), randomBytesFrom(rand, 2 * 1024 * 1024 + 1));
  put(join(dir, 'models/config.json'), '{"n": 1}\n');
  put(join(dir, 'src/app.py'), 'print("app")\n', 0o755);
  put(join(dir, 'data/eval.bin'), randomBytesFrom(rand, 5000));
  put(join(dir, 'README.md'), '# raw\n');
  put(
    join(dir, 'Kitfile'),
    [
      'manifestVersion: 1.0.0',
      'package: {name: rawmade}',
      'model:',
      '  name: gguf',
      '  path: models/model.gguf',
      '  parts: [{name: cfg, path: models/config.json}]',
      'code: [{path: src/app.py}]',
      'datasets: [{name: eval, path: data/eval.bin}]',
      'docs: [{path: README.md}]',
      '',
    ].join('\n'),
  );
}

describe('mk unpacks what kit pack and kit push published', () => {
  let tarProject: string;
  let rawProject: string;
  const tarRef = () => `${reg.host}/kit/made:tar`;
  const rawRef = () => `${reg.host}/kit/made:raw`;

  beforeAll(async () => {
    tarProject = freshDir('kit-project');
    writeKitProject(tarProject);
    await kit(kitHome, 'pack', tarProject, '-t', tarRef(), '--compression', 'none');
    await kit(kitHome, 'push', '--plain-http', tarRef());
    rawProject = freshDir('kit-raw-project');
    writeKitRawProject(rawProject);
    await kit(kitHome, 'pack', rawProject, '-t', rawRef(), '--layer-format', 'raw');
    await kit(kitHome, 'push', '--plain-http', rawRef());
  });

  it('kit made tar layers (compression none): mk modelkit unpack gives the packed files byte for byte', async () => {
    const inspected = JSON.parse(await kit(kitHome, 'inspect', '--remote', '--plain-http', tarRef()));
    expect(inspected.manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(
      ['model', 'modelpart', 'code', 'dataset', 'dataset', 'docs'].map((k) => `application/vnd.kitops.modelkit.${k}.v1.tar`),
    );
    expectKitPairing(inspected.manifest, inspected.kitfile);
    const out = freshDir('mk-from-kit-tar');
    const r = JSON.parse(await mkOutside('modelkit', 'unpack', tarRef(), '-d', out, '--json')) as { layers: number; files: number };
    expect(r.layers).toBe(6);
    expect(asRecord(withoutKitfile(snapshotTree(out)))).toEqual(asRecord(withoutKitfile(snapshotTree(tarProject))));
    // The Kitfile mk writes says what kit's says.
    const byKit = freshDir('kit-from-kit-tar');
    await kit(kitHome, 'unpack', '--plain-http', tarRef(), '--filter', 'kitfile', '-d', byKit);
    expect(kitfileOf(out)).toEqual(kitfileOf(byKit));
    expect(kitfileOf(out).model.parameters).toEqual({ layers: [1, 2], lr: 0.001 });
  });

  it('kit made raw layers (--layer-format raw): mk modelkit unpack gives the files byte for byte, modes included', async () => {
    const manifest = JSON.parse(await kit(kitHome, 'inspect', '--remote', '--plain-http', rawRef())).manifest;
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType.replace(/^.*\.v1\./, ''))).toEqual(['raw', 'raw', 'raw', 'raw', 'raw']);
    const out = freshDir('mk-from-kit-raw');
    await mkOutside('modelkit', 'unpack', rawRef(), '-d', out);
    const got = snapshotTree(out);
    expect(asRecord(withoutKitfile(got))).toEqual(asRecord(withoutKitfile(snapshotTree(rawProject))));
    expect(got.get('src/app.py')!.mode).toBe(0o755);
  });

  const FILTERS: string[][] = [
    ['model'],
    ['datasets'],
    ['datasets:train'],
    ['datasets:data/eval.csv'],
    ['code'],
    ['code:src'],
    ['docs'],
    ['kitfile'],
    ['model,docs'],
    ['model:tokenizer'],
    ['kitfile', 'datasets:eval'],
    ['datasets:nosuch'],
  ];

  it.each(FILTERS.map((f) => [f.join(' + '), f]))('--filter %s selects what kit selects', async (_label, filters) => {
    const flags = (filters as string[]).flatMap((f) => ['--filter', f]);
    const byKit = freshDir('kit-filter');
    const byMk = freshDir('mk-filter');
    await Promise.all([kitAlone('unpack', '--plain-http', tarRef(), ...flags, '-d', byKit), mkOutside('modelkit', 'unpack', tarRef(), ...flags, '-d', byMk)]);
    const k = snapshotTree(byKit);
    const m = snapshotTree(byMk);
    expect(asRecord(withoutKitfile(m))).toEqual(asRecord(withoutKitfile(k)));
    expect(m.has('Kitfile')).toBe(k.has('Kitfile'));
    if (k.has('Kitfile')) expect(kitfileOf(byMk)).toEqual(kitfileOf(byKit));
  });

  it('a filter kit rejects, mk rejects too, with one line', async () => {
    const bad = await kitRun(kitHome, 'unpack', '--plain-http', tarRef(), '--filter', 'model:a:b', '-d', freshDir('kit-bad-filter'));
    expect(bad.status).not.toBe(0);
    expectMkError(await mkAsync(tmp.dir, ['modelkit', 'unpack', tarRef(), '--filter', 'model:a:b', '-d', freshDir('mk-bad-filter')], outside), /invalid filter/);
  });

  // kit pack --compression: gzip and gzip-fastest write +gzip layers, zstd +zstd; with tar and raw layer formats.
  const COMPRESSED = ['gzip', 'gzip-fastest', 'zstd'].flatMap((c) => [
    [c, 'tar'],
    [c, 'raw'],
  ]);
  const compressedRef = (c: string, f: string) => `${reg.host}/kit/made:${c}-${f}`;
  const pushed = new Map<string, Promise<string>>();
  /** kit packs and pushes the project with that compression and layer format (once). */
  const pushCompressed = (c: string, f: string): Promise<string> => {
    const ref = compressedRef(c, f);
    if (!pushed.has(ref))
      pushed.set(
        ref,
        (async () => {
          await kit(kitHome, 'pack', f === 'tar' ? tarProject : rawProject, '-t', ref, '--compression', c, ...(f === 'raw' ? ['--layer-format', 'raw'] : []));
          await kit(kitHome, 'push', '--plain-http', ref);
          return ref;
        })(),
      );
    return pushed.get(ref)!;
  };

  it.each(COMPRESSED)('kit pack --compression %s (%s layers): mk modelkit unpack gives what kit unpack gives, byte for byte', async (c, f) => {
    const ref = await pushCompressed(c!, f!);
    const manifest = JSON.parse(await kit(kitHome, 'inspect', '--remote', '--plain-http', ref)).manifest;
    for (const l of manifest.layers as Array<{ mediaType: string }>) expect(l.mediaType).toMatch(new RegExp(`\\.v1\\.${f}\\+${c === 'zstd' ? 'zstd' : 'gzip'}$`));
    const byKit = freshDir('kit-compressed');
    const byMk = freshDir('mk-compressed');
    await Promise.all([kitAlone('unpack', '--plain-http', ref, '-d', byKit), mkOutside('modelkit', 'unpack', ref, '-d', byMk)]);
    const m = snapshotTree(byMk);
    expect(asRecord(m)).toEqual(asRecord(snapshotTree(byKit)));
    expect(asRecord(withoutKitfile(m))).toEqual(asRecord(withoutKitfile(snapshotTree(f === 'tar' ? tarProject : rawProject))));
  });

  it.each(['gzip', 'zstd'].flatMap((c) => FILTERS.map((flt) => [c, flt.join(' + '), flt] as const)))('compressed (%s) tar layers, --filter %s: what kit selects', async (c, _label, filters) => {
    const ref = await pushCompressed(c, 'tar');
    const flags = filters.flatMap((x) => ['--filter', x]);
    const byKit = freshDir('kit-compressed-filter');
    const byMk = freshDir('mk-compressed-filter');
    await Promise.all([kitAlone('unpack', '--plain-http', ref, ...flags, '-d', byKit), mkOutside('modelkit', 'unpack', ref, ...flags, '-d', byMk)]);
    expect(asRecord(snapshotTree(byMk))).toEqual(asRecord(snapshotTree(byKit)));
  });
});
