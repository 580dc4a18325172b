/**
 * Access per dataset (remotes by path), the story with real git, the installed hooks and a
 * real registry with token auth that grants two users different repositories:
 *
 * - alice may read and write everything; bob may read and write team/proj, and nothing of
 *   team/clinical (his token for it grants no action: the registry answers 401).
 * - alice routes data/clinical/** and models/private/** to team/clinical and pushes a project
 *   with a public dataset, a model, the clinical folder and a private model file.
 * - bob clones, pulls, fetches, checks out, switches branches, commits and pushes everything
 *   else: each command names what it withheld in one line and exits 0, or fails with
 *   --strict-access / MK_STRICT_ACCESS=1; status says withheld, never deleted; the commit never
 *   records the absent folder as changed; `mk get` of a restricted file fails in one line
 *   naming the repository.
 * - Every blob team/proj holds (data, ModelKits, referrers, signatures) is read back: none is a
 *   restricted blob, holds restricted bytes or names a restricted file.
 * - alice pulls bob's commit and has everything; `mk verify` rebuilds both commits' ModelKits;
 *   kit unpacks the commit's ModelKit for bob (its remote dataset skipped), and
 *   `mk modelkit unpack --include-remote` follows the reference for alice.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { startTokenIssuer, type TokenIssuer } from '../../support/token-issuer.js';
import { peer } from '../../support/peers.js';
import { MK_BIN, tempDir } from '../../support/repo.js';
import { env, fileSha, sha256 } from '../git/support.js';

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

const PASSWORDS = { alice: 'alice-pw-6d1f', bob: 'bob-pw-93ac' };
type User = keyof typeof PASSWORDS;

/**
 * Everything runs asynchronously: the token server answers from this process, and a
 * synchronous spawn would stop it (and the registry's log pipe) while a command waits for it.
 */
function run(cmd: string, args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('error', reject);
    c.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

const as = (user: User, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ MK_REGISTRY_USERNAME: user, MK_REGISTRY_PASSWORD: PASSWORDS[user], ...extra });

async function ok(p: Promise<Run>, what: string): Promise<Run> {
  const r = await p;
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r;
}

/** `mk:` lines (hooks and commands print their notes on stderr). */
function mkLines(r: Run): string[] {
  return (r.stderr + r.stdout).split(/\r|\n/).filter((l) => l.startsWith('mk: '));
}

/** Writes a file and returns its sha256. */
function put(path: string, bytes: Buffer | string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, bytes);
  return sha256(Buffer.from(bytes));
}

/** Every file under a folder (relative paths), with its sha256. */
function tree(dir: string, base = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of tree(join(dir, e.name), rel)) out.set(k, v);
    else if (e.isFile()) out.set(rel, fileSha(join(dir, e.name)));
  }
  return out;
}

describe('access per dataset: a registry with token auth grants two users different repositories', () => {
  let root: string;
  let cleanup: () => void;
  let issuer: TokenIssuer;
  let reg: RunningRegistry;
  let origin: string;
  let A: string;
  let B: string;
  let clinicalRepo: string;
  /** The restricted files: names, and bytes (each long enough to be unmistakable). */
  const restricted = new Map<string, Buffer>();
  const publicFiles = new Map<string, string>();
  let kitHome: string;
  /** alice's first commit (signed by her). */
  let first: string;

  const git = (user: User, cwd: string, ...args: string[]) => run('git', args, cwd, as(user));
  const mk = (user: User, cwd: string, args: string[], extra: NodeJS.ProcessEnv = {}) => run(process.execPath, [MK_BIN, ...args], cwd, as(user, extra));
  const withheldLine = (paths: string) => new RegExp(`^mk: withheld ${paths}: no read access to ${clinicalRepo.replace(/\./g, '\\.')} \\(401 UNAUTHORIZED\\)$`);

  beforeAll(async () => {
    ({ dir: root, cleanup } = tempDir('mk-access-'));
    issuer = await startTokenIssuer({
      users: PASSWORDS,
      allowed: (user, type, name) => {
        if (type !== 'repository') return [];
        if (user === 'alice') return ['pull', 'push', 'delete'];
        if (user === 'bob') return name === 'team/clinical' ? [] : ['pull', 'push'];
        return [];
      },
    });
    reg = await startRegistry({ token: issuer });
    clinicalRepo = `${reg.host}/team/clinical`;
    origin = join(root, 'origin.git');
    mkdirSync(origin);
    await ok(run('git', ['init', '-q', '--bare', '-b', 'main'], origin), 'git init --bare');
    A = join(root, 'alice');
    B = join(root, 'bob');
    kitHome = join(root, 'kit-home');
  });
  afterAll(async () => {
    await reg?.stop();
    await issuer?.stop();
    cleanup?.();
  });

  it('alice routes data/clinical and models/private to team/clinical and pushes; the shared ModelKit names them by reference', async () => {
    mkdirSync(A);
    for (const args of [
      ['init', '-q', '-b', 'main'],
      ['config', 'user.name', 'Alice'],
      ['config', 'user.email', 'alice@example.com'],
      ['config', 'commit.gpgsign', 'false'],
      ['remote', 'add', 'origin', origin],
    ])
      await ok(git('alice', A, ...args), `git ${args.join(' ')}`);
    await ok(mk('alice', A, ['init']), 'mk init');
    await ok(mk('alice', A, ['install']), 'mk install');
    appendFileSync(join(A, '.mk', 'config.yaml'), 'storage:\n  raw_threshold: 64KiB\n  pack_target: 64KiB\n');
    // alice signs what she publishes: the commit's ModelKit and the routed ones.
    await ok(mk('alice', root, ['keygen', '--out', join(root, 'alice-signing')]), 'mk keygen');
    appendFileSync(join(A, '.git', 'mk', 'config.yaml'), `signing:\n  key: ${join(root, 'alice-signing.key')}\n`);
    await ok(mk('alice', A, ['remote', 'add', 'origin', `oci://${reg.host}/team/proj`]), 'mk remote add origin');
    const added = await ok(mk('alice', A, ['remote', 'add', 'clinical', `oci://${clinicalRepo}`, '--path', 'data/clinical/**', '--path', 'models/private/**']), 'mk remote add clinical');
    expect(added.stdout).toMatch(/added remote 'clinical' .* for data\/clinical\/\*\*, models\/private\/\*\*/);
    const listed = await ok(mk('alice', A, ['remote', 'list']), 'mk remote list');
    expect(listed.stdout).toMatch(/^\*\s+origin\s+oci:\/\/\S+\/team\/proj\s+\(every other path\)$/m);
    expect(listed.stdout).toMatch(/^\s+clinical\s+oci:\/\/\S+\/team\/clinical\s+paths: data\/clinical\/\*\*, models\/private\/\*\*$/m);
    // A second route over the same paths is refused in one line, and nothing is written.
    const overlap = await mk('alice', A, ['remote', 'add', 'other', `oci://${reg.host}/team/other`, '--path', 'data/**']);
    expect(overlap.status).not.toBe(0);
    expect(overlap.stderr).toMatch(/'data\/clinical\/\*\*' \(remote 'clinical'\) and 'data\/\*\*' \(remote 'other'\) route the same paths/);

    put(join(A, 'models/clf.safetensors'), randomBytes(200_000));
    put(join(A, 'models/private/adapter.safetensors'), randomBytes(150_000));
    restricted.set('models/private/adapter.safetensors', readFileSync(join(A, 'models/private/adapter.safetensors')));
    for (let i = 0; i < 6; i++) publicFiles.set(`data/public/img-${i}.png`, put(join(A, `data/public/img-${i}.png`), randomBytes(3000 + i)));
    for (let i = 0; i < 5; i++) {
      const name = `data/clinical/patient-7f3a9-${String(i).padStart(4, '0')}.csv`;
      const bytes = Buffer.concat([Buffer.from(`id,diagnosis\n${i},`), randomBytes(2000)]);
      put(join(A, name), bytes);
      restricted.set(name, bytes);
    }
    const scan = randomBytes(100_000); // above raw_threshold: a raw layer of its own
    put(join(A, 'data/clinical/scans/mri-7f3a9-big.bin'), scan);
    restricted.set('data/clinical/scans/mri-7f3a9-big.bin', scan);
    put(join(A, 'train.py'), 'print("train")\n');
    await ok(mk('alice', A, ['add', 'data/public', 'data/clinical']), 'mk add');
    await ok(git('alice', A, 'add', '-A'), 'git add');
    await ok(git('alice', A, 'commit', '-qm', 'project with clinical data'), 'git commit');
    const pushed = await ok(git('alice', A, 'push', '-u', 'origin', 'main'), 'git push');
    const lines = mkLines(pushed);
    expect(
      lines.some((l) => /^mk: published the ModelKit of data\/clinical as data-clinical-[0-9a-f]{24} on 'clinical', signed \(signature, files, provenance\)$/.test(l)),
      lines.join('\n'),
    ).toBe(true);
    expect(
      lines.some((l) =>
        /^mk: published the ModelKit of models\/private\/adapter\.safetensors as models-private-adapter\.safetensors-[0-9a-f]{24} on 'clinical', signed \(signature, files, provenance\)$/.test(l),
      ),
      lines.join('\n'),
    ).toBe(true);
    expect(lines.filter((l) => /withheld/.test(l))).toEqual([]);

    // The commit's ModelKit: the routed artifacts are references to their own ModelKits, with no layer.
    const head = (await ok(git('alice', A, 'rev-parse', 'HEAD'), 'rev-parse')).stdout.trim();
    first = head;
    const info = JSON.parse((await ok(mk('alice', A, ['modelkit', 'inspect', `origin:${head}`, '--json']), 'inspect')).stdout) as {
      config: { datasets?: Array<{ name?: string; path?: string; remotePath?: string; digest?: string }> };
      manifest: { layers: Array<{ annotations?: Record<string, string> }> };
    };
    const clinical = info.config.datasets!.find((d) => d.path === 'data/clinical')!;
    expect(clinical.remotePath).toMatch(new RegExp(`^${clinicalRepo.replace(/\./g, '\\.')}:data-clinical-[0-9a-f]{24}$`));
    expect(clinical.digest).toBeUndefined();
    expect(info.config.datasets!.find((d) => d.path === 'models/private/adapter.safetensors')?.remotePath).toMatch(/:models-private-adapter\.safetensors-[0-9a-f]{24}$/);
    expect(JSON.stringify(info.manifest)).not.toMatch(/7f3a9|models\/private/);
    // The routed ModelKit is in team/clinical, and kit reads it.
    const sub = JSON.parse((await ok(mk('alice', A, ['modelkit', 'inspect', clinical.remotePath!, '--json']), 'inspect clinical')).stdout) as { config: { datasets: Array<{ path: string }> } };
    expect(sub.config.datasets.every((d) => d.path.startsWith('data/clinical'))).toBe(true);
  });

  it('bob clones: everything but the clinical data, one line naming what was withheld and why, exit 0; --strict-access makes it an error', async () => {
    const cloned = await mk('bob', root, ['clone', origin, B]);
    expect(cloned.status, cloned.stderr).toBe(0);
    expect(mkLines(cloned)).toEqual([expect.stringMatching(withheldLine('data/clinical, models/private/adapter\\.safetensors'))]);
    for (const args of [
      ['config', 'user.name', 'Bob'],
      ['config', 'user.email', 'bob@example.com'],
      ['config', 'commit.gpgsign', 'false'],
    ])
      await ok(git('bob', B, ...args), 'git config');
    for (const [p, sha] of publicFiles) expect(fileSha(join(B, p))).toBe(sha);
    expect(fileSha(join(B, 'models/clf.safetensors'))).toBe(fileSha(join(A, 'models/clf.safetensors')));
    expect(existsSync(join(B, 'data/clinical'))).toBe(false);
    // The private model file stays as Git's pointer text: no byte of it.
    expect(readFileSync(join(B, 'models/private/adapter.safetensors'), 'utf8')).toMatch(/^# mk pointer: /);

    const status = await ok(mk('bob', B, ['status', '--json']), 'mk status');
    const arts = (JSON.parse(status.stdout) as { artifacts: Array<{ path: string; workspace: string; withheld?: { repository: string; reason: string } }> }).artifacts;
    expect(arts.find((a) => a.path === 'data/clinical')).toMatchObject({ workspace: 'withheld', withheld: { repository: clinicalRepo, reason: '401 UNAUTHORIZED' } });
    expect(arts.find((a) => a.path === 'models/private/adapter.safetensors')?.workspace).toBe('withheld');
    expect(arts.filter((a) => a.workspace !== 'clean' && a.workspace !== 'withheld')).toEqual([]);
    const human = await ok(mk('bob', B, ['status']), 'mk status');
    expect(human.stdout).toMatch(new RegExp(`^withheld \\(no read access to ${clinicalRepo.replace(/\./g, '\\.')}, 401 UNAUTHORIZED\\)\\s+data/clinical$`, 'm'));
    expect(human.stdout).not.toMatch(/deleted/);

    const strict = await mk('bob', root, ['clone', '--strict-access', origin, join(root, 'bob-strict')]);
    expect(strict.status).not.toBe(0);
    expect(strict.stderr.trim().split('\n')[0]).toMatch(/^mk: withheld data\/clinical, models\/private\/adapter\.safetensors: no read access to .* \(401 UNAUTHORIZED\)$/);
  });

  it('bob pulls and fetches: the same line, exit 0; MK_STRICT_ACCESS=1 and --strict-access make them fail', async () => {
    for (const args of [['pull'], ['fetch'], ['checkout']]) {
      const r = await mk('bob', B, args);
      expect(r.status, `mk ${args[0]}: ${r.stderr}`).toBe(0);
      expect(mkLines(r), `mk ${args[0]}`).toEqual([expect.stringMatching(withheldLine('data/clinical, models/private/adapter\\.safetensors'))]);
      const strict = await mk('bob', B, args, { MK_STRICT_ACCESS: '1' });
      expect(strict.status, `MK_STRICT_ACCESS=1 mk ${args[0]}`).toBe(1);
      expect(strict.stderr).toMatch(/^mk: withheld data\/clinical, models\/private\/adapter\.safetensors: no read access to/m);
      expect((await mk('bob', B, [...args, '--strict-access'])).status, `mk ${args[0]} --strict-access`).toBe(1);
    }
    expect(existsSync(join(B, 'data/clinical'))).toBe(false);
  });

  it('bob switches to a branch alice pushed (public and clinical data changed): the hook restores the public data and names the clinical data it withholds', async () => {
    await ok(git('alice', A, 'switch', '-q', '-c', 'exp'), 'switch -c');
    publicFiles.set('data/public/img-0.png', put(join(A, 'data/public/img-0.png'), randomBytes(4000)));
    const changed = Buffer.concat([Buffer.from('id,diagnosis\n99,'), randomBytes(1500)]);
    put(join(A, 'data/clinical/patient-7f3a9-0099.csv'), changed);
    restricted.set('data/clinical/patient-7f3a9-0099.csv', changed);
    await ok(mk('alice', A, ['add', 'data/public', 'data/clinical']), 'mk add');
    await ok(git('alice', A, 'commit', '-qam', 'exp: more data'), 'commit');
    await ok(git('alice', A, 'push', '-q', '-u', 'origin', 'exp'), 'push exp');

    await ok(git('bob', B, 'fetch', '-q'), 'git fetch');
    const sw = await git('bob', B, 'switch', 'exp');
    expect(sw.status, sw.stderr).toBe(0);
    const lines = mkLines(sw);
    expect(lines.filter((l) => /withheld/.test(l))).toEqual([expect.stringMatching(withheldLine('data/clinical'))]);
    expect(
      lines.some((l) => /^mk: restored the data of 1 artifact\(s\)$/.test(l)),
      lines.join('\n'),
    ).toBe(true);
    expect(fileSha(join(B, 'data/public/img-0.png'))).toBe(publicFiles.get('data/public/img-0.png'));
    expect(existsSync(join(B, 'data/clinical'))).toBe(false);
    const back = await git('bob', B, 'switch', 'main');
    expect(back.status, back.stderr).toBe(0);
    expect(mkLines(back).filter((l) => /withheld/.test(l))).toEqual([expect.stringMatching(withheldLine('data/clinical'))]);
    expect(existsSync(join(B, 'data/clinical'))).toBe(false);

    // mk diff compares what bob may read and names the folder it cannot.
    const d = await mk('bob', B, ['diff', '--stat', 'main', 'exp']);
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/data\/public/);
    expect(d.stdout).not.toMatch(/clinical/);
    expect(mkLines(d)).toEqual([expect.stringMatching(withheldLine('data/clinical'))]);
    expect((await mk('bob', B, ['diff', '--stat', '--strict-access', 'main', 'exp'])).status).toBe(1);
  });

  it('bob commits and pushes everything else: the absent folder is never recorded, strict access refuses the push, the shared repository gets none of the restricted data', async () => {
    publicFiles.set('data/public/img-1.png', put(join(B, 'data/public/img-1.png'), randomBytes(5000)));
    put(join(B, 'models/clf.safetensors'), randomBytes(210_000));
    put(join(B, 'train.py'), 'print("train v2")\n');
    const add = await mk('bob', B, ['add', 'data/public']);
    expect(add.status, add.stderr).toBe(0);
    const commit = await git('bob', B, 'commit', '-qam', 'bob: retrain on public data');
    expect(commit.status, commit.stderr).toBe(0);
    expect(mkLines(commit).filter((l) => /withheld|missing|deleted/.test(l))).toEqual([expect.stringMatching(withheldLine('data/clinical'))]);
    const changed = (await ok(git('bob', B, 'show', '--name-only', '--format=', 'HEAD'), 'show')).stdout.split('\n').filter(Boolean);
    expect(changed.sort()).toEqual(['data/public.mk.yaml', 'models/clf.safetensors', 'train.py']);
    expect((await ok(git('bob', B, 'status', '--porcelain'), 'status')).stdout).toBe('');

    const strict = await git('bob', B, 'push', 'origin', 'main');
    // (not strict yet: the data goes, the ref goes)
    expect(strict.status, strict.stderr).toBe(0);
    const lines = mkLines(strict);
    expect(lines.filter((l) => /withheld/.test(l))).toEqual([expect.stringMatching(withheldLine('data/clinical, models/private/adapter\\.safetensors'))]);
    expect(
      lines.some((l) => /^mk: published ModelKit sha256:[0-9a-f]{12} as [0-9a-f]{40}, main$/.test(l)),
      lines.join('\n'),
    ).toBe(true);

    // Strict access (CI): the same push is refused.
    put(join(B, 'train.py'), 'print("train v3")\n');
    await ok(git('bob', B, 'commit', '-qam', 'bob: v3'), 'commit v3');
    const refused = await run('git', ['push', 'origin', 'main'], B, as('bob', { MK_STRICT_ACCESS: '1' }));
    expect(refused.status).not.toBe(0);
    expect(mkLines(refused)).toContain('mk: push refused: access is strict (MK_STRICT_ACCESS, access.strict) and data was withheld');
    await ok(git('bob', B, 'push', '-q', 'origin', 'main'), 'push v3');
  });

  it('bob: mk get of a restricted file fails in one line naming the repository; of a public one it works', async () => {
    const r = await mk('bob', B, ['get', 'data/clinical/patient-7f3a9-0001.csv', '-o', join(root, 'stolen.csv')]);
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(new RegExp(`^mk: withheld data/clinical/patient-7f3a9-0001\\.csv: no read access to ${clinicalRepo.replace(/\./g, '\\.')} \\(401 UNAUTHORIZED\\)$`));
    expect(existsSync(join(root, 'stolen.csv'))).toBe(false);
    await ok(mk('bob', B, ['get', 'data/public/img-2.png', '-o', join(root, 'img-2.png')]), 'mk get public');
    expect(fileSha(join(root, 'img-2.png'))).toBe(publicFiles.get('data/public/img-2.png'));
  });

  it('team/proj holds no restricted blob, byte or file name: every blob of its data, ModelKits and referrers read back', () => {
    const repoDir = join(reg.rootDir, 'data', 'docker', 'registry', 'v2', 'repositories', 'team', 'proj');
    const digests = new Set<string>();
    for (const sub of ['_layers/sha256', '_manifests/revisions/sha256']) for (const d of readdirSync(join(repoDir, sub))) digests.add(d);
    expect(digests.size).toBeGreaterThan(15);
    const blob = (hex: string) => readFileSync(join(reg.rootDir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data'));
    const restrictedDigests = new Set([...restricted.values()].map((b) => sha256(b)));
    // The names of the files inside the restricted folder (the artifacts' own paths are in Git, which everyone reads).
    const names = [...restricted.keys()]
      .filter((n) => n.startsWith('data/clinical/'))
      .map((n) => n.slice('data/clinical/'.length))
      .concat(['7f3a9', 'scans/']);
    for (const hex of digests) {
      expect(restrictedDigests.has(hex), `team/proj holds the restricted blob ${hex}`).toBe(false);
      const bytes = blob(hex);
      for (const n of names) expect(bytes.includes(Buffer.from(n)), `blob ${hex} names ${n}`).toBe(false);
      for (const [n, b] of restricted) expect(bytes.includes(b.subarray(b.length - 64)), `blob ${hex} holds bytes of ${n}`).toBe(false);
    }
    // The directory manifests and packs of data/clinical are in team/clinical.
    const clinicalDir = join(reg.rootDir, 'data', 'docker', 'registry', 'v2', 'repositories', 'team', 'clinical', '_layers', 'sha256');
    const there = new Set(readdirSync(clinicalDir));
    expect(there.has(sha256(restricted.get('data/clinical/scans/mri-7f3a9-big.bin')!))).toBe(true);
    expect(there.has(sha256(restricted.get('models/private/adapter.safetensors')!))).toBe(true);
  });

  it("alice pulls bob's commits and has everything; mk verify rebuilds the ModelKits of both", async () => {
    await ok(git('alice', A, 'switch', '-q', 'main'), 'switch main');
    const pulled = await git('alice', A, 'pull', '-q', '--no-rebase', 'origin', 'main');
    expect(pulled.status, pulled.stderr).toBe(0);
    expect(mkLines(pulled).filter((l) => /withheld/.test(l))).toEqual([]);
    for (const [p, sha] of publicFiles) if (p !== 'data/public/img-0.png') expect(fileSha(join(A, p)), p).toBe(sha);
    for (const [p, b] of restricted) if (!p.endsWith('0099.csv')) expect(fileSha(join(A, p)), p).toBe(sha256(b));
    expect(fileSha(join(A, 'models/clf.safetensors'))).toBe(fileSha(join(B, 'models/clf.safetensors')));
    const st = JSON.parse((await ok(mk('alice', A, ['status', '--json']), 'status')).stdout) as { artifacts: Array<{ path: string; workspace: string }> };
    expect(st.artifacts.filter((a) => a.workspace !== 'clean')).toEqual([]);
    for (const user of ['alice', 'bob'] as const) {
      const v = await mk(user, user === 'alice' ? A : B, ['verify', 'HEAD', '--json']);
      expect(v.status, `${user}: ${v.stderr}`).toBe(0);
      expect((JSON.parse(v.stdout) as { ok: boolean }).ok).toBe(true);
    }
  });

  it("bob checks alice's signatures on the commit's ModelKit (mk verify --key) and verifies what he may read", async () => {
    const signed = await mk('bob', B, ['verify', first, '--key', join(root, 'alice-signing.pub')]);
    expect(signed.status, signed.stderr + signed.stdout).toBe(0);
    expect(signed.stdout).toMatch(/OK {2}provenance/);
    const v = await mk('bob', B, ['verify', first, '--json']);
    expect(v.status, v.stderr).toBe(0);
    const r = JSON.parse(v.stdout) as { ok: boolean; routed: unknown[]; withheld: Array<{ path: string; repository: string }> };
    expect(r.ok).toBe(true);
    expect(r.routed).toEqual([]);
    expect(r.withheld.map((w) => w.path).sort()).toEqual(['data/clinical', 'models/private/adapter.safetensors']);
    expect(mkLines(v)).toEqual([expect.stringMatching(withheldLine('data/clinical, models/private/adapter\\.safetensors'))]);
    const strict = await mk('bob', B, ['verify', first, '--strict-access']);
    expect(strict.status).toBe(1);
    // alice reads both routed ModelKits: rebuilt from her data, every blob read back.
    const a = JSON.parse((await ok(mk('alice', A, ['verify', first, '--json']), 'alice verify')).stdout) as {
      ok: boolean;
      routed: Array<{ path: string; ok: boolean; expected?: string; actual?: string }>;
    };
    expect(a.ok).toBe(true);
    expect(a.routed.map((x) => [x.path, x.ok, x.expected === x.actual]).sort()).toEqual([
      ['data/clinical', true, true],
      ['models/private/adapter.safetensors', true, true],
    ]);
  });

  it("kit unpacks the commit's ModelKit for bob (the remote dataset skipped); mk modelkit unpack --include-remote follows it for alice and withholds it for bob", async () => {
    const head = (await ok(git('bob', B, 'rev-parse', 'HEAD'), 'rev-parse')).stdout.trim();
    const ref = `${reg.host}/team/proj:${head}`;
    await ok(run(peer('kit'), ['login', reg.host, '-u', 'bob', '-p', PASSWORDS.bob, '--plain-http'], root, { KITOPS_HOME: kitHome }), 'kit login');
    const byKit = join(root, 'kit-bob');
    const k = await run(peer('kit'), ['--progress', 'none', 'unpack', ref, '--plain-http', '-d', byKit], root, { KITOPS_HOME: kitHome });
    expect(k.status, k.stderr + k.stdout).toBe(0);
    expect(k.stderr + k.stdout).toMatch(/remote datasets/);
    const got = tree(byKit);
    expect(got.get('models/clf.safetensors')).toBe(fileSha(join(B, 'models/clf.safetensors')));
    expect([...got.keys()].filter((p) => p.startsWith('data/clinical/') || p === 'models/private/adapter.safetensors')).toEqual([]);

    const forAlice = join(root, 'mk-alice');
    await ok(mk('alice', root, ['modelkit', 'unpack', ref, '--include-remote', '-d', forAlice]), 'mk modelkit unpack (alice)');
    const a = tree(forAlice);
    for (const [p, b] of restricted) if (!p.endsWith('0099.csv')) expect(a.get(p), p).toBe(sha256(b));
    expect(a.get('data/public/img-1.png')).toBe(publicFiles.get('data/public/img-1.png'));

    const forBob = join(root, 'mk-bob');
    const b = await mk('bob', root, ['modelkit', 'unpack', ref, '--include-remote', '-d', forBob]);
    expect(b.status, b.stderr).toBe(0);
    expect(mkLines(b)).toContainEqual(expect.stringMatching(/^mk: withheld data\/clinical, models\/private\/adapter\.safetensors: no read access to .*team\/clinical \(401 UNAUTHORIZED\)$/));
    expect([...tree(forBob).keys()].filter((p) => p.startsWith('data/clinical/') || p === 'models/private/adapter.safetensors')).toEqual([]);
    expect(tree(forBob).get('data/public/img-1.png')).toBe(publicFiles.get('data/public/img-1.png'));
  });
});
