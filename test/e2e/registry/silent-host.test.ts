/**
 * A registry host that accepts connections and never answers costs a command one allowance
 * (MK_REGISTRY_TIMEOUT, a deadline for the whole operation: every try, every store, every
 * reference), not 60 s per try times the tries times each reference; the one-line error names
 * the host. A host that answers slowly but keeps sending is never cut. Real sockets: a server
 * that accepts and stays silent, one that trickles a blob, and a real registry holding a
 * ModelKit whose Kitfile names models on the silent host.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAll } from '../../../src/content/storage.js';
import { isMkError, type MkError } from '../../../src/errors/index.js';
import { sha256 } from '../../../src/hashing/digest.js';
import { anonymous, RegistryStore } from '../../../src/stores/registry/index.js';
import { AnswerDeadline } from '../../../src/stores/registry/deadline.js';
import { put } from '../../support/files.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { expectMkError, git, makeRepo, mk, tempDir } from '../../support/repo.js';
import { mkAsync, mkJsonAsync } from '../modelkit/tools.js';

/** Accepts connections, reads whatever comes (counting the requests), and never writes a byte. */
async function silentServer(): Promise<{ host: string; requests: () => number; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('data', (d: Buffer) => (requests += (d.toString('latin1').match(/^[A-Z]+ \/\S* HTTP\/1\.1\r$/gm) ?? []).length));
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    requests: () => requests,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function failure(p: Promise<unknown>): Promise<MkError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(isMkError(e), `expected an MkError, got ${String(e)}`).toBe(true);
  return e as MkError;
}

describe('a registry host that never answers', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  const stores: RegistryStore[] = [];
  const open = (host: string, deadline: AnswerDeadline) => {
    const s = new RegistryStore({ host, repository: 'x/y', credentials: anonymous, deadline, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
    stores.push(s);
    return s;
  };
  beforeAll(async () => {
    silent = await silentServer();
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await silent?.stop();
  });

  it('fails once the allowance is used, over every try, naming the host; later waits on it in the same command fail at once', async () => {
    const deadline = new AnswerDeadline(400);
    const err = await failure(open(silent.host, deadline).resolve('v1'));
    expect(err.code).toBe('ETIMEOUT');
    expect(err.message).toContain(`no answer from ${silent.host}`);
    expect(err.message).not.toMatch(/[\r\n]/);
    expect(err.hint).toContain('MK_REGISTRY_TIMEOUT');
    // The allowance spans the tries: the first try was not followed by more.
    expect(silent.requests()).toBe(1);
    // Another store of the same command (another reference to the host): refused without a new wait.
    const again = await failure(open(silent.host, deadline).resolve('v2'));
    expect(again.code).toBe('ETIMEOUT');
    expect(silent.requests()).toBe(1);
  });

  it('a slow download that keeps sending is never cut, though it takes longer than the allowance', async () => {
    const blob = Buffer.alloc(40 * 1024, 7);
    const digest = sha256(blob);
    const slices = 40;
    let timer: NodeJS.Timeout | undefined;
    const server: HttpServer = createHttpServer((req, res) => {
      if (req.url !== `/v2/x/y/blobs/${digest}`) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': String(blob.length), 'content-type': 'application/octet-stream' });
      let i = 0;
      // A slice every 50 ms: 2 s in all, four times the allowance, never silent for long.
      timer = setInterval(() => {
        res.write(blob.subarray((i * blob.length) / slices, ((i + 1) * blob.length) / slices));
        if (++i === slices) {
          clearInterval(timer);
          res.end();
        }
      }, 50);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
      const got = await readAll(await open(host, new AnswerDeadline(500)).fetch({ mediaType: 'application/octet-stream', digest, size: blob.length }));
      expect(got.equals(blob)).toBe(true);
    } finally {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('mk modelkit unpack of a ModelKit whose Kitfile names a host that never answers', () => {
  const tmp = tempDir('mk-silent-');
  let reg: RunningRegistry;
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let repo: { dir: string; cleanup: () => void };
  let ref: string;

  beforeAll(async () => {
    reg = await startRegistry();
    silent = await silentServer();
    repo = makeRepo();
    // Its model is a ModelKit on the silent host.
    put(join(repo.dir, 'Kitfile'), `manifestVersion: "1.0"\npackage:\n  name: tuned\nmodel:\n  name: tuned\n  path: ${silent.host}/vendor/base:v1\ndocs:\n  - path: README.md\n`);
    put(join(repo.dir, 'README.md'), 'readme\n');
    mk(repo.dir, 'remote', 'add', 'origin', `oci://${reg.host}/team/tuned`);
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-q', '-m', 'tuned');
    ref = `${reg.host}/team/tuned:${(await mkJsonAsync(repo.dir, ['push'])).modelkits[0].commit as string}`;
  }, 120_000);
  afterAll(async () => {
    repo?.cleanup();
    await silent?.stop();
    await reg?.stop();
    tmp.cleanup();
  });

  it('fails in one line naming the silent host once the allowance the command was given is used, and writes nothing', async () => {
    const out = join(tmp.dir, 'out');
    const r = await mkAsync(tmp.dir, ['modelkit', 'unpack', ref, '-d', out], { MK_REGISTRY_TIMEOUT: '1.5', MK_CACHE_DIR: join(tmp.dir, 'cache') });
    expect(expectMkError(r)).toMatch(new RegExp(`no answer from ${silent.host.replace(/\./g, '\\.')} for 1\\.5s, over every try`));
    expect(r.stderr).toMatch(/^hint: check that 127\.0\.0\.1:\d+ is up and reachable/m);
    expect(silent.requests()).toBe(1);
    expect(existsSync(out)).toBe(false);
    // --json: the same, as data.
    const j = await mkAsync(tmp.dir, ['modelkit', 'unpack', ref, '-d', out, '--json'], { MK_REGISTRY_TIMEOUT: '0.5', MK_CACHE_DIR: join(tmp.dir, 'cache') });
    expect(j.status).toBe(1);
    expect(JSON.parse(j.stdout).error.code).toBe('ETIMEOUT');
    // A value that is not a number of seconds is a usage error.
    const bad = await mkAsync(tmp.dir, ['modelkit', 'unpack', ref, '-d', out], { MK_REGISTRY_TIMEOUT: 'soon', MK_CACHE_DIR: join(tmp.dir, 'cache') });
    expect(expectMkError(bad)).toMatch(/MK_REGISTRY_TIMEOUT must be a number of seconds/);
    expect(bad.status).toBe(2);
  });
});
