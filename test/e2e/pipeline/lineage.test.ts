/**
 * Lineage: the SLSA provenance of a pushed ModelKit names the pipeline stages that made the
 * commit's data, their commands, and the digests of every input (sha256 of each file, mk's
 * pointer digest for what mk tracks, DVC's md5 from dvc.lock, Git's ids); `mk verify --key`
 * shows it, and cosign's `verify-attestation --type slsaprovenance1` accepts the statement.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peer } from '../../support/peers.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { tempDir } from '../../support/repo.js';
import { g, mk, mkRun, newRepo } from '../git/support.js';
import { runAsync } from '../modelkit/tools.js';
import { writeProject } from './project.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface Stage {
  stage: string;
  cmd: string;
  deps: Array<{ path: string; digest: Record<string, string> }>;
  outs: Array<{ path: string; digest: Record<string, string> }>;
}

describe('lineage in the provenance of a pushed ModelKit', () => {
  const tmp = tempDir('mk-lineage-');
  const dir = join(tmp.dir, 'work');
  const key = join(tmp.dir, 'keys', 'team');
  const home = join(tmp.dir, 'home');
  let reg: RunningRegistry;
  let commit: string;
  let repoRef: string;

  beforeAll(async () => {
    reg = await startRegistry();
    repoRef = `${reg.host}/team/lineage`;
    mkdirSync(join(tmp.dir, 'keys'));
    mkdirSync(home);
    newRepo(dir, { filter: true });
    writeProject(dir);
    mk(dir, 'remote', 'add', 'origin', `oci://${repoRef}`);
    mk(dir, 'keygen', '--out', key);
    appendFileSync(join(dir, '.git', 'mk', 'config.yaml'), `signing:\n  key: ${key}.key\n`);
    const r = mkRun(dir, ['repro'], { TRACE: join(tmp.dir, 'trace') });
    expect(r.status, r.stderr).toBe(0);
    g(dir, 'add', '-A');
    g(dir, 'commit', '-qm', 'pipeline run');
    commit = g(dir, 'rev-parse', 'HEAD').trim();
    expect(mk(dir, 'push')).toMatch(/signed \(signature, files, provenance\)/);
  }, 180_000);
  afterAll(async () => {
    await reg?.stop();
    tmp.cleanup();
  });

  it('mk verify --key shows the stages, their commands and the digests of their inputs and outputs', () => {
    const r = mkRun(dir, ['verify', 'HEAD', '--key', `${key}.pub`, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout) as { ok: boolean; lineage: Stage[] };
    expect(v.ok).toBe(true);
    expect(v.lineage.map((s) => [s.stage, s.cmd])).toEqual([
      ['prepare', 'python3 prepare.py 0.25'],
      ['featurize', 'python3 featurize.py'],
      ['train', 'python3 train.py 0.01 3'],
      ['evaluate', 'python3 evaluate.py'],
    ]);
    const prepare = v.lineage[0]!;
    const raw = prepare.deps.find((d) => d.path === 'data/raw.csv')!;
    expect(raw.digest.sha256).toBe(sha256(readFileSync(join(dir, 'data', 'raw.csv'))));
    expect(raw.digest.md5).toBe(
      createHash('md5')
        .update(readFileSync(join(dir, 'data', 'raw.csv')))
        .digest('hex'),
    );
    expect(raw.digest.gitBlob).toBe(g(dir, 'rev-parse', 'HEAD:data/raw.csv').trim());
    // What mk tracks is named by its pointer's digest: a folder by its directory manifest, the model by its bytes.
    const prepared = prepare.outs.find((o) => o.path === 'data/prepared')!;
    expect(`sha256:${prepared.digest.sha256}`).toBe(/^digest: (\S+)$/m.exec(readFileSync(join(dir, 'data', 'prepared.mk.yaml'), 'utf8'))![1]);
    expect(prepared.digest.md5).toMatch(/^[0-9a-f]{32}\.dir$/);
    const train = v.lineage[2]!;
    expect(train.outs).toEqual([{ path: 'model.pkl', digest: { sha256: sha256(readFileSync(join(dir, 'model.pkl'))), md5: expect.stringMatching(/^[0-9a-f]{32}$/) } }]);
    expect(v.lineage[3]!.deps.map((d) => d.path).sort()).toEqual(['data/features', 'evaluate.py', 'model.pkl']);
    const text = mk(dir, 'verify', 'HEAD', '--key', `${key}.pub`);
    expect(text).toContain("lineage     4 pipeline stage(s) made this commit's data (from its provenance):");
    expect(text).toMatch(/ {4}train: python3 train\.py 0\.01 3\n {8}<- data\/features {2}sha256:[0-9a-f]{12}\n/);
  });

  it('cosign verify-attestation --type slsaprovenance1 accepts it; every input is a resolved dependency, every stage a byproduct', async () => {
    const att = await runAsync(
      peer('cosign'),
      ['verify-attestation', '--key', `${key}.pub`, '--type', 'slsaprovenance1', '--insecure-ignore-tlog=true', '--allow-http-registry', '--allow-insecure-registry', `${repoRef}:${commit}`],
      {
        env: { HOME: home, DOCKER_CONFIG: home },
      },
    );
    expect(att.status, att.stderr).toBe(0);
    const st = JSON.parse(Buffer.from(JSON.parse(att.stdout.trim().split('\n')[0]!).payload, 'base64').toString('utf8'));
    const deps = st.predicate.buildDefinition.resolvedDependencies as Array<{ name?: string; digest: Record<string, string>; annotations?: Record<string, unknown> }>;
    expect(deps[0]!.digest.gitCommit).toBe(commit);
    const named = Object.fromEntries(deps.slice(1).map((d) => [d.name, d]));
    expect(Object.keys(named).sort()).toEqual(['data/features', 'data/prepared', 'data/raw.csv', 'evaluate.py', 'featurize.py', 'model.pkl', 'prepare.py', 'train.py']);
    expect(named['data/raw.csv']!.digest.sha256).toBe(sha256(readFileSync(join(dir, 'data', 'raw.csv'))));
    expect(named['data/features']!.annotations!['dev.mk.pipeline.stages']).toEqual(['train', 'evaluate']);
    const byproducts = st.predicate.runDetails.byproducts as Array<{ name: string; annotations: { cmd: string; params: Record<string, unknown> } }>;
    expect(byproducts.map((b) => b.name)).toEqual(['stage:prepare', 'stage:featurize', 'stage:train', 'stage:evaluate']);
    expect(byproducts[2]!.annotations.params).toEqual({ 'params.yaml': { 'train.epochs': 3, 'train.lr': 0.01 } });
  });
});
