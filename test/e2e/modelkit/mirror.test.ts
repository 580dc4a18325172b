/**
 * A mirror of an mk remote made by a generic OCI tool (`skopeo copy`, `kit push`, `crane
 * copy`; here from distribution 2.8 to distribution v3) holds the ModelKits (manifest, config, layers) but not mk's referrer, which carries
 * the folders' file lists (directory manifests). `mk pull` and `mk fetch` from such a mirror
 * rebuild the file lists from the packs of a ModelKit there, check them against the pointer's
 * digest, and restore every byte; a ModelKit that does not rebuild to that digest is refused
 * in one line, and a mirror without any ModelKit of that version says what to do.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRecord, hasData, put, randomBytesFrom, rng } from '../../support/files.js';
import { peer } from '../../support/peers.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { git, tempDir } from '../../support/repo.js';
import { DATASET, DATASET_BIG, LABELS, makeProject, MODEL, pushUpstream, under, workTreeFiles, type Project } from './project.js';
import { kit, mkAsync, mkJsonAsync, mkOk, oras, skopeo, tool } from './tools.js';

describe('a mirror made by skopeo, kit or crane serves mk pull and mk fetch', () => {
  let reg: RunningRegistry;
  /** The mirrors live on another registry, distribution v3 (the source is docker-registry 2.8). */
  let mirrorReg: RunningRegistry;
  let proj: Project;
  const tmp = tempDir('mk-mirror-');
  let first: string;
  let second: string;
  let dsFirst: string;
  let firstData: ReturnType<typeof data>;
  const crane = (...args: string[]) => tool(peer('crane'), args, { env: { HOME: join(tmp.dir, 'crane-home'), DOCKER_CONFIG: join(tmp.dir, 'crane-home') } });
  const src = (tag: string) => `${reg.host}/team/proj:${tag}`;
  const mirror = (name: string) => `${mirrorReg.host}/mirror/${name}`;
  let clones = 0;

  /** A fresh clone at `rev` whose only mk remote is the mirror. */
  async function cloneOf(name: string, rev: string): Promise<string> {
    const dir = join(tmp.dir, `clone-${++clones}`);
    git(tmp.dir, 'clone', '-q', join(proj.dir, '.git', 'test-origin.git'), dir);
    git(dir, 'checkout', '-q', rev);
    if ((await mkOk(dir, ['remote', 'list'])).includes('origin')) await mkOk(dir, ['remote', 'remove', 'origin']);
    await mkOk(dir, ['remote', 'add', 'mirror', `oci://${mirror(name)}`]);
    return dir;
  }

  const data = (dir: string) => asRecord(under(workTreeFiles(dir), MODEL, DATASET, LABELS));

  beforeAll(async () => {
    reg = await startRegistry();
    mirrorReg = await startRegistry({ version: 'v3' });
    proj = makeProject();
    await mkOk(proj.dir, ['remote', 'add', 'origin', `oci://${reg.host}/team/proj`]);
    pushUpstream(proj.dir);
    await mkOk(proj.dir, ['push']);
    first = git(proj.dir, 'rev-parse', 'HEAD').trim();
    dsFirst = readFileSync(join(proj.dir, `${DATASET}.mk.yaml`), 'utf8');
    firstData = data(proj.dir);
    // A second commit changes one file of the dataset: a new version of the folder.
    put(join(proj.dir, DATASET, 's0_0/r0000.jsonl'), randomBytesFrom(rng(99), 777));
    // ...and adds a copy of its large file: one raw layer, the other copy a one-file tar in the ModelKit.
    put(join(proj.dir, DATASET, 'raw/copy.npy'), readFileSync(join(proj.dir, DATASET_BIG)));
    await mkOk(proj.dir, ['add', DATASET]);
    git(proj.dir, 'commit', '-q', '-am', 'one dataset file changed');
    git(proj.dir, 'push', '-q', 'origin', 'main');
    await mkOk(proj.dir, ['push']);
    second = git(proj.dir, 'rev-parse', 'HEAD').trim();

    const tls = ['--src-tls-verify=false', '--dest-tls-verify=false', '--preserve-digests'];
    await skopeo('copy', '--quiet', ...tls, `docker://${src(first)}`, `docker://${mirror('skopeo')}:${first}`);
    await skopeo('copy', '--quiet', ...tls, `docker://${src('main')}`, `docker://${mirror('skopeo')}:main`);
    const kitHome = join(tmp.dir, 'kit-home');
    await kit(kitHome, 'pull', '--plain-http', src('main'));
    await kit(kitHome, 'tag', src('main'), `${mirror('kit')}:v2`);
    await kit(kitHome, 'push', '--plain-http', `${mirror('kit')}:v2`);
    await crane('copy', '--insecure', src(first), `${mirror('crane')}:${first}`);
  });
  afterAll(async () => {
    await reg?.stop();
    await mirrorReg?.stop();
    proj?.cleanup();
    tmp.cleanup();
  });

  it('the mirrors hold the ModelKits but not the referrer with the file lists', async () => {
    for (const name of ['skopeo', 'kit', 'crane']) {
      const tags = (await crane('ls', '--insecure', mirror(name))).stdout.split('\n').filter(Boolean);
      expect(tags.some((t) => t.startsWith('sha256-'))).toBe(false);
      expect(tags.length).toBeGreaterThan(0);
    }
    const digest = (ref: string) => crane('digest', '--insecure', ref).then((r) => r.stdout.trim());
    expect(await digest(`${mirror('kit')}:v2`)).toBe(await digest(src(second)));
    expect(await digest(`${mirror('crane')}:${first}`)).toBe(await digest(src(first)));
    const layers = JSON.parse((await crane('manifest', '--insecure', src(second))).stdout).layers as Array<{ mediaType: string; annotations?: Record<string, string> }>;
    expect(layers.filter((l) => l.annotations?.['org.cncf.model.filepath']?.startsWith(`${DATASET}/raw/`))).toHaveLength(1);
    const root = dsFirst.match(/digest: (sha256:[0-9a-f]{64})/)![1]!;
    const head = await tool(peer('crane'), ['blob', '--insecure', `${mirror('crane')}@${root}`]).then(
      () => 'found',
      (e: Error) => e.message,
    );
    expect(head).toMatch(/BLOB_UNKNOWN|not found|404/i);
  });

  it('mk pull from the skopeo mirror restores the latest commit, byte for byte', async () => {
    const dir = await cloneOf('skopeo', second);
    const r = await mkJsonAsync(dir, ['pull']);
    expect(r.fetch.copied).toBeGreaterThan(3);
    expect(data(dir)).toEqual(data(proj.dir));
  });

  it('mk pull of the first commit from the skopeo mirror (its commit tag)', async () => {
    const dir = await cloneOf('skopeo', first);
    await mkOk(dir, ['pull']);
    expect(data(dir)).toEqual(firstData);
    expect(data(dir)).not.toEqual(data(proj.dir));
  });

  it('mk fetch from the kit mirror (another tag name), then mk checkout with no remote', async () => {
    const dir = await cloneOf('kit', second);
    const f = await mkJsonAsync(dir, ['fetch']);
    expect(f.copied).toBeGreaterThan(3);
    await mkOk(dir, ['remote', 'remove', 'mirror']);
    await mkOk(dir, ['checkout']);
    expect(data(dir)).toEqual(data(proj.dir));
    // The rebuilt file lists are the very blobs mk made: mk get reads one file inside the folder from the cache.
    const out = join(tmp.dir, 'got.jsonl');
    await mkOk(dir, ['get', `${DATASET}/s0_0/r0000.jsonl`, '-o', out]);
    expect(readFileSync(out).equals(readFileSync(join(proj.dir, DATASET, 's0_0/r0000.jsonl')))).toBe(true);
  });

  it('mk get of one file inside the folder, straight from the crane mirror (nothing fetched before)', async () => {
    const dir = await cloneOf('crane', first);
    const out = join(tmp.dir, 'got-from-mirror.jsonl');
    await mkOk(dir, ['get', `${DATASET}/s0_0/r0000.jsonl`, '-o', out]);
    const want = (firstData as Record<string, { sha: string }>)[`${DATASET}/s0_0/r0000.jsonl`]!;
    expect(createHash('sha256').update(readFileSync(out)).digest('hex')).toBe(want.sha);
  });

  it('mk fetch <rev> from the crane mirror', async () => {
    const dir = await cloneOf('crane', first);
    await mkOk(dir, ['fetch', first]);
    await mkOk(dir, ['remote', 'remove', 'mirror']);
    await mkOk(dir, ['checkout']);
    expect(data(dir)).toEqual(firstData);
  });

  it('a mirror with no ModelKit of that version: one line that says what to do', async () => {
    const dir = await cloneOf('kit', first); // the kit mirror holds only the second commit
    const r = await mkAsync(dir, ['pull']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^mk: the file list of ${DATASET} \\([0-9a-f]{12}\\) is not in .*mirror/kit, and no ModelKit there holds that version\\n`));
    expect(r.stderr).toContain('hint: push it there from a clone that has the data');
    expect(r.stderr).not.toContain('never pushed');
  });

  it('a ModelKit that claims a commit whose folder it does not hold is refused: the rebuilt root is not the pointer digest', async () => {
    // The second commit's ModelKit, relabelled as the first commit's (same layers, revision changed).
    await crane('copy', '--insecure', src(second), `${mirror('forged')}:${second}`);
    const m = JSON.parse((await crane('manifest', '--insecure', src(second))).stdout);
    m.annotations['org.opencontainers.image.revision'] = first;
    const file = join(tmp.dir, 'forged.json');
    writeFileSync(file, JSON.stringify(m));
    await oras(join(tmp.dir, 'oras-home'), 'manifest', 'push', '--plain-http', `${mirror('forged')}:${first}`, file, '--media-type', 'application/vnd.oci.image.manifest.v1+json');
    mkdirSync(join(tmp.dir, 'oras-home'), { recursive: true });
    const dir = await cloneOf('forged', first);
    const r = await mkAsync(dir, ['pull']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(`^mk: cannot rebuild the file list of ${DATASET} from the ModelKit '${first}' .*: its layers give the file list [0-9a-f]{12}, the pointer names [0-9a-f]{12}\\n`),
    );
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(2);
    // Nothing of the folder was placed.
    expect(hasData(join(dir, DATASET))).toBe(false);
  });
  it('a ModelKit whose config gives the folder a layer with files outside it is refused in one line', async () => {
    await crane('copy', '--insecure', src(first), `${mirror('outside')}:orig`);
    const m = JSON.parse((await crane('manifest', '--insecure', src(first))).stdout);
    const config = JSON.parse((await crane('config', '--insecure', src(first))).stdout);
    const ds = config.datasets.find((d: { path: string }) => d.path === DATASET);
    ds.digest = ds.diffId = config.code[0].digest; // the code layer: src/, scripts/...
    const file = join(tmp.dir, 'outside-config.json');
    writeFileSync(file, JSON.stringify(config));
    const home = join(tmp.dir, 'oras-home');
    mkdirSync(home, { recursive: true });
    const bytes = readFileSync(file);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await oras(home, 'blob', 'push', '--plain-http', `${mirror('outside')}@${digest}`, file);
    m.config = { ...m.config, digest, size: bytes.length };
    writeFileSync(join(tmp.dir, 'outside.json'), JSON.stringify(m));
    await oras(home, 'manifest', 'push', '--plain-http', `${mirror('outside')}:${first}`, join(tmp.dir, 'outside.json'), '--media-type', 'application/vnd.oci.image.manifest.v1+json');
    const dir = await cloneOf('outside', first);
    const r = await mkAsync(dir, ['fetch']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^mk: cannot rebuild the file list of ${DATASET} from the ModelKit '${first}' .*: pack [0-9a-f]{12} holds [^ ]+, outside ${DATASET}\\n`));
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(2);
  });
  it('a mirror of ModelPacks (modelkits: {format: modelpack}): mk pull rebuilds the folder from the ModelPack layers', async () => {
    appendFileSync(join(proj.dir, '.mk/config.yaml'), 'modelkits:\n  format: modelpack\n');
    put(join(proj.dir, DATASET, 's0_1/r0001.jsonl'), randomBytesFrom(rng(7), 555));
    await mkOk(proj.dir, ['add', DATASET]);
    git(proj.dir, 'commit', '-q', '-am', 'published as ModelPack, one dataset file changed');
    git(proj.dir, 'push', '-q', 'origin', 'main');
    await mkOk(proj.dir, ['push']);
    const third = git(proj.dir, 'rev-parse', 'HEAD').trim();
    expect(JSON.parse((await crane('manifest', '--insecure', src(third))).stdout).artifactType).toBe('application/vnd.cncf.model.manifest.v1+json');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', '--preserve-digests', `docker://${src(third)}`, `docker://${mirror('modelpack')}:${third}`);
    const dir = await cloneOf('modelpack', third);
    await mkOk(dir, ['pull']);
    expect(data(dir)).toEqual(data(proj.dir));
  });
});
