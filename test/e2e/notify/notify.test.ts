/**
 * Notifications (`notify:` in .mk/config.yaml): after each publish, the teams downstream get an
 * event naming the commit, the ModelKit, who pushed, what data changed and how params and
 * metrics moved, as mk's JSON or an OpenLineage RunEvent. Against real HTTP servers in this
 * process: one that answers, one that is down, one too slow, one that fails once. A push never
 * fails because of them.
 */
import { createHmac } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { put, randomBytesFrom, rng } from '../../support/files.js';
import { git, makeRepo, mk, tempDir } from '../../support/repo.js';
import { gitRunAsync } from '../git/support.js';
import { mkAsync, mkJsonAsync } from '../modelkit/tools.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  json: any;
}

/** An HTTP server on a free loopback port that records each request; `answer` decides the reply. */
async function server(answer: (n: number) => { status: number; delayMs?: number; headers?: Record<string, string> } | 'hang'): Promise<{ url: string; got: Received[]; close: () => Promise<void> }> {
  const got: Received[] = [];
  const s: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      got.push({ headers: req.headers, body, json });
      const a = answer(got.length);
      if (a === 'hang') return; // never answers
      setTimeout(() => res.writeHead(a.status, a.headers).end('ok'), a.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/hooks/models`,
    got,
    close: () =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  };
}

const SECRET = 'tell-no-one';
let repo: { dir: string; cleanup: () => void };
const tmp = tempDir('mk-notify-');
let cfg: string;
let base: string;

function setNotify(yaml: string): void {
  writeFileSync(cfg, base + yaml);
}

/** A new commit that changes one file of the folder, the model, a param and a metric. */
let round = 0;
function change(): void {
  round++;
  put(join(repo.dir, 'data/imgs/a/0.png'), randomBytesFrom(rng(100 + round), 700));
  put(join(repo.dir, 'models/model.bin'), randomBytesFrom(rng(200 + round), 40_000));
  writeFileSync(join(repo.dir, 'params.yaml'), `train:\n  lr: ${0.1 * (round + 1)}\n  epochs: 3\n`);
  writeFileSync(join(repo.dir, 'metrics.json'), JSON.stringify({ accuracy: 0.5 + round / 10 }));
  mk(repo.dir, 'add', 'data/imgs', 'models/model.bin');
  git(repo.dir, 'add', '-A');
  git(repo.dir, 'commit', '-q', '-m', `retrain ${round}`);
}

beforeAll(() => {
  repo = makeRepo();
  cfg = join(repo.dir, '.mk/config.yaml');
  appendFileSync(cfg, 'params: [params.yaml]\nmetrics: [metrics.json]\n');
  for (let i = 0; i < 30; i++) put(join(repo.dir, `data/imgs/${'abc'[i % 3]}/${i}.png`), randomBytesFrom(rng(i), 500 + i));
  put(join(repo.dir, 'models/model.bin'), randomBytesFrom(rng(99), 40_000));
  writeFileSync(join(repo.dir, 'params.yaml'), 'train:\n  lr: 0.1\n  epochs: 3\n');
  writeFileSync(join(repo.dir, 'metrics.json'), JSON.stringify({ accuracy: 0.5 }));
  mk(repo.dir, 'add', 'data/imgs', 'models/model.bin');
  mkdirSync(join(tmp.dir, 'layout'));
  mk(repo.dir, 'remote', 'add', 'origin', join(tmp.dir, 'layout'));
  git(repo.dir, 'add', '-A');
  git(repo.dir, 'commit', '-q', '-m', 'first');
  mk(repo.dir, 'push');
  base = git(repo.dir, 'show', 'HEAD:.mk/config.yaml');
});
afterAll(() => {
  repo?.cleanup();
  tmp.cleanup();
});
beforeEach(() => writeFileSync(cfg, base));

describe('notify: announces each publish', () => {
  it('a JSON webhook gets the commit, the ModelKit, who pushed, the data changed and the params and metrics that moved, with the secret and its signature', async () => {
    const hook = await server(() => ({ status: 204 }));
    try {
      setNotify(`notify:\n  url: ${hook.url}\n  secret_env: MK_NOTIFY_TOKEN\n`);
      change();
      const before = git(repo.dir, 'rev-parse', 'HEAD~1').trim();
      const r = await mkJsonAsync(repo.dir, ['push'], { MK_NOTIFY_TOKEN: SECRET });
      expect(hook.got).toHaveLength(1);
      const { headers, body, json: e } = hook.got[0]!;
      expect(headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(headers['x-mk-signature-256']).toBe(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
      expect(headers['x-mk-event']).toBe('mk.modelkit.published');
      expect(headers['x-mk-delivery']).toBe(e.id);
      expect(e).toMatchObject({ type: 'mk.modelkit.published', version: 1, base: before, ref: null, pushedBy: { name: 'Test', email: 'test@example.com' } });
      expect(e.commit).toMatchObject({ id: r.modelkits[0].commit, subject: `retrain ${round}`, author: { name: 'Test' } });
      expect(e.modelkit).toMatchObject({ digest: r.modelkits[0].digest, reference: `oci:${join(tmp.dir, 'layout')}:${r.modelkits[0].commit}` });
      // What `mk diff --stat` says between the two commits.
      expect(e.data.summary).toMatchObject({ artifacts: 2, modified: 2, added: 0, removed: 0 });
      expect(e.data.artifacts).toEqual([
        { path: 'data/imgs', change: 'modified', added: 0, removed: 0, modified: 1, renamed: 0 },
        { path: 'models/model.bin', change: 'modified', added: 0, removed: 0, modified: 1, renamed: 0 },
      ]);
      expect(e.params).toEqual([expect.objectContaining({ path: 'params.yaml', key: 'train.lr', old: 0.1, new: 0.2, status: 'changed' })]);
      expect(e.metrics).toEqual([expect.objectContaining({ path: 'metrics.json', key: 'accuracy', old: 0.5, new: 0.6, status: 'changed', change: 0.1 })]);
      expect(r.announced[0].deliveries[0]).toMatchObject({ delivered: true, attempts: 1, status: 204, to: new URL(hook.url).origin });
    } finally {
      await hook.close();
    }
  });

  it('an OpenLineage endpoint gets a COMPLETE RunEvent with the ModelKit as output', async () => {
    const ol = await server(() => ({ status: 201 }));
    try {
      setNotify(`notify:\n  - url: ${ol.url}\n    format: openlineage\n`);
      change();
      const said = await mkAsync(repo.dir, ['push']);
      expect(said.status, said.stderr).toBe(0);
      expect(said.stdout).toMatch(new RegExp(`^announced [0-9a-f]{12} to ${new URL(ol.url).origin} \\(openlineage\\)$`, 'm'));
      const e = ol.got[0]!.json;
      expect(e).toMatchObject({ eventType: 'COMPLETE', schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent', inputs: [] });
      expect(e.producer).toMatch(/^urn:mk:/);
      expect(e.run.runId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(e.job).toMatchObject({ name: 'publish' });
      const out = e.outputs[0];
      expect(out.namespace).toBe(`file://${join(tmp.dir, 'layout')}`);
      expect(out.name).toBe(git(repo.dir, 'rev-parse', 'HEAD').trim());
      expect(out.facets.mk_modelkit.digest).toMatch(/^sha256:/);
      expect(out.facets.version.datasetVersion).toBe(out.facets.mk_modelkit.digest);
      expect(out.facets.mk_changes.metrics[0]).toMatchObject({ key: 'accuracy' });
      for (const f of Object.values(out.facets) as Array<Record<string, string>>) expect(f._producer).toBe(e.producer);
    } finally {
      await ol.close();
    }
  });

  it('a target that is down, or answers too slowly, is retried then warned about; the push succeeds and the other target still gets it', async () => {
    const down = await server(() => ({ status: 200 }));
    const downUrl = down.url;
    await down.close(); // nothing listens there now
    const slow = await server(() => 'hang');
    const good = await server(() => ({ status: 200 }));
    try {
      setNotify(`notify:\n  - url: ${downUrl}\n    retries: 2\n  - url: ${slow.url}\n    timeout: 0.3\n    retries: 1\n  - ${good.url}\n`);
      change();
      const r = await mkAsync(repo.dir, ['push']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        new RegExp(`^mk: warning: could not announce [0-9a-f]{12} to ${new URL(downUrl).origin} \\(json\\): ECONNREFUSED, after 3 attempt\\(s\\); the push itself succeeded$`, 'm'),
      );
      expect(r.stderr).toMatch(new RegExp(`^mk: warning: could not announce [0-9a-f]{12} to ${new URL(slow.url).origin} \\(json\\): no answer within 0.3 s, after 2 attempt\\(s\\)`, 'm'));
      expect(slow.got).toHaveLength(2);
      // One event, retried: the receiver can drop the duplicate by its id.
      expect(slow.got[0]!.headers['x-mk-delivery']).toBe(slow.got[1]!.headers['x-mk-delivery']);
      expect(good.got).toHaveLength(1);
      expect(r.stdout).toMatch(/^ModelKit sha256:/m);
    } finally {
      await slow.close();
      await good.close();
    }
  });

  it('a 503 is retried (honouring Retry-After); a 400 is not; a secret is never sent to a target whose variable is unset', async () => {
    const flaky = await server((n) => (n === 1 ? { status: 503, headers: { 'retry-after': '0' } } : { status: 200 }));
    const refuses = await server(() => ({ status: 400 }));
    try {
      setNotify(`notify:\n  - url: ${flaky.url}\n    secret_env: MK_NOTIFY_UNSET\n  - url: ${refuses.url}\n`);
      change();
      const r = await mkJsonAsync(repo.dir, ['push']);
      const [a, b] = r.announced[0].deliveries;
      expect(a).toMatchObject({ delivered: true, attempts: 2, warning: 'MK_NOTIFY_UNSET is not set: sent without a secret' });
      expect(a.problem).toBeUndefined();
      expect(flaky.got[1]!.headers.authorization).toBeUndefined();
      expect(b).toMatchObject({ delivered: false, attempts: 1, status: 400, problem: 'answered 400' });
      expect(refuses.got).toHaveLength(1);
    } finally {
      await flaky.close();
      await refuses.close();
    }
  });

  it('the pre-push hook announces the head of the pushed branch, compared with what the branch was', async () => {
    const hook = await server(() => ({ status: 200 }));
    try {
      const bare = join(tmp.dir, 'origin.git');
      git(tmp.dir, 'init', '-q', '--bare', '-b', 'main', bare);
      git(repo.dir, 'remote', 'add', 'upstream', bare);
      mk(repo.dir, 'install');
      expect((await gitRunAsync(repo.dir, ['push', '-q', 'upstream', 'main'])).status).toBe(0);
      const was = git(repo.dir, 'rev-parse', 'HEAD').trim();
      setNotify(`notify: ${hook.url}\n`);
      git(repo.dir, 'commit', '-q', '-am', 'announce through git');
      change();
      change();
      const r = await gitRunAsync(repo.dir, ['push', 'upstream', 'main']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^mk: announced [0-9a-f]{12} to http:\/\/127\.0\.0\.1:\d+ \(json\)$/m);
      expect(hook.got).toHaveLength(1); // three new commits, one announcement: the branch's head
      const e = hook.got[0]!.json;
      expect(e).toMatchObject({ ref: 'refs/heads/main', base: was, commit: { id: git(repo.dir, 'rev-parse', 'HEAD').trim() } });
      expect(e.modelkit.tags).toEqual(expect.arrayContaining(['main']));
    } finally {
      await hook.close();
    }
  });

  it('refuses in one line a secret_env that is not an MK_NOTIFY_ variable, and credentials in the URL', async () => {
    setNotify('notify:\n  url: https://example.com/x\n  secret_env: AWS_SECRET_ACCESS_KEY\n');
    const a = await mkAsync(repo.dir, ['push']);
    expect(a.status).not.toBe(0);
    expect(a.stderr).toMatch(/^mk: .*config\.yaml: notify\.secret_env: 'AWS_SECRET_ACCESS_KEY' must be an environment variable named MK_NOTIFY_<NAME>$/m);
    setNotify('notify: https://user:pw@example.com/x\n');
    const b = await mkAsync(repo.dir, ['push']);
    expect(b.status).not.toBe(0);
    expect(b.stderr).toMatch(/notify\.url: no credentials in the URL/);
  });
});
