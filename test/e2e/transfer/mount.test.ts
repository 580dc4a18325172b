/**
 * Cross-repository mount on `mk push`: a push to a repository of a registry that already holds
 * the data in another repository (the project's other remote there, or one named in the
 * remote's `mount_from`) asks the registry to mount each blob instead of sending its bytes.
 * Counted through the recording proxy in front of a real registry: bytes sent in upload
 * requests (PUT/PATCH bodies), and the mount requests themselves.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, randomBytesFrom, rng } from '../../support/files.js';
import { startFaultProxy, type FaultProxy, type RecordedRequest } from '../../support/fault-proxy.js';
import { mkAsync } from '../modelkit/tools.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { git, makeRepo, mk } from '../../support/repo.js';

let reg: RunningRegistry;
let proxy: FaultProxy;
let repo: { dir: string; cleanup: () => void };
const MODEL_BYTES = 3 * 1024 * 1024 + 11;

async function run(cwd: string, args: string[]): Promise<string> {
  // Through the proxy, which runs in this process: mk must run without blocking it.
  const r = await mkAsync(cwd, args);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** Bytes sent in blob upload bodies to `repository`, and its upload POSTs. */
function uploads(repository: string): { bytes: number; posts: RecordedRequest[] } {
  const mine = proxy.requests.filter((q) => q.origin === 'proxy' && q.url.startsWith(`/v2/${repository}/blobs/uploads/`));
  const bytes = mine.filter((q) => q.method === 'PUT' || q.method === 'PATCH').reduce((n, q) => n + Number(q.headers['content-length'] ?? 0), 0);
  return { bytes, posts: mine.filter((q) => q.method === 'POST') };
}

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.url);
  repo = makeRepo();
  appendFileSync(join(repo.dir, '.mk/config.yaml'), 'storage:\n  pack_target: 64KiB\n  raw_threshold: 256KiB\n');
  const rand = rng(3);
  put(join(repo.dir, 'models/model.bin'), randomBytesFrom(rand, MODEL_BYTES));
  for (let i = 0; i < 200; i++) put(join(repo.dir, `data/imgs/${i % 7}/img-${i}.png`), randomBytesFrom(rand, 900 + i));
  mk(repo.dir, 'add', 'models/model.bin', 'data/imgs');
  mk(repo.dir, 'remote', 'add', 'origin', `oci://${proxy.host}/team/a`);
  git(repo.dir, 'add', '-A');
  git(repo.dir, 'commit', '-q', '-m', 'model and images');
  await run(repo.dir, ['push']);
});
afterAll(async () => {
  repo?.cleanup();
  await proxy?.stop();
  await reg?.stop();
});

describe('mk push mounts blobs another repository of the same registry holds', () => {
  it('the project pushed to team/a: a push to its second remote on that registry (team/b) mounts every blob, no byte sent again', async () => {
    // The first push (to team/a) sent every byte: that is what the proxy counts.
    expect(uploads('team/a').bytes).toBeGreaterThan(MODEL_BYTES);
    mk(repo.dir, 'remote', 'add', 'mirror', `oci://${proxy.host}/team/b`);
    proxy.clear();
    const said = await run(repo.dir, ['push', '--remote', 'mirror']);
    const { bytes, posts } = uploads('team/b');
    // The summary counts mounted blobs apart from those sent (the bytes are the manifests, which are never mounted).
    expect(said).toMatch(/^pushed 0 blob\(s\), [0-9.]+ (B|KiB) to 'mirror' \([1-9]\d* mounted from another repository of the registry, \d+ already there\)/m);
    expect(posts.length).toBeGreaterThan(5); // model, packs, file lists, root, config...
    for (const q of posts) expect(q.url).toMatch(/[?&]mount=sha256%3A[0-9a-f]{64}&from=team%2Fa/);
    expect(bytes).toBe(0);
    // And it is all there: the ModelKit on team/b verifies against the commit.
    await run(repo.dir, ['verify', 'HEAD', '--remote', 'mirror']);
  });

  it('mount_from names the source repositories, tried in order: one that lacks the blob is skipped (its upload session cancelled), the next mounts it', async () => {
    // Only this remote in the config: the data is known to be in team/a because mount_from says so.
    const cfg = join(repo.dir, '.mk/config.yaml');
    const before = readFileSync(cfg, 'utf8');
    try {
      writeFileSync(
        cfg,
        `${before.replace(/\nremotes:[\s\S]*$/, '\n')}remotes:\n  shared:\n    url: oci://${proxy.host}/team/c\n    mount_from: [team/nothing-here, team/a]\ndefault_remote: shared\n`,
      );
      proxy.clear();
      await run(repo.dir, ['push']);
      const { bytes, posts } = uploads('team/c');
      expect(bytes).toBe(0);
      const from = (q: RecordedRequest) => decodeURIComponent(/[?&]from=([^&]+)/.exec(q.url)?.[1] ?? '');
      const tried = posts.map(from);
      expect(tried.filter((f) => f === 'team/a').length).toBeGreaterThan(5);
      expect(tried.filter((f) => f === 'team/nothing-here').length).toBe(tried.filter((f) => f === 'team/a').length);
      expect(tried.every((f) => f === 'team/a' || f === 'team/nothing-here')).toBe(true);
      // Each session the failed mount opened was cancelled.
      const cancelled = proxy.requests.filter((q) => q.origin === 'proxy' && q.method === 'DELETE' && q.url.startsWith('/v2/team/c/blobs/uploads/'));
      expect(cancelled.length).toBe(tried.filter((f) => f === 'team/nothing-here').length);
      await run(repo.dir, ['verify', 'HEAD']);
    } finally {
      writeFileSync(cfg, before);
    }
  });

  it('a repository name in mount_from that is not one is refused in one line', async () => {
    const cfg = join(repo.dir, '.mk/config.yaml');
    const before = readFileSync(cfg, 'utf8');
    try {
      writeFileSync(cfg, `${before.replace(/\nremotes:[\s\S]*$/, '\n')}remotes:\n  shared:\n    url: oci://${proxy.host}/team/c\n    mount_from: [../etc]\n`);
      const r = await mkAsync(repo.dir, ['push', '--remote', 'shared']);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/mount_from: expected repository names/);
    } finally {
      writeFileSync(cfg, before);
    }
  });
});
