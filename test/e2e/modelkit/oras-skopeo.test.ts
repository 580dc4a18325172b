/**
 * An mk ModelKit is a plain OCI artifact: generic tools read it with no knowledge of mk or
 * kit. `oras` fetches the exact manifest bytes mk built and every blob (each one hashing to
 * its digest), copies the whole graph into an OCI layout that mk unpacks byte for byte, and
 * `oras pull` writes the raw layers' files at their paths; `skopeo` and `crane` read the same
 * manifest and agree on its digest; `kit pull` and `mk pull` (a fresh clone) get every byte
 * back. All of it against both distribution 2.8 (Debian's docker-registry) and v3.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRecord, sha256File, snapshotTree, type FileState } from '../../support/files.js';
import { REGISTRY_VERSIONS, startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { git, mk, tempDir } from '../../support/repo.js';
import { DATASET, DATASET_BIG, LABELS, makeProject, MODEL, pushUpstream, withoutKitfile, workTreeFiles, type Project } from './project.js';
import { kit, mkJsonAsync, mkOk, oras, skopeo, tool } from './tools.js';
import { peer } from '../../support/peers.js';

const sha = (b: Uint8Array) => 'sha256:' + createHash('sha256').update(b).digest('hex');

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

describe.each(REGISTRY_VERSIONS)('oras, skopeo, crane and kit read an mk ModelKit on $name', ({ version }) => {
  let reg: RunningRegistry;
  let proj: Project;
  const tmp = tempDir('mk-oras-skopeo-');
  const orasHome = join(tmp.dir, 'oras-home');
  let repoRef: string;
  let built: { digest: string; size: number; config: Desc; layers: Desc[] };
  let work: Map<string, FileState>;

  beforeAll(async () => {
    mkdirSync(orasHome);
    reg = await startRegistry({ version });
    proj = makeProject();
    mk(proj.dir, 'remote', 'add', 'origin', `oci://${reg.host}/team/proj`);
    git(proj.dir, 'commit', '-q', '-m', 'publish');
    pushUpstream(proj.dir);
    await mkOk(proj.dir, ['push']);
    built = await mkJsonAsync(proj.dir, ['modelkit', 'build']);
    repoRef = `${reg.host}/team/proj`;
    work = workTreeFiles(proj.dir);
  });
  afterAll(async () => {
    await reg?.stop();
    proj?.cleanup();
    tmp.cleanup();
  });

  const commit = () => git(proj.dir, 'rev-parse', 'HEAD').trim();
  /** mk outside any repository, with a cache of its own. */
  const mkOutside = (...args: string[]) => mkOk(tmp.dir, args, { MK_CACHE_DIR: join(tmp.dir, 'mk-cache') });

  it('oras lists the tags mk pushed: the commit id, the branch, and the referrers tag of the ModelKit', async () => {
    const list = async (...extra: string[]) => (await oras(orasHome, 'repo', 'tags', '--plain-http', ...extra, repoRef)).stdout.split('\n').filter(Boolean).sort();
    expect(await list()).toEqual([commit(), 'main', `sha256-${built.digest.slice(7)}`].sort());
    expect(await list('--exclude-digest-tags')).toEqual([commit(), 'main'].sort());
  });

  it('oras manifest fetch returns exactly the manifest mk built, by tag and by digest', async () => {
    const byTag = (await oras(orasHome, 'manifest', 'fetch', '--plain-http', `${repoRef}:${commit()}`)).bytes;
    expect(sha(byTag)).toBe(built.digest);
    expect(byTag.length).toBe(built.size);
    const byDigest = (await oras(orasHome, 'manifest', 'fetch', '--plain-http', `${repoRef}@${built.digest}`)).bytes;
    expect(byDigest.equals(byTag)).toBe(true);
    const desc = JSON.parse((await oras(orasHome, 'manifest', 'fetch', '--plain-http', '--descriptor', `${repoRef}:main`)).stdout);
    expect(desc).toMatchObject({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: built.digest, size: built.size });
    const m = JSON.parse(byTag.toString('utf8'));
    expect(m.artifactType).toBe('application/vnd.kitops.modelkit.manifest.v1+json');
    expect(m.config).toMatchObject({ mediaType: built.config.mediaType, digest: built.config.digest, size: built.config.size });
    expect(m.layers).toEqual(built.layers);
  });

  it('oras blob fetch gets every layer and the config, each hashing to its digest', async () => {
    const dir = join(tmp.dir, 'blobs');
    mkdirSync(dir);
    for (const d of [built.config, ...built.layers]) {
      const file = join(dir, d.digest.slice(7));
      await oras(orasHome, 'blob', 'fetch', '--plain-http', '--output', file, `${repoRef}@${d.digest}`);
      expect('sha256:' + sha256File(file)).toBe(d.digest);
      expect(readFileSync(file).length).toBe(d.size);
    }
    // The raw model layer is the model file itself.
    const model = built.layers.find((l) => l.annotations?.['org.cncf.model.filepath'] === MODEL)!;
    expect(sha256File(join(dir, model.digest.slice(7)))).toBe(work.get(MODEL)!.sha);
    const config = JSON.parse((await oras(orasHome, 'manifest', 'fetch-config', '--plain-http', `${repoRef}:main`)).stdout);
    expect(config.model).toMatchObject({ path: MODEL, digest: model.digest, diffId: model.digest });
  });

  it('oras pull writes the file of every raw layer at its path (its title), byte for byte, and nothing for the tar layers', async () => {
    const raw = built.layers.filter((l) => l.mediaType.endsWith('.raw'));
    const tars = built.layers.filter((l) => l.mediaType.endsWith('.tar'));
    expect(raw.map((l) => l.annotations?.['org.opencontainers.image.title']).sort()).toEqual([DATASET_BIG, LABELS, MODEL].sort());
    for (const l of raw) expect(l.annotations?.['org.opencontainers.image.title']).toBe(l.annotations?.['org.cncf.model.filepath']);
    expect(tars.length).toBeGreaterThan(2);
    for (const l of tars) expect(l.annotations?.['org.opencontainers.image.title']).toBeUndefined();
    const out = join(tmp.dir, 'oras-pull');
    mkdirSync(out);
    await oras(orasHome, 'pull', '--plain-http', '--output', out, `${repoRef}:main`);
    const pulled = snapshotTree(out);
    expect([...pulled.keys()].sort()).toEqual([DATASET_BIG, LABELS, MODEL].sort());
    for (const [p, f] of pulled) expect(f.sha, p).toBe(work.get(p)!.sha);
  });

  it('oras copies the whole ModelKit to an OCI layout, and mk unpacks that copy byte for byte', async () => {
    const layout = join(tmp.dir, 'oras-layout');
    await oras(orasHome, 'cp', '--from-plain-http', `${repoRef}:main`, '--to-oci-layout', `${layout}:copied`);
    const out = join(tmp.dir, 'from-oras-layout');
    await mkOutside('modelkit', 'unpack', `oci:${layout}:copied`, '-d', out);
    expect(asRecord(withoutKitfile(snapshotTree(out)))).toEqual(asRecord(work));
  });

  it('skopeo inspect --raw reads the manifest and its digest is the one mk computed', async () => {
    const raw = (await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${repoRef}:${commit()}`)).bytes;
    expect(sha(raw)).toBe(built.digest);
    // skopeo's own digest of those bytes (plain `skopeo inspect` refuses non-image configs: it is not an image).
    const file = join(tmp.dir, 'skopeo-manifest.json');
    writeFileSync(file, raw);
    expect((await skopeo('manifest-digest', file)).stdout.trim()).toBe(built.digest);
    const byDigest = (await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${repoRef}@${built.digest}`)).bytes;
    expect(byDigest.equals(raw)).toBe(true);
  });

  it('skopeo copies it to an OCI layout with the same digest, and mk unpacks that copy byte for byte', async () => {
    const layout = join(tmp.dir, 'skopeo-layout');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', '--preserve-digests', `docker://${repoRef}:main`, `oci:${layout}:copied`);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(built.digest);
    const out = join(tmp.dir, 'from-skopeo-layout');
    await mkOutside('modelkit', 'unpack', `oci:${layout}:copied`, '-d', out);
    expect(asRecord(withoutKitfile(snapshotTree(out)))).toEqual(asRecord(work));
  });
  const crane = (...args: string[]) => tool(peer('crane'), args, { env: { HOME: orasHome, DOCKER_CONFIG: orasHome } });

  it('crane reads the same manifest, config and blobs: crane manifest, digest, config, blob, ls', async () => {
    const raw = (await crane('manifest', '--insecure', `${repoRef}:${commit()}`)).bytes;
    expect(sha(raw)).toBe(built.digest);
    expect((await crane('digest', '--insecure', `${repoRef}:main`)).stdout.trim()).toBe(built.digest);
    const config = (await crane('config', '--insecure', `${repoRef}:main`)).bytes;
    expect(sha(config)).toBe(built.config.digest);
    expect(JSON.parse(config.toString('utf8')).model.path).toBe(MODEL);
    for (const d of built.layers) {
      const b = (await crane('blob', '--insecure', `${repoRef}@${d.digest}`)).bytes;
      expect(sha(b)).toBe(d.digest);
    }
    expect((await crane('ls', '--insecure', repoRef)).stdout.split('\n').filter(Boolean).sort()).toEqual([commit(), 'main', `sha256-${built.digest.slice(7)}`].sort());
  });

  it('kit pull and kit unpack give every file of the commit, byte for byte', async () => {
    const kitHome = join(tmp.dir, 'kit-home');
    await kit(kitHome, 'pull', '--plain-http', `${repoRef}:main`);
    const out = join(tmp.dir, 'from-kit');
    await kit(kitHome, 'unpack', `${repoRef}:main`, '-d', out);
    expect(asRecord(withoutKitfile(snapshotTree(out)))).toEqual(asRecord(work));
  });

  it('mk pull in a fresh clone gets every tracked byte back', async () => {
    const dir = join(tmp.dir, 'clone');
    git(tmp.dir, 'clone', '-q', join(proj.dir, '.git', 'test-origin.git'), dir);
    if (!(await mkOk(dir, ['remote', 'list'])).includes(repoRef)) await mkOk(dir, ['remote', 'add', 'origin', `oci://${repoRef}`]);
    await mkOk(dir, ['pull']);
    const tracked = (m: Map<string, FileState>) => asRecord(new Map([...m].filter(([p]) => [MODEL, LABELS, DATASET_BIG].includes(p) || p.startsWith(`${DATASET}/`))));
    expect(tracked(workTreeFiles(dir))).toEqual(tracked(work));
  });
});
