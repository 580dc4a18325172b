/**
 * CI credentials (MK_REGISTRY_USERNAME / _PASSWORD / _TOKEN) belong to one registry host: the one
 * the user chose (the registry named on the command line, the mk remote's) or MK_REGISTRY_HOST.
 * A ModelKit on that registry whose Kitfile names a model on another host makes
 * `mk modelkit unpack` talk to that other host too; it must never receive them: not as Basic
 * after a 401, not at its token realm, not as a raw Bearer. Real registries: the chosen one with
 * token auth, the "other hosts" (one with token auth and anonymous pull, one with htpasswd Basic)
 * behind recording proxies, each with a token issuer that records what it was sent.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.js';
import { put, randomBytesFrom, rng } from '../../support/files.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { git, makeRepo, mk, tempDir } from '../../support/repo.js';
import { startTokenIssuer, type TokenIssuer } from '../../support/token-issuer.js';
import { folderMaker, mkAsync, mkJsonAsync } from '../modelkit/tools.js';

const CI_USER = 'ci-bot';
const CI_PASSWORD = 'ci-Secret-4471-never-elsewhere';
const OWNER_PASSWORD = 'owner-pw-2209';

describe('environment credentials stay with the host the user chose', () => {
  const tmp = tempDir('mk-credscope-');
  const fresh = folderMaker(tmp.dir);
  let issuerA: TokenIssuer;
  let regA: RunningRegistry;
  let issuerB: TokenIssuer;
  let regB: RunningRegistry;
  let proxyB: FaultProxy;
  let regC: RunningRegistry;
  let proxyC: FaultProxy;
  const repos: Array<{ cleanup: () => void }> = [];
  let baseWeights: Buffer;
  /** ModelKits on A: one whose model is a ModelKit on B (token auth), one whose model is on C (Basic). */
  let onA: { viaToken: string; viaBasic: string };
  const ciEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    MK_REGISTRY_USERNAME: CI_USER,
    MK_REGISTRY_PASSWORD: CI_PASSWORD,
    MK_REGISTRY_TOKEN: undefined,
    MK_REGISTRY_HOST: undefined,
    DOCKER_CONFIG: join(tmp.dir, 'no-docker-config'),
    ...extra,
  });
  /** The same, for mk outside a repository (a cache of its own each time). */
  const outside = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ciEnv({ MK_CACHE_DIR: fresh('cache'), ...extra });
  const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

  /** A project whose only model is `weights.bin`, pushed with mk to `remote` (credentials for that host only). */
  async function pushProject(remote: string, env: NodeJS.ProcessEnv, kitfile?: string): Promise<string> {
    const repo = makeRepo();
    repos.push(repo);
    if (kitfile) put(join(repo.dir, 'Kitfile'), kitfile);
    else {
      put(join(repo.dir, 'weights.bin'), baseWeights);
      mk(repo.dir, 'add', '--kind', 'model', 'weights.bin');
    }
    put(join(repo.dir, 'README.md'), 'readme\n');
    mk(repo.dir, 'remote', 'add', 'origin', `oci://${remote}`);
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-q', '-m', 'publish');
    const r = await mkJsonAsync(repo.dir, ['push'], env);
    return `${remote}:${r.modelkits[0].commit as string}`;
  }

  beforeAll(async () => {
    baseWeights = randomBytesFrom(rng(5), 64 * 1024 + 3);
    issuerA = await startTokenIssuer({ users: { [CI_USER]: CI_PASSWORD } });
    regA = await startRegistry({ token: issuerA });
    issuerB = await startTokenIssuer({ users: { owner: OWNER_PASSWORD }, anonymousPull: true });
    regB = await startRegistry({ token: issuerB });
    proxyB = await startFaultProxy(regB.url);
    regC = await startRegistry({ htpasswd: [{ username: 'owner', password: OWNER_PASSWORD }] });
    proxyC = await startFaultProxy(regC.url);
    // The base models, published by their owners (credentials for their host only).
    const owner = (host: string) => ciEnv({ MK_REGISTRY_USERNAME: 'owner', MK_REGISTRY_PASSWORD: OWNER_PASSWORD, MK_REGISTRY_HOST: host });
    const baseB = await pushProject(`${proxyB.host}/vendor/base`, owner(proxyB.host));
    const baseC = await pushProject(`${proxyC.host}/vendor/base`, owner(proxyC.host));
    // The team's ModelKits on A, pushed by CI with the environment credentials (A is the remote: it gets them).
    const kitfile = (model: string) => `manifestVersion: "1.0"\npackage:\n  name: tuned\nmodel:\n  name: tuned\n  path: ${model}\ndocs:\n  - path: README.md\n`;
    onA = {
      viaToken: await pushProject(`${regA.host}/team/tuned`, ciEnv(), kitfile(baseB)),
      viaBasic: await pushProject(`${regA.host}/team/tuned-basic`, ciEnv(), kitfile(baseC)),
    };
    proxyB.clear();
    proxyC.clear();
    issuerB.requests.length = 0;
  }, 180_000);

  afterAll(async () => {
    for (const r of repos) r.cleanup();
    await Promise.all([proxyB?.stop(), proxyC?.stop()]);
    await Promise.all([regA?.stop(), regB?.stop(), regC?.stop()]);
    await Promise.all([issuerA?.stop(), issuerB?.stop()]);
    tmp.cleanup();
  });

  /** Every Authorization header the other hosts (and B's token server) were sent. */
  const sentElsewhere = (): string[] =>
    [...proxyB.requests, ...proxyC.requests]
      .map((r) => r.headers.authorization)
      .concat(issuerB.requests.map((r) => r.authorization))
      .filter((a): a is string => a !== undefined);

  it('username and password: the chosen registry gets them; the host the Kitfile names, and its token server, never do', async () => {
    const out = fresh('unpacked');
    const r = await mkAsync(tmp.dir, ['modelkit', 'unpack', onA.viaToken, '-d', out], outside());
    expect(r.status, r.stderr).toBe(0);
    // The referenced model came, anonymously (B allows anonymous pull).
    expect(readFileSync(join(out, 'weights.bin')).equals(baseWeights)).toBe(true);
    // A asked for credentials and got them (its token server issued a token to the CI user).
    expect(issuerA.requests.some((q) => q.user === CI_USER && q.status === 200)).toBe(true);
    // B's registry and B's token realm saw no credential at all.
    expect(proxyB.requests.length).toBeGreaterThan(0);
    expect(issuerB.requests.length).toBeGreaterThan(0);
    expect(sentElsewhere().filter((a) => a.startsWith('Basic '))).toEqual([]);
    expect(JSON.stringify(sentElsewhere())).not.toContain(Buffer.from(`${CI_USER}:${CI_PASSWORD}`).toString('base64'));
  });

  it('a Basic registry named by the Kitfile gets no Basic credentials: its 401 stays a one-line refusal naming it', async () => {
    proxyC.clear();
    const r = await mkAsync(tmp.dir, ['modelkit', 'unpack', onA.viaBasic, '-d', fresh('basic')], outside());
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^mk: .*${proxyC.host.replace(/\./g, '\\.')}.*401`, 'm'));
    expect(proxyC.requests.length).toBeGreaterThan(0);
    expect(proxyC.requests.map((q) => q.headers.authorization).filter(Boolean)).toEqual([]);
    expect(sentElsewhere()).not.toContain(basic(CI_USER, CI_PASSWORD));
  });

  it('a registry token (MK_REGISTRY_TOKEN) is never sent as a raw Bearer to the other host', async () => {
    const token = issuerA.issue(CI_USER, ['repository:team/tuned:pull']);
    proxyB.clear();
    issuerB.requests.length = 0;
    const out = fresh('token');
    const r = await mkAsync(tmp.dir, ['modelkit', 'unpack', onA.viaToken, '-d', out], outside({ MK_REGISTRY_USERNAME: undefined, MK_REGISTRY_PASSWORD: undefined, MK_REGISTRY_TOKEN: token }));
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'weights.bin')).equals(baseWeights)).toBe(true);
    expect(proxyB.requests.length).toBeGreaterThan(0);
    expect(sentElsewhere().filter((a) => a.includes(token))).toEqual([]);
  });

  it('MK_REGISTRY_HOST pins them: another registry typed on the command line gets none either', async () => {
    proxyB.clear();
    issuerB.requests.length = 0;
    // Pinned to A: unpacking straight from B (anonymous pull) works, and B sees no credential.
    const viaB = `${proxyB.host}/vendor/base`;
    const tags = (await mkJsonAsync(tmp.dir, ['modelkit', 'list', viaB], outside({ MK_REGISTRY_HOST: regA.host }))).modelkits as Array<{ tags: string[] }>;
    expect(tags.length).toBe(1);
    expect(sentElsewhere()).toEqual(expect.not.arrayContaining([basic(CI_USER, CI_PASSWORD)]));
    expect(issuerB.requests.every((q) => q.authorization === undefined)).toBe(true);
    // Pinned to B, A (which needs them) gets none: its refusal names A.
    const r = await mkAsync(tmp.dir, ['modelkit', 'unpack', onA.viaToken, '-d', fresh('pinned')], outside({ MK_REGISTRY_HOST: proxyB.host }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(regA.host);
  });
});
