/**
 * CNCF ModelPack (model-spec v1, `application/vnd.cncf.model.*`): what `kit pack
 * --use-model-pack` and modctl write, and what the Kubernetes model CSI path expects. mk reads
 * kit's ModelPacks (with kit's Kitfile annotation, and without it, as modctl writes them) exactly
 * as kit unpacks them, and publishes one with `modelkits: {format: modelpack}` that kit reads back.
 * Real registry, real kit 1.15 and oras.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRecord, put, randomBytesFrom, rng, snapshotTree } from '../../support/files.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { git, tempDir } from '../../support/repo.js';
import { DATASET, makeProject, MODEL, withoutKitfile, workTreeFiles, type Project } from './project.js';
import { folderMaker, kit, mkAsync, mkJsonAsync, mkOutsideIn, oras } from './tools.js';

let reg: RunningRegistry;
const tmp = tempDir('mk-modelpack-');
const kitHome = join(tmp.dir, 'kitops-home');
const outside = { MK_CACHE_DIR: join(tmp.dir, 'mk-cache') };

beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg?.stop();
  tmp.cleanup();
});

const freshDir = folderMaker(tmp.dir);
const mkOutside = mkOutsideIn(tmp.dir, outside);

describe('mk reads the ModelPacks kit writes', () => {
  const project = join(tmp.dir, 'kit-project');
  const refs: Record<string, string> = {};

  beforeAll(async () => {
    const rand = rng(21);
    put(join(project, 'model/weights.safetensors'), randomBytesFrom(rand, 150 * 1024 + 1));
    put(join(project, 'model/config.json'), '{"layers": 4}\n');
    for (let i = 0; i < 40; i++) put(join(project, `data/train/part-${i}.jsonl`), randomBytesFrom(rand, 500 + i));
    put(join(project, 'data/eval.csv'), 'a,b\n1,2\n');
    put(join(project, 'src/train.py'), 'print("train")\n');
    put(join(project, 'README.md'), '# a ModelPack\n');
    put(
      join(project, 'Kitfile'),
      'manifestVersion: "1.0"\npackage:\n  name: mp\n  version: 1.0.0\nmodel:\n  name: tiny\n  path: model/weights.safetensors\n  parts:\n    - name: cfg\n      path: model/config.json\ndatasets:\n  - name: train\n    path: data/train\n  - name: eval\n    path: data/eval.csv\ncode:\n  - path: src\ndocs:\n  - path: README.md\n',
    );
    // Raw layers hold one file each: that project's Kitfile names files only.
    const files = join(tmp.dir, 'kit-project-files');
    put(join(files, 'model/weights.safetensors'), readFileSync(join(project, 'model/weights.safetensors')));
    put(join(files, 'model/config.json'), '{"layers": 4}\n');
    put(join(files, 'data/eval.csv'), 'a,b\n1,2\n');
    put(join(files, 'README.md'), '# a ModelPack\n');
    put(
      join(files, 'Kitfile'),
      'manifestVersion: "1.0"\npackage:\n  name: mp-files\nmodel:\n  name: tiny\n  path: model/weights.safetensors\n  parts:\n    - name: cfg\n      path: model/config.json\ndatasets:\n  - name: eval\n    path: data/eval.csv\ndocs:\n  - path: README.md\n',
    );
    for (const [name, dir, flags] of [
      ['tar', project, []],
      ['zstd', project, ['--compression', 'zstd']],
      ['raw', files, ['--layer-format', 'raw']],
    ] as const) {
      refs[name] = `${reg.host}/team/modelpack:${name}`;
      await kit(kitHome, 'pack', dir, '-t', refs[name]!, '--use-model-pack', ...flags);
      await kit(kitHome, 'push', '--plain-http', refs[name]!);
    }
  });

  it("mk modelkit inspect says ModelPack and gives kit's Kitfile from the annotation", async () => {
    const info = await mkJsonAsync(tmp.dir, ['modelkit', 'inspect', refs.tar!], outside);
    expect(info.format).toBe('modelpack');
    expect(info.manifest.artifactType).toBe('application/vnd.cncf.model.manifest.v1+json');
    expect(info.config.model.name).toBe('tiny');
    expect(info.config.datasets.map((d: { name: string }) => d.name)).toEqual(['train', 'eval']);
  });

  it.each(['tar', 'zstd', 'raw'].flatMap((f) => [[], ['--filter', 'model'], ['--filter', 'datasets:train,eval'], ['--filter', 'code,docs']].map((flt) => [f, flt] as const)))(
    '%s layers, %j: mk modelkit unpack gives exactly what kit unpack gives',
    async (format, flags) => {
      const byKit = freshDir('kit');
      const byMk = freshDir('mk');
      await kit(freshDir('kitops-home'), 'unpack', refs[format]!, '--plain-http', ...flags, '-d', byKit);
      await mkOutside('modelkit', 'unpack', refs[format]!, ...flags, '-d', byMk);
      const got = snapshotTree(byMk);
      expect(got.size).toBeGreaterThan(0);
      expect(asRecord(got)).toEqual(asRecord(snapshotTree(byKit)));
    },
  );

  it("a ModelPack without kit's Kitfile annotation (as modctl writes it) unpacks by its layers' file paths, as kit does, with no Kitfile", async () => {
    const info = await mkJsonAsync(tmp.dir, ['modelkit', 'inspect', refs.tar!], outside);
    const manifest = info.manifest;
    delete manifest.annotations['ml.kitops.modelkit.kitfile'];
    const file = join(tmp.dir, 'bare-manifest.json');
    writeFileSync(file, JSON.stringify(manifest));
    const bare = `${reg.host}/team/modelpack:bare`;
    await oras(tmp.dir, 'manifest', 'push', '--plain-http', '--media-type', 'application/vnd.oci.image.manifest.v1+json', bare, file);
    const byKit = freshDir('kit-bare');
    const byMk = freshDir('mk-bare');
    await kit(freshDir('kitops-home'), 'unpack', bare, '--plain-http', '-d', byKit);
    await mkOutside('modelkit', 'unpack', bare, '-d', byMk);
    const got = snapshotTree(byMk);
    expect(got.has('Kitfile')).toBe(false);
    expect(got.has('model/weights.safetensors')).toBe(true);
    expect(asRecord(got)).toEqual(asRecord(snapshotTree(byKit)));
    const bareInfo = await mkJsonAsync(tmp.dir, ['modelkit', 'inspect', bare], outside);
    expect(bareInfo.kitfile).toBe(false);
    expect(bareInfo.config.model.path).toBe('model/weights.safetensors');
  });

  it.each(['tar', 'zstd', 'raw'])('%s layers: mk get gives one file and one folder of a ModelPack kit wrote, byte for byte', async (format) => {
    const dir = freshDir(`get-${format}`);
    await mkOutside('get', refs[format]!, 'model/weights.safetensors', '-o', join(dir, 'weights'));
    expect(readFileSync(join(dir, 'weights')).equals(readFileSync(join(project, 'model/weights.safetensors')))).toBe(true);
    await mkOutside('get', refs[format]!, 'data/eval.csv', '-o', join(dir, 'eval.csv'));
    expect(readFileSync(join(dir, 'eval.csv'), 'utf8')).toBe('a,b\n1,2\n');
    if (format === 'raw') return; // that project has no folder
    await mkOutside('get', refs[format]!, 'data/train', '-o', join(dir, 'train'));
    expect(asRecord(snapshotTree(join(dir, 'train')))).toEqual(asRecord(snapshotTree(join(project, 'data/train'))));
  });

  it('mk modelkit list shows ModelPacks beside ModelKits', async () => {
    const r = await mkJsonAsync(tmp.dir, ['modelkit', 'list', `${reg.host}/team/modelpack`], outside);
    expect(r.modelkits.flatMap((m: { tags: string[] }) => m.tags)).toEqual(expect.arrayContaining(['tar', 'zstd', 'raw']));
  });
});

describe('mk publishes a ModelPack with modelkits: {format: modelpack}, and kit reads it back', () => {
  let proj: Project;
  let ref: string;
  let commit: string;

  beforeAll(async () => {
    proj = makeProject();
    appendFileSync(join(proj.dir, '.mk/config.yaml'), 'modelkits:\n  format: modelpack\n');
    await mkAsync(proj.dir, ['remote', 'add', 'origin', `oci://${reg.host}/team/published-modelpack`]);
    git(proj.dir, 'add', '-A');
    git(proj.dir, 'commit', '-q', '-m', 'publish as ModelPack');
    const r = await mkJsonAsync(proj.dir, ['push']);
    commit = r.modelkits[0].commit;
    ref = `${reg.host}/team/published-modelpack:${commit}`;
  });
  afterAll(() => proj?.cleanup());

  it("is a ModelPack: model-spec config and media types, each layer with its file path, the Kitfile in kit's annotation", async () => {
    const info = await mkJsonAsync(proj.dir, ['modelkit', 'inspect', ref]);
    expect(info.format).toBe('modelpack');
    const m = info.manifest;
    expect(m.artifactType).toBe('application/vnd.cncf.model.manifest.v1+json');
    expect(m.config.mediaType).toBe('application/vnd.cncf.model.config.v1+json');
    const types = new Set(m.layers.map((l: { mediaType: string }) => l.mediaType));
    expect([...types].every((t) => /^application\/vnd\.cncf\.model\.(weight|weight\.config|dataset|code|doc)\.v1\.(raw|tar)$/.test(t as string))).toBe(true);
    expect(types).toContain('application/vnd.cncf.model.weight.v1.raw');
    for (const l of m.layers) expect(l.annotations?.['org.cncf.model.filepath']).toBeTruthy();
    const kitfile = JSON.parse(m.annotations['ml.kitops.modelkit.kitfile']);
    expect(kitfile.model.path).toBe(MODEL);
    const config = JSON.parse((await oras(tmp.dir, 'blob', 'fetch', '--plain-http', '--output', '-', `${reg.host}/team/published-modelpack@${m.config.digest}`)).stdout);
    expect(config.modelfs).toEqual({ type: 'layers', diffIds: m.layers.map((l: { digest: string }) => l.digest) });
    expect(config.descriptor.revision).toBe(commit);
  });

  it('kit unpack gives every file of the commit and a Kitfile; kit info shows it; mk unpacks the same', async () => {
    const byKit = freshDir('kit-published');
    const byMk = freshDir('mk-published');
    const home = freshDir('kitops-home');
    await kit(home, 'unpack', ref, '--plain-http', '-d', byKit);
    await mkOutside('modelkit', 'unpack', ref, '-d', byMk);
    const work = workTreeFiles(proj.dir);
    expect(asRecord(withoutKitfile(snapshotTree(byKit)))).toEqual(asRecord(work));
    expect(asRecord(snapshotTree(byMk))).toEqual(asRecord(snapshotTree(byKit)));
    const info = parseYaml(await kit(home, 'info', '--remote', '--plain-http', ref));
    expect(info.model.path).toBe(MODEL);
    expect(info.datasets.some((d: { path: string }) => d.path === DATASET)).toBe(true);
    expect(readFileSync(join(byKit, MODEL)).equals(readFileSync(join(proj.dir, MODEL)))).toBe(true);
  });

  it('mk get reads one file of a folder by byte ranges of its pack, and a raw model layer whole', async () => {
    const dir = freshDir('get-published');
    const one = 'data/ds/bin/prepare.sh';
    const r = await mkJsonAsync(tmp.dir, ['get', ref, one, '-o', join(dir, 'emb')], outside);
    expect(readFileSync(join(dir, 'emb')).equals(readFileSync(join(proj.dir, one)))).toBe(true);
    expect(r.packsInPart).toBe(1);
    const m = await mkJsonAsync(tmp.dir, ['get', ref, MODEL, '-o', join(dir, 'model')], outside);
    expect(readFileSync(join(dir, 'model')).equals(readFileSync(join(proj.dir, MODEL)))).toBe(true);
    expect(m.packsInPart).toBe(0);
  });

  it('is reproducible: mk verify HEAD rebuilds the same ModelPack', async () => {
    const r = await mkAsync(proj.dir, ['verify', 'HEAD']);
    expect(r.stderr + r.stdout).not.toMatch(/MISMATCH/);
    expect(r.status).toBe(0);
  });
});
