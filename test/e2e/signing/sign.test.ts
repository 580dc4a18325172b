/**
 * Signed ModelKits: `mk keygen`, signing on `mk push` and with `mk sign`, checked by
 * `mk verify --key` and by independent tools (oras discover and copy -r, model_signing verify
 * key, kit unpack), on a registry and on an OCI layout remote. Every refusal the issue lists
 * is produced for real: a different key, a changed layer, a changed manifest, a changed
 * signature, a provenance for another commit; and config verify_signatures makes pull,
 * checkout, the hooks and unpack refuse an unsigned ModelKit.
 */
import { appendFileSync, chmodSync, cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peer } from '../../support/peers.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { git, mk, mkRun, tempDir } from '../../support/repo.js';
import { gitRun } from '../git/support.js';
import { LABELS, makeProject, MODEL, pushUpstream, type Project } from '../modelkit/project.js';
import { kit, mkAsync, mkJsonAsync, mkOk, oras, runAsync } from '../modelkit/tools.js';
import { openLayoutStore } from '../../../src/stores/open.js';
import { attachReferrers, referrers } from '../../../src/modelkit/referrers.js';
import { readSigningKey } from '../../../src/signing/keys.js';
import { BUNDLE_MEDIA_TYPE, signStatement } from '../../../src/signing/dsse.js';
import { manifestStatement, provenanceStatement, SLSA_PREDICATE, COSIGN_SIGN_PREDICATE } from '../../../src/signing/statements.js';
import type { Descriptor } from '../../../src/content/descriptor.js';
import { bufferSource } from '../../../src/content/storage.js';
import { sha256 } from '../../../src/hashing/digest.js';

const PREDICATE = 'dev.sigstore.bundle.predicateType';

describe('signed ModelKits', () => {
  let reg: RunningRegistry;
  let proj: Project;
  const tmp = tempDir('mk-sign-');
  const orasHome = join(tmp.dir, 'oras-home');
  const kitHome = join(tmp.dir, 'kit-home');
  const layout = join(tmp.dir, 'layout');
  const key = join(tmp.dir, 'keys', 'team');
  const other = join(tmp.dir, 'keys', 'other');
  let commit: string;
  let repoRef: string;

  const verify = (ref: string, pub: string, ...extra: string[]) => mkAsync(proj.dir, ['verify', ref, '--key', pub, ...extra]);
  const verifyJson = async (ref: string, pub: string) =>
    JSON.parse((await verify(ref, pub, '--json')).stdout) as { ok: boolean; checks: Array<{ kind: string; ok: boolean; problem?: string; covers: string }>; layers?: { bad: unknown[] } };
  const problems = (r: { checks: Array<{ kind: string; ok: boolean; problem?: string }> }) => Object.fromEntries(r.checks.filter((c) => !c.ok).map((c) => [c.kind, c.problem]));
  /** A copy of the layout remote to tamper with, and its reference. */
  const layoutCopy = (name: string) => {
    const dir = join(tmp.dir, name);
    cpSync(layout, dir, { recursive: true });
    return { dir, ref: `oci:${dir}:${commit}` };
  };

  /** Removes a kind of signature (by its predicate) from the ModelKit's referrers in a layout. */
  const dropSignatures = async (store: ReturnType<typeof openLayoutStore>, desc: Descriptor, predicate: string) => {
    const kept = (await referrers(store, desc)).filter((d) => d.annotations?.[PREDICATE] !== predicate);
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: kept }));
    const idx = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(bytes), size: bytes.length };
    await store.push(idx, bufferSource(bytes));
    await store.tag(idx, `sha256-${desc.digest.slice(7)}`);
  };

  beforeAll(async () => {
    mkdirSync(orasHome);
    mkdirSync(kitHome);
    mkdirSync(join(tmp.dir, 'keys'));
    reg = await startRegistry();
    proj = makeProject();
    commit = proj.commit;
    repoRef = `${reg.host}/team/proj`;
    mk(proj.dir, 'remote', 'add', 'origin', `oci://${reg.host}/team/proj`);
    mk(proj.dir, 'remote', 'add', 'lay', layout);
    pushUpstream(proj.dir);
    await mkOk(proj.dir, ['keygen', '--out', key]);
    await mkOk(proj.dir, ['keygen', '--out', other]);
    // The key is a local setting (never committed): .git/mk/config.yaml.
    appendFileSync(join(proj.dir, '.git', 'mk', 'config.yaml'), `signing:\n  key: ${key}.key\n`);
    expect(await mkOk(proj.dir, ['push'])).toMatch(/^ModelKit sha256:[0-9a-f]{64} tagged .*, signed \(signature, files, provenance\)$/m);
    await mkOk(proj.dir, ['push', '-r', 'lay']);
  });
  afterAll(async () => {
    await reg?.stop();
    proj?.cleanup();
    tmp.cleanup();
  });

  it('mk keygen writes a P-256 PEM pair (private key owner-only), never prints the key, and refuses to replace one', async () => {
    const priv = readFileSync(`${key}.key`, 'utf8');
    expect(priv).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(readFileSync(`${key}.pub`, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(statSync(`${key}.key`).mode & 0o777).toBe(0o600);
    expect(readSigningKey(`${key}.key`).privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const fresh = join(tmp.dir, 'keys', 'fresh');
    const r = await mkAsync(proj.dir, ['keygen', '--out', fresh]);
    expect(r.status).toBe(0);
    const body = readFileSync(`${fresh}.key`, 'utf8').split('\n')[1]!;
    expect(r.stdout + r.stderr).not.toContain(body);
    const again = await mkAsync(proj.dir, ['keygen', '--out', fresh]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^mk: .*fresh\.key already exists\nhint: /);
    // Written inside a work tree: a warning to keep it out of Git.
    const inside = await mkAsync(proj.dir, ['keygen', '--out', 'in-repo']);
    expect(inside.stderr).toMatch(/^warning: .*in-repo\.key is inside the Git work tree .*: keep it out of Git/);
    rmSync(join(proj.dir, 'in-repo.key'));
    rmSync(join(proj.dir, 'in-repo.pub'));
    // A push with an unreadable key names the file, never the key: nothing leaks in errors.
    const bad = await mkAsync(proj.dir, ['sign', 'HEAD', '--key', `${fresh}.pub`]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/^mk: .*fresh\.pub is not a (PEM )?private key\n/);
  });

  it('mk push signed the ModelKit on the registry: mk verify --key checks the three signatures and says what each covers', async () => {
    const r = await verify('HEAD', `${key}.pub`);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/OK {2}signature {2}the ModelKit manifest/);
    expect(r.stdout).toMatch(/OK {2}files {6}every file kit unpack writes/);
    expect(r.stdout).toMatch(/OK {2}provenance where it came from: the Git commit/);
    expect(r.stdout).toMatch(/OK {2}layers .* blob\(s\) match their digests/);
    // By reference too, outside the repository (no rebuild, no Git): the auditor's view.
    const outside = await mkAsync(tmp.dir, ['verify', `${repoRef}:${commit}`, '--key', `${key}.pub`], { MK_CACHE_DIR: join(tmp.dir, 'auditor-cache') });
    expect(outside.status, outside.stderr + outside.stdout).toBe(0);
  });

  it('the signatures are OCI referrers in cosign form: oras discover lists them, with the directory manifests', async () => {
    const tree = JSON.parse((await oras(orasHome, 'discover', '--plain-http', '--format', 'json', `${repoRef}:${commit}`)).stdout) as {
      referrers: Array<{ artifactType: string; annotations?: Record<string, string>; digest: string }>;
    };
    const bundles = tree.referrers.filter((x) => x.artifactType === BUNDLE_MEDIA_TYPE);
    expect(bundles.map((b) => b.annotations?.[PREDICATE]).sort()).toEqual([COSIGN_SIGN_PREDICATE, 'https://model_signing/signature/v1.0', SLSA_PREDICATE].sort());
    for (const b of bundles) expect(b.annotations?.['dev.sigstore.bundle.content']).toBe('dsse-envelope');
    expect(tree.referrers.some((x) => x.artifactType === 'application/vnd.mk.directory-manifests.v1')).toBe(true);
    // Each is an image manifest: empty config, one bundle layer, the ModelKit as subject.
    const m = JSON.parse((await oras(orasHome, 'manifest', 'fetch', '--plain-http', `${repoRef}@${bundles[0]!.digest}`)).stdout);
    expect(m).toMatchObject({ artifactType: BUNDLE_MEDIA_TYPE, config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2 }, layers: [{ mediaType: BUNDLE_MEDIA_TYPE }] });
    expect(m.subject.digest).toBe(JSON.parse((await oras(orasHome, 'manifest', 'fetch', '--plain-http', '--descriptor', `${repoRef}:${commit}`)).stdout).digest);
    const bundle = JSON.parse((await oras(orasHome, 'blob', 'fetch', '--plain-http', '--output', '-', `${repoRef}@${m.layers[0].digest}`)).stdout);
    expect(bundle.mediaType).toBe(BUNDLE_MEDIA_TYPE);
    expect(bundle.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
    expect(bundle.verificationMaterial.publicKey.hint).toMatch(/^[0-9a-f]{64}$/);
    // Pushing again adds nothing: the ModelKit carries this key's signatures already.
    expect(await mkOk(proj.dir, ['push', '--check-remote'])).not.toMatch(/signed \(/);
    const again = JSON.parse((await oras(orasHome, 'discover', '--plain-http', '--format', 'json', `${repoRef}:${commit}`)).stdout) as { referrers: unknown[] };
    expect(again.referrers).toHaveLength(4);
  });

  it('cosign v3 verifies the manifest signature and the provenance with the public key, and refuses another key', async () => {
    const cosign = (...args: string[]) =>
      runAsync(peer('cosign'), [...args, '--insecure-ignore-tlog=true', '--allow-http-registry', '--allow-insecure-registry', `${repoRef}:${commit}`], {
        env: { HOME: orasHome, DOCKER_CONFIG: orasHome },
      });
    const digest = JSON.parse((await oras(orasHome, 'manifest', 'fetch', '--plain-http', '--descriptor', `${repoRef}:${commit}`)).stdout).digest;
    const v = await cosign('verify', '--key', `${key}.pub`);
    expect(v.status, v.stderr).toBe(0);
    const claims = JSON.parse(v.stdout) as Array<{ critical: { image: { 'docker-manifest-digest': string }; type: string } }>;
    expect(claims.map((c) => c.critical.type)).toContain(COSIGN_SIGN_PREDICATE);
    for (const c of claims) expect(c.critical.image['docker-manifest-digest']).toBe(digest);
    const att = await cosign('verify-attestation', '--key', `${key}.pub`, '--type', 'slsaprovenance1');
    expect(att.status, att.stderr).toBe(0);
    const st = JSON.parse(Buffer.from(JSON.parse(att.stdout.trim().split('\n')[0]!).payload, 'base64').toString('utf8'));
    expect(st.predicate.buildDefinition.resolvedDependencies[0].digest.gitCommit).toBe(commit);
    const wrong = await cosign('verify', '--key', `${other}.pub`);
    expect(wrong.status).not.toBe(0);
  });

  it('on a layout remote too, and the provenance names the commit, the repository and mk', async () => {
    const r = await verifyJson('HEAD', `${key}.pub`).catch(() => undefined);
    expect(r?.ok).toBe(true);
    const lay = await verify('HEAD', `${key}.pub`, '-r', 'lay');
    expect(lay.status, lay.stdout).toBe(0);
    const tree = JSON.parse((await oras(orasHome, 'discover', '--format', 'json', '--oci-layout', `${layout}:${commit}`)).stdout) as {
      referrers: Array<{ artifactType: string; annotations?: Record<string, string>; digest: string }>;
    };
    const prov = tree.referrers.find((x) => x.annotations?.[PREDICATE] === SLSA_PREDICATE)!;
    const m = JSON.parse((await oras(orasHome, 'manifest', 'fetch', '--oci-layout', `${layout}@${prov.digest}`)).stdout);
    const bundle = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', m.layers[0].digest.slice(7)), 'utf8'));
    const st = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
    expect(st.predicateType).toBe(SLSA_PREDICATE);
    expect(st.predicate.buildDefinition.resolvedDependencies[0].digest.gitCommit).toBe(commit);
    expect(st.predicate.runDetails.builder.version.mk).toMatch(/^\d+\.\d+\.\d+/);
    expect(st.subject.length).toBeGreaterThan(2); // the manifest and every layer
  });

  it('refuses a different key', async () => {
    const r = await verify('HEAD', `${other}.pub`);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('REFUSED');
    const j = await verifyJson('HEAD', `${other}.pub`);
    expect(Object.values(problems(j))).toEqual(['signed with another key only', 'signed with another key only', 'signed with another key only']);
  });

  it('refuses a changed layer (its bytes on the remote no longer match the digest the signature covers)', async () => {
    const c = layoutCopy('changed-layer');
    const store = openLayoutStore(c.dir);
    const manifest = JSON.parse(readFileSync(join(c.dir, 'blobs', 'sha256', (await store.resolve(commit)).digest.slice(7)), 'utf8'));
    const model = manifest.layers.find((l: Descriptor) => l.annotations?.['org.cncf.model.filepath'] === MODEL);
    const blob = join(c.dir, 'blobs', 'sha256', model.digest.slice(7));
    const bytes = readFileSync(blob);
    bytes[1000] ^= 1;
    writeFileSync(blob, bytes);
    const r = await verify(c.ref, `${key}.pub`);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/BAD layers .*\n.*sha256:/);
  });

  it('refuses a changed manifest, even with the original signatures attached to it', async () => {
    const c = layoutCopy('changed-manifest');
    const store = openLayoutStore(c.dir);
    const desc = await store.resolve(commit);
    const bytes = readFileSync(join(c.dir, 'blobs', 'sha256', desc.digest.slice(7)));
    const changed = JSON.parse(bytes.toString('utf8'));
    changed.annotations['org.opencontainers.image.description'] = 'not what was signed';
    const { MemoryStore } = await import('../../../src/stores/memory/memory-store.js');
    const mem = new MemoryStore();
    const nd = mem.put(desc.mediaType, Buffer.from(JSON.stringify(changed)));
    const { copyGraph } = await import('../../../src/transfer/graph-copy.js');
    const { overlay } = await import('../../../src/stores/overlay.js');
    await copyGraph(overlay(mem, store), store, [nd], { tags: [{ desc: nd, name: commit }] });
    // Unsigned: nothing refers to the new manifest.
    const unsigned = await verifyJson(c.ref, `${key}.pub`);
    expect(unsigned.ok).toBe(false);
    expect(problems(unsigned)).toEqual({ signature: 'not signed', files: 'not signed', provenance: 'not signed' });
    // The original bundles, attached to the changed manifest: they are about another one.
    const old = await referrers(store, desc);
    const bundles = [];
    for (const r of old.filter((x) => x.artifactType === BUNDLE_MEDIA_TYPE)) {
      const m = JSON.parse(readFileSync(join(c.dir, 'blobs', 'sha256', r.digest.slice(7)), 'utf8'));
      bundles.push({
        artifactType: BUNDLE_MEDIA_TYPE,
        layers: [{ mediaType: BUNDLE_MEDIA_TYPE, bytes: readFileSync(join(c.dir, 'blobs', 'sha256', m.layers[0].digest.slice(7))) }],
        annotations: m.annotations,
      });
    }
    await attachReferrers(store, nd, bundles);
    const moved = problems(await verifyJson(c.ref, `${key}.pub`));
    expect(moved.signature).toMatch(/it signs sha256:[0-9a-f]{12}, not this manifest/);
    expect(moved.provenance).toMatch(/the provenance is about another manifest/);
  });

  it('refuses a changed signature', async () => {
    const c = layoutCopy('changed-signature');
    const store = openLayoutStore(c.dir);
    const desc = await store.resolve(commit);
    const sig = (await referrers(store, desc)).find((x) => x.annotations?.[PREDICATE] === COSIGN_SIGN_PREDICATE)!;
    const m = JSON.parse(readFileSync(join(c.dir, 'blobs', 'sha256', sig.digest.slice(7)), 'utf8'));
    // Change one byte of the signed payload in the stored bundle (the blob keeps its name).
    const file = join(c.dir, 'blobs', 'sha256', m.layers[0].digest.slice(7));
    const bundle = JSON.parse(readFileSync(file, 'utf8'));
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    payload[payload.length - 3] ^= 1;
    bundle.dsseEnvelope.payload = payload.toString('base64');
    await attachReferrers(store, desc, [{ artifactType: BUNDLE_MEDIA_TYPE, layers: [{ mediaType: BUNDLE_MEDIA_TYPE, bytes: Buffer.from(JSON.stringify(bundle)) }], annotations: m.annotations }]);
    // Beside the good one it is shown and ignored (anyone who may push can attach such a thing).
    const beside = await verify(c.ref, `${key}.pub`);
    expect(beside.status, beside.stdout).toBe(0);
    expect(beside.stdout).toMatch(/OK {2}signature .*\n {4}ignored referrer [0-9a-f]{12}: the signature does not match \(the bundle was changed after signing\)/);
    // In place of the good one, it is the reason for the refusal.
    const alone = layoutCopy('changed-signature-alone');
    const aloneStore = openLayoutStore(alone.dir);
    await dropSignatures(aloneStore, desc, COSIGN_SIGN_PREDICATE);
    await attachReferrers(aloneStore, desc, [{ artifactType: BUNDLE_MEDIA_TYPE, layers: [{ mediaType: BUNDLE_MEDIA_TYPE, bytes: Buffer.from(JSON.stringify(bundle)) }], annotations: m.annotations }]);
    const p = problems(await verifyJson(alone.ref, `${key}.pub`));
    expect(p.signature).toMatch(/the signature does not match \(the bundle was changed after signing\)/);
    // The stored bytes themselves changed under their digest: refused too.
    writeFileSync(file, JSON.stringify(bundle));
    const r = await verify(c.ref, `${key}.pub`);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/BAD signature +referrer [0-9a-f]{12}: .*(digest|does not match)/);
  });

  it('leaves alone what anyone may attach: garbage and other keys do not change the verdict', async () => {
    const c = layoutCopy('garbage');
    const store = openLayoutStore(c.dir);
    const desc = await store.resolve(commit);
    const st = manifestStatement('proj', desc);
    await attachReferrers(store, desc, [
      { artifactType: BUNDLE_MEDIA_TYPE, layers: [{ mediaType: BUNDLE_MEDIA_TYPE, bytes: Buffer.from('{"not": "a bundle"') }], annotations: { [PREDICATE]: COSIGN_SIGN_PREDICATE } },
      {
        artifactType: BUNDLE_MEDIA_TYPE,
        layers: [{ mediaType: BUNDLE_MEDIA_TYPE, bytes: await signStatement(st, readSigningKey(`${other}.key`)) }],
        annotations: { [PREDICATE]: COSIGN_SIGN_PREDICATE },
      },
    ]);
    const r = await verify(c.ref, `${key}.pub`);
    expect(r.status, r.stdout).toBe(0);
    // And the other key sees its one signature, and nothing of the rest.
    expect(problems(await verifyJson(c.ref, `${other}.pub`))).toEqual({ files: 'signed with another key only', provenance: 'signed with another key only' });
  });

  it('one extra referrer of a signature kind (anyone with push access can attach one) does not undo a valid signature: each candidate is checked, one that holds is enough', async () => {
    const c = layoutCopy('extra-referrers');
    const store = openLayoutStore(c.dir);
    const desc = await store.resolve(commit);
    const team = readSigningKey(`${key}.key`);
    const manifest = JSON.parse(readFileSync(join(c.dir, 'blobs', 'sha256', desc.digest.slice(7)), 'utf8'));
    const [replayed, otherCommit, dangling] = await attachReferrers(store, desc, [
      // A genuine team signature of another ModelKit, replayed here.
      {
        artifactType: BUNDLE_MEDIA_TYPE,
        layers: [{ mediaType: BUNDLE_MEDIA_TYPE, bytes: await signStatement(manifestStatement('proj', { digest: `sha256:${'1'.repeat(64)}` }), team) }],
        annotations: { [PREDICATE]: COSIGN_SIGN_PREDICATE },
      },
      // A team provenance of this manifest for another commit.
      {
        artifactType: BUNDLE_MEDIA_TYPE,
        layers: [
          {
            mediaType: BUNDLE_MEDIA_TYPE,
            bytes: await signStatement(provenanceStatement({ name: 'proj', manifest: desc, layers: manifest.layers, commit: 'e'.repeat(40), builderVersion: '0.1.0' }), team),
          },
        ],
        annotations: { [PREDICATE]: SLSA_PREDICATE },
      },
      // A referrer whose bundle is not there.
      { artifactType: BUNDLE_MEDIA_TYPE, layers: [{ mediaType: BUNDLE_MEDIA_TYPE, bytes: Buffer.from('{"gone": true}') }], annotations: { [PREDICATE]: COSIGN_SIGN_PREDICATE } },
    ]);
    const gone = JSON.parse(readFileSync(join(c.dir, 'blobs', 'sha256', dangling!.digest.slice(7)), 'utf8')).layers[0].digest as string;
    rmSync(join(c.dir, 'blobs', 'sha256', gone.slice(7)));
    const r = await verify(c.ref, `${key}.pub`);
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^OK: signed by /m);
    const ignored = r.stdout.split('\n').filter((l) => l.startsWith('    ignored referrer '));
    expect(ignored).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`${replayed!.digest.slice(7, 19)}: it signs sha256:111111111111, not this manifest`),
        expect.stringContaining(`${otherCommit!.digest.slice(7, 19)}: the provenance is for commit eeeeeeeeeeee`),
        expect.stringContaining(dangling!.digest.slice(7, 19)),
      ]),
    );
    const j = await verifyJson(c.ref, `${key}.pub`);
    expect(j.ok).toBe(true);
    expect(j.checks.every((x) => x.ok)).toBe(true);
  });

  it('mk verify --key decides from the referrer manifests it reads, not the labels in index.json (oras copy -r from a registry that mislabels artifactType)', async () => {
    const copy = join(tmp.dir, 'oras-mislabelled');
    await oras(orasHome, 'cp', '-r', '--from-plain-http', `${repoRef}:${commit}`, '--to-oci-layout', `${copy}:${commit}`);
    const indexFile = join(copy, 'index.json');
    const index = JSON.parse(readFileSync(indexFile, 'utf8'));
    let relabelled = 0;
    for (const d of index.manifests) {
      if (d.artifactType !== BUNDLE_MEDIA_TYPE) continue;
      d.artifactType = 'application/vnd.oci.empty.v1+json';
      delete d.annotations;
      relabelled++;
    }
    expect(relabelled).toBe(3);
    writeFileSync(indexFile, JSON.stringify(index));
    const env = { MK_CACHE_DIR: join(tmp.dir, 'mislabelled-cache') };
    const r = await mkAsync(tmp.dir, ['verify', `oci:${copy}:${commit}`, '--key', `${key}.pub`], env);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // The model signature is found the same way for model_signing.
    const sig = join(tmp.dir, 'mislabelled.sig');
    const u = await mkAsync(tmp.dir, ['modelkit', 'unpack', `oci:${copy}:${commit}`, '-d', join(tmp.dir, 'mislabelled-tree'), '--signature', sig], env);
    expect(u.status, u.stderr).toBe(0);
    expect(JSON.parse(readFileSync(sig, 'utf8')).dsseEnvelope).toBeDefined();
  });

  it('a signing key others can read is used with a warning that says which chmod fixes it (as ssh refuses one)', async () => {
    const c = layoutCopy('open-key');
    const file = `${key}.key`;
    const warning = `warning: the signing key ${file} is open to every user of this machine (mode 0644): whoever reads it can sign as you; keep it to yourself with 'chmod 600 ${file}'`;
    chmodSync(file, 0o644);
    try {
      const r = await mkAsync(proj.dir, ['sign', c.ref, '--key', file, '--force']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr.split('\n')).toContain(warning);
      // And where mk signs by itself: mk push with signing.key set.
      const p = await mkAsync(proj.dir, ['push', '-r', 'lay']);
      expect(p.status, p.stderr).toBe(0);
      expect(p.stderr.split('\n')).toContain(warning);
    } finally {
      chmodSync(file, 0o600);
    }
    const quiet = await mkAsync(proj.dir, ['sign', c.ref, '--key', file, '--force']);
    expect(quiet.stderr).not.toMatch(/warning/);
  });

  it('refuses a provenance for another commit, signed with the right key', async () => {
    const c = layoutCopy('other-commit');
    const store = openLayoutStore(c.dir);
    const desc = await store.resolve(commit);
    const manifest = JSON.parse(readFileSync(join(c.dir, 'blobs', 'sha256', desc.digest.slice(7)), 'utf8'));
    const st = provenanceStatement({ name: 'proj', manifest: desc, layers: manifest.layers, commit: 'f'.repeat(40), builderVersion: '0.1.0' });
    const bytes = await signStatement(st, readSigningKey(`${key}.key`));
    // In place of the good one (beside it, it would be ignored: see the next test).
    await dropSignatures(store, desc, SLSA_PREDICATE);
    await attachReferrers(store, desc, [{ artifactType: BUNDLE_MEDIA_TYPE, layers: [{ mediaType: BUNDLE_MEDIA_TYPE, bytes }], annotations: { [PREDICATE]: SLSA_PREDICATE } }]);
    const j = await verifyJson(c.ref, `${key}.pub`);
    expect(j.ok).toBe(false);
    expect(problems(j)).toEqual({ provenance: expect.stringMatching(new RegExp(`the provenance is for commit ffffffffffff, not ${commit.slice(0, 12)}`)) });
    // A good signature for another manifest is refused in the same way (statement, not bytes).
    const d2 = layoutCopy('other-manifest');
    const s2 = openLayoutStore(d2.dir);
    const bytes2 = await signStatement(manifestStatement('proj', { digest: `sha256:${'0'.repeat(64)}` }), readSigningKey(`${key}.key`));
    await dropSignatures(s2, desc, COSIGN_SIGN_PREDICATE);
    await attachReferrers(s2, desc, [{ artifactType: BUNDLE_MEDIA_TYPE, layers: [{ mediaType: BUNDLE_MEDIA_TYPE, bytes: bytes2 }] }]);
    expect(problems(await verifyJson(d2.ref, `${key}.pub`)).signature).toMatch(/it signs sha256:000000000000, not this manifest/);
  });

  it('model_signing verify key accepts the tree mk and kit unpack, and refuses it after one byte changes', async () => {
    const sig = join(tmp.dir, 'model.sig');
    const byMk = join(tmp.dir, 'unpacked-mk');
    await mkOk(tmp.dir, ['modelkit', 'unpack', `${repoRef}:${commit}`, '-d', byMk, '--signature', sig], { MK_CACHE_DIR: join(tmp.dir, 'unpack-cache') });
    const ms = (dir: string) => runAsync(peer('model_signing'), ['verify', 'key', '--signature', sig, '--public_key', `${key}.pub`, dir]);
    const ok = await ms(byMk);
    expect(ok.status, ok.stderr + ok.stdout).toBe(0);
    expect(ok.stdout).toContain('Verification succeeded');
    const byKit = join(tmp.dir, 'unpacked-kit');
    await kit(kitHome, 'unpack', `${repoRef}:${commit}`, '--plain-http', '-d', byKit);
    const kitOk = await ms(byKit);
    expect(kitOk.status, kitOk.stderr + kitOk.stdout).toBe(0);
    // mk's payload is model_signing's own: signing the unpacked tree with model_signing lists the
    // same files, in the same order, with the same root digest.
    const theirs = join(tmp.dir, 'theirs.sig');
    const own = await runAsync(peer('model_signing'), ['sign', 'key', '--private_key', `${key}.key`, '--signature', theirs, byMk]);
    expect(own.status, own.stderr + own.stdout).toBe(0);
    const payload = (file: string) => JSON.parse(Buffer.from(JSON.parse(readFileSync(file, 'utf8')).dsseEnvelope.payload, 'base64').toString('utf8'));
    const [ours, reference] = [payload(sig), payload(theirs)];
    expect(ours.predicate.resources).toEqual(reference.predicate.resources);
    expect(ours.subject[0].digest).toEqual(reference.subject[0].digest);
    expect(ours.predicateType).toBe(reference.predicateType);
    // The other key is refused.
    const wrongKey = await runAsync(peer('model_signing'), ['verify', 'key', '--signature', sig, '--public_key', `${other}.pub`, byMk]);
    expect(wrongKey.status).not.toBe(0);
    // One byte of one file (deep in the dataset, a file of a pack).
    const pick = (dir: string): string => {
      for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const p = join(dir, e.name);
        const found = e.isDirectory() ? pick(p) : e.name.endsWith('.jsonl') ? p : '';
        if (found) return found;
      }
      return '';
    };
    const file = pick(join(byKit, 'data', 'ds'));
    expect(file).not.toBe('');
    const b = readFileSync(file);
    b[0] ^= 1;
    writeFileSync(file, b);
    const bad = await ms(byKit);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr + bad.stdout).toContain('Hash mismatch');
  });

  it('signatures survive oras copy -r: the copy verifies, and oras discover lists them there', async () => {
    const copy = join(tmp.dir, 'oras-copy');
    await oras(orasHome, 'cp', '-r', '--from-plain-http', `${repoRef}:${commit}`, '--to-oci-layout', `${copy}:${commit}`);
    const r = await mkAsync(tmp.dir, ['verify', `oci:${copy}:${commit}`, '--key', `${key}.pub`], { MK_CACHE_DIR: join(tmp.dir, 'copy-cache') });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const tree = JSON.parse((await oras(orasHome, 'discover', '--format', 'json', '--oci-layout', `${copy}:${commit}`)).stdout) as { referrers: Array<{ artifactType: string }> };
    expect(tree.referrers.filter((x) => x.artifactType === BUNDLE_MEDIA_TYPE)).toHaveLength(3);
    // And to another repository of the registry.
    await oras(orasHome, 'cp', '-r', '--from-plain-http', '--to-plain-http', `${repoRef}:${commit}`, `${reg.host}/mirror/proj:${commit}`);
    const m = await mkAsync(tmp.dir, ['verify', `${reg.host}/mirror/proj:${commit}`, '--key', `${key}.pub`], { MK_CACHE_DIR: join(tmp.dir, 'copy-cache') });
    expect(m.status, m.stdout + m.stderr).toBe(0);
  });

  it('mk sign signs a ModelKit published unsigned; verify_signatures makes pull, checkout, the hooks and unpack refuse an unsigned one', async () => {
    // Git hooks in place (post-checkout is one); a signed commit (the remotes committed), then
    // one published with no key configured.
    expect(mkRun(proj.dir, ['install']).status).toBe(0);
    writeFileSync(join(proj.dir, 'src', 'more.py'), 'print(2)\n');
    git(proj.dir, 'add', '-A');
    git(proj.dir, 'commit', '-q', '-m', 'more code');
    const signedCommit = git(proj.dir, 'rev-parse', 'HEAD').trim();
    // git push: the pre-push hook publishes the ModelKit, and signs it.
    const pushed = gitRun(proj.dir, ['push', '-q', 'origin', 'main']);
    expect(pushed.status, pushed.stderr).toBe(0);
    expect((await verifyJson(signedCommit, `${key}.pub`)).ok).toBe(true);
    appendFileSync(join(proj.dir, LABELS), '4,fish\n');
    mk(proj.dir, 'add', LABELS);
    git(proj.dir, 'add', '-A');
    git(proj.dir, 'commit', '-q', '-m', 'more labels');
    const next = git(proj.dir, 'rev-parse', 'HEAD').trim();
    const config = join(proj.dir, '.git', 'mk', 'config.yaml');
    const original = readFileSync(config, 'utf8');
    writeFileSync(config, original.replace(/signing:\n {2}key: .*\n/, ''));
    await mkOk(proj.dir, ['push']);
    expect((await verifyJson('HEAD', `${key}.pub`)).ok).toBe(false);
    // The team requires signatures by the team key.
    appendFileSync(config, `verify_signatures:\n  key: ${key}.pub\n`);
    const refusedLine = /^mk: refusing the ModelKit of [0-9a-f]{12} on 'origin': signature: not signed \(verify_signatures: .*team\.pub\)\nhint: /;
    for (const args of [['pull'], ['checkout'], ['modelkit', 'unpack', 'HEAD', '-d', join(tmp.dir, 'refused')]]) {
      const r = mkRun(proj.dir, args);
      expect(r.status, `mk ${args.join(' ')}: ${r.stdout}`).toBe(1);
      expect(r.stderr, `mk ${args.join(' ')}`).toMatch(refusedLine);
    }
    expect(() => statSync(join(tmp.dir, 'refused'))).toThrow();
    // The post-checkout hook: git moves, mk refuses to bring in the unsigned revision's data.
    const gitCheckout = (rev: string) => gitRun(proj.dir, ['checkout', '-q', rev]);
    const back = gitCheckout(signedCommit); // signed by the team key: its data comes back
    expect(back.status).toBe(0);
    expect(back.stderr).toBe('mk: restored the data of 1 artifact(s)\n');
    expect(readFileSync(join(proj.dir, LABELS), 'utf8')).not.toContain('fish');
    const hook = gitCheckout('main');
    expect(hook.stderr).toMatch(/refusing the ModelKit of [0-9a-f]{12} on 'origin': signature: not signed/);
    expect(readFileSync(join(proj.dir, LABELS), 'utf8')).not.toContain('fish');
    // Signed by the team key: everything proceeds.
    const signed = await mkJsonAsync(proj.dir, ['sign', next, '--key', `${key}.key`]);
    expect(signed.referrers).toHaveLength(3);
    expect(signed.read.every((l: { size: number }) => l.size < 64 * 1024)).toBe(true); // code layers only: no data read again
    expect(mkRun(proj.dir, ['pull']).status).toBe(0);
    expect(mkRun(proj.dir, ['checkout']).status).toBe(0);
    expect(readFileSync(join(proj.dir, LABELS), 'utf8')).toContain('fish');
    // Another key's signature is not enough.
    writeFileSync(config, original.replace(/signing:\n {2}key: .*\n/, '') + `verify_signatures:\n  key: ${other}.pub\n`);
    expect(mkRun(proj.dir, ['pull']).stderr).toMatch(/^mk: refusing .*signature: signed with another key only/);
    writeFileSync(config, original);
  });
  it('a ModelPack (modelkits: {format: modelpack}) is signed and verified the same way', async () => {
    const mp = makeProject();
    try {
      appendFileSync(join(mp.dir, '.mk/config.yaml'), 'modelkits:\n  format: modelpack\n');
      appendFileSync(join(mp.dir, '.git', 'mk', 'config.yaml'), `signing:\n  key: ${key}.key\n`);
      mk(mp.dir, 'remote', 'add', 'origin', `oci://${reg.host}/team/modelpack-signed`);
      git(mp.dir, 'commit', '-q', '-am', 'publish as ModelPack');
      expect(await mkOk(mp.dir, ['push'])).toMatch(/signed \(signature, files, provenance\)/);
      const head = git(mp.dir, 'rev-parse', 'HEAD').trim();
      const r = await mkAsync(mp.dir, ['verify', 'HEAD', '--key', `${key}.pub`]);
      expect(r.status, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toMatch(/OK {2}files {6}every file kit unpack writes/);
      // And model_signing accepts the tree kit unpacks from it.
      const tree = join(tmp.dir, 'modelpack-tree');
      const sig = join(tmp.dir, 'modelpack.sig');
      await mkOk(tmp.dir, ['modelkit', 'unpack', `${reg.host}/team/modelpack-signed:${head}`, '-d', tree, '--signature', sig], { MK_CACHE_DIR: join(tmp.dir, 'mp-cache') });
      const ok = await runAsync(peer('model_signing'), ['verify', 'key', '--signature', sig, '--public_key', `${key}.pub`, tree]);
      expect(ok.status, ok.stderr + ok.stdout).toBe(0);
    } finally {
      mp.cleanup();
    }
  });

  it('mk modelkit copy of a commit keeps the signatures its publication carries: the copy verifies with the key', async () => {
    const dst = join(tmp.dir, 'copy-of-commit');
    expect(await mkOk(proj.dir, ['modelkit', 'copy', commit, `oci:${dst}:kept`])).toMatch(/; [1-9]\d* referrer\(s\) from 'origin'\)$/m);
    const r = await mkAsync(proj.dir, ['verify', `oci:${dst}:kept`, '--key', `${key}.pub`]);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/OK {2}provenance/);
  });

  it('the pre-push hook says it signed each ModelKit it published', () => {
    writeFileSync(join(proj.dir, 'notes.txt'), 'published by the hook\n');
    git(proj.dir, 'add', 'notes.txt');
    git(proj.dir, 'commit', '-q', '-m', 'pushed with git');
    const r = gitRun(proj.dir, ['push', 'origin', 'main']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^mk: published ModelKit sha256:[0-9a-f]{12} as [0-9a-f]{40}, main, signed \(signature, files, provenance\)$/m);
  });
});
