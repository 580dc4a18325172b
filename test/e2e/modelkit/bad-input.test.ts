/**
 * Bad input gets one clear line. A Kitfile with an unknown key or broken YAML names its
 * line; a Kitfile entry whose path is nowhere names the entry; a reference that is not a
 * ModelKit says so; and a hostile ModelKit, whose layers try to write outside the target
 * directory (`../`, an absolute path, a symlink or hard link entry, a raw layer's file path,
 * a symlink already in the target), is refused without writing a byte outside it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, snapshotTree } from '../../support/files.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { expectMkError, git, makeRepo, mk, mkRun, tempDir } from '../../support/repo.js';
import { mkAsync, oras } from './tools.js';

const sha = (b: Uint8Array) => 'sha256:' + createHash('sha256').update(b).digest('hex');

describe('a broken Kitfile names its line', () => {
  let repo: { dir: string; cleanup: () => void };
  beforeAll(() => {
    repo = makeRepo();
    put(join(repo.dir, 'data/train.csv'), 'a,b\n1,2\n');
    mk(repo.dir, 'add', '--kind', 'dataset', 'data/train.csv');
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-q', '-m', 'data');
  });
  afterAll(() => repo?.cleanup());

  /** Commits `text` as the Kitfile (what a teammate might push) and builds the ModelKit of that commit. */
  function buildWith(text: string, name = 'Kitfile') {
    writeFileSync(join(repo.dir, name), text);
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-q', '-m', `edit ${name}`);
    return mkRun(repo.dir, ['modelkit', 'build']);
  }

  const GOOD = ['manifestVersion: 1.0.0', 'package:', '  name: demo', 'code:', '  - path: .', 'datasets:', '  - name: train', '    path: data/train.csv'];

  it('an unknown key: the line and the key, at build and when mk syncs the Kitfile', () => {
    const text = [...GOOD, '    descripton: typo'].join('\n') + '\n';
    const line = expectMkError(buildWith(text), 'Kitfile:9: ');
    expect(line).toContain("unknown field 'datasets[0].descripton'");
    put(join(repo.dir, 'data/more.csv'), 'c\n3\n');
    expectMkError(mkRun(repo.dir, ['add', '--kind', 'dataset', 'data/more.csv']), "Kitfile:9: unknown field 'datasets[0].descripton'");
  });

  it('an unknown top-level key names line 7 (as kit, which decodes with KnownFields)', () => {
    const text = [...GOOD.slice(0, 5), '# training settings', 'parameters: {lr: 0.1}', ...GOOD.slice(5)].join('\n') + '\n';
    expectMkError(buildWith(text), "Kitfile:7: unknown field 'parameters'");
  });

  it('broken YAML: the line where the parser stopped', () => {
    expectMkError(buildWith(['manifestVersion: 1.0.0', 'package:', '  name: demo', '\tversion: 1', 'code:', '  - path: .'].join('\n') + '\n'), /^mk: Kitfile:4: .*[Tt]ab/);
    expectMkError(buildWith(['manifestVersion: 1.0.0', 'package:', '  name: demo', '  name: again', 'code: [{path: .}]'].join('\n') + '\n'), /^mk: Kitfile:4: .*unique/);
  });

  it('a value of the wrong type', () => {
    expectMkError(buildWith(['manifestVersion: 1.0.0', 'package:', '  name: demo', '  authors: alice', 'code: [{path: .}]'].join('\n') + '\n'), "Kitfile:4: 'package.authors' must be a list of text");
  });

  it('an entry whose path exists neither in the commit nor as tracked data: its line and path', () => {
    const text = [...GOOD, '  - name: test', '    path: data/test.csv'].join('\n') + '\n';
    const line = expectMkError(buildWith(text), 'Kitfile:10: ');
    expect(line).toContain("datasets path 'data/test.csv' does not exist");
  });

  it('the same, in a Kitfile named .kitfile: the message names that file', () => {
    git(repo.dir, 'rm', '-q', 'Kitfile');
    const text = ['manifestVersion: 1.0.0', 'model:', '  name: m', '  path: models/absent.bin'].join('\n') + '\n';
    expectMkError(buildWith(text, '.kitfile'), ".kitfile:4: model path 'models/absent.bin' does not exist");
  });

  it('a path outside the project, and two entries with one path', () => {
    git(repo.dir, 'rm', '-q', '.kitfile');
    expectMkError(buildWith([...GOOD, '  - name: up', '    path: ../secrets'].join('\n') + '\n'), 'Kitfile:10: datasets[1]: path ../secrets is outside the project');
    expectMkError(buildWith([...GOOD, '  - name: again', '    path: ./data/train.csv'].join('\n') + '\n'), /^mk: Kitfile:10: datasets\[0\] and datasets\[1\] use the same path data\/train.csv/);
  });
});

describe('hostile or foreign references', () => {
  let reg: RunningRegistry;
  const tmp = tempDir('mk-bad-modelkit-');
  const orasHome = join(tmp.dir, 'oras-home');
  const cache = { MK_CACHE_DIR: join(tmp.dir, 'mk-cache') };
  let n = 0;

  beforeAll(async () => {
    mkdirSync(orasHome);
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
    tmp.cleanup();
  });

  /** A fresh sandbox: the target directory is `<sandbox>/target`; nothing else may appear in the sandbox. */
  function sandbox(): { root: string; target: string } {
    const root = join(tmp.dir, `sandbox-${n++}`);
    mkdirSync(root);
    return { root, target: join(root, 'target') };
  }

  function unpack(ref: string, target: string, ...more: string[]) {
    return mkAsync(tmp.dir, ['modelkit', 'unpack', ref, '-d', target, ...more], cache);
  }

  type Entry = { type: 'file'; name: string; data: string } | { type: 'dir'; name: string } | { type: 'symlink' | 'hardlink'; name: string; target: string };

  /** A tar built by Python's tarfile (an independent writer), entries exactly as given. */
  function pythonTar(entries: Entry[]): Buffer {
    const script = [
      'import io, json, sys, tarfile',
      'entries = json.load(sys.stdin)',
      'out = io.BytesIO()',
      "with tarfile.open(fileobj=out, mode='w', format=tarfile.PAX_FORMAT) as t:",
      '    for e in entries:',
      "        ti = tarfile.TarInfo(e['name'])",
      '        ti.mtime = 0',
      "        if e['type'] == 'file':",
      "            data = e['data'].encode()",
      '            ti.size = len(data)',
      '            ti.mode = 0o644',
      '            t.addfile(ti, io.BytesIO(data))',
      "        elif e['type'] == 'dir':",
      '            ti.type = tarfile.DIRTYPE',
      '            ti.mode = 0o755',
      '            t.addfile(ti)',
      '        else:',
      "            ti.type = tarfile.SYMTYPE if e['type'] == 'symlink' else tarfile.LNKTYPE",
      "            ti.linkname = e['target']",
      '            t.addfile(ti)',
      'sys.stdout.buffer.write(out.getvalue())',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script], { input: JSON.stringify(entries), maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`python3 tarfile failed: ${r.stderr.toString()}`);
    return r.stdout;
  }

  /** Pushes blobs and a manifest with oras; returns the reference. */
  async function pushWithOras(
    tag: string,
    config: { mediaType: string; bytes: Buffer },
    layers: Array<{ mediaType: string; bytes: Buffer; annotations?: Record<string, string> }>,
    artifactType?: string,
  ): Promise<string> {
    const repo = `${reg.host}/hostile/kit`;
    const dir = join(tmp.dir, `push-${tag}`);
    mkdirSync(dir);
    const descs = await Promise.all(
      [config, ...layers].map(async (b, i) => {
        const f = join(dir, `blob${i}`);
        writeFileSync(f, b.bytes);
        await oras(orasHome, 'blob', 'push', '--plain-http', repo, f);
        return { mediaType: b.mediaType, digest: sha(b.bytes), size: b.bytes.length, ...('annotations' in b && b.annotations ? { annotations: b.annotations } : {}) };
      }),
    );
    const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', ...(artifactType ? { artifactType } : {}), config: descs[0], layers: descs.slice(1) };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await oras(orasHome, 'manifest', 'push', '--plain-http', `${repo}:${tag}`, join(dir, 'manifest.json'));
    return `${repo}:${tag}`;
  }

  /** A ModelKit whose one dataset layer is `layer` (tar unless a media type is given). */
  async function hostileModelKit(tag: string, layer: Buffer, opts: { mediaType?: string; annotations?: Record<string, string>; path?: string } = {}): Promise<string> {
    const d = sha(layer);
    const config = Buffer.from(JSON.stringify({ manifestVersion: '1.0.0', package: { name: 'hostile' }, datasets: [{ name: 'd', path: opts.path ?? 'data', digest: d, diffId: d }] }));
    return pushWithOras(
      tag,
      { mediaType: 'application/vnd.kitops.modelkit.config.v1+json', bytes: config },
      [{ mediaType: opts.mediaType ?? 'application/vnd.kitops.modelkit.dataset.v1.tar', bytes: layer, annotations: opts.annotations }],
      'application/vnd.kitops.modelkit.manifest.v1+json',
    );
  }

  /** Nothing but the target directory in the sandbox, and nothing in the target but what `allowed` lists. */
  function expectContained(box: { root: string; target: string }, allowed: string[] = ['Kitfile', 'data/ok.txt']): void {
    expect(readdirSync(box.root).filter((x) => x !== 'target')).toEqual([]);
    if (existsSync(box.target)) for (const p of snapshotTree(box.target).keys()) expect(allowed).toContain(p);
  }

  it('an OCI artifact with an empty config (oras push) is not a ModelKit: inspect and unpack say so, and write nothing', async () => {
    const f = join(tmp.dir, 'hello.txt');
    writeFileSync(f, 'hello\n');
    await oras(orasHome, 'push', '--plain-http', '--disable-path-validation', `${reg.host}/plain/artifact:v1`, `${f}:text/plain`);
    const ref = `${reg.host}/plain/artifact:v1`;
    expectMkError(await mkAsync(tmp.dir, ['modelkit', 'inspect', ref], cache), `${ref} is not a ModelKit (config media type application/vnd.oci.empty.v1+json)`);
    const box = sandbox();
    expectMkError(await unpack(ref, box.target), 'is not a ModelKit');
    expect(existsSync(box.target)).toBe(false);
  });

  it('an artifact with another config type is not a ModelKit either', async () => {
    const ref = await pushWithOras('other-config', { mediaType: 'application/vnd.example.model.config.v1+json', bytes: Buffer.from('{"name":"x"}') }, [
      { mediaType: 'application/vnd.kitops.modelkit.dataset.v1.tar', bytes: pythonTar([{ type: 'file', name: 'x.txt', data: 'x' }]) },
    ]);
    expectMkError(await mkAsync(tmp.dir, ['modelkit', 'inspect', ref], cache), 'is not a ModelKit (config media type application/vnd.example.model.config.v1+json)');
    const box = sandbox();
    expectMkError(await unpack(ref, box.target), 'is not a ModelKit');
    expect(existsSync(box.target)).toBe(false);
  });

  it('an image index is not a ModelKit', async () => {
    const child = await pushWithOras(
      'child',
      { mediaType: 'application/vnd.oci.image.config.v1+json', bytes: Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}') },
      [],
    );
    const m = JSON.parse((await oras(orasHome, 'manifest', 'fetch', '--plain-http', '--descriptor', child)).stdout);
    const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...m, platform: { architecture: 'amd64', os: 'linux' } }] };
    const file = join(tmp.dir, 'index.json');
    writeFileSync(file, JSON.stringify(index));
    await oras(orasHome, 'manifest', 'push', '--plain-http', `${reg.host}/hostile/kit:index`, file);
    expectMkError(await mkAsync(tmp.dir, ['modelkit', 'inspect', `${reg.host}/hostile/kit:index`], cache), 'is not a ModelKit');
    expectMkError(await unpack(`${reg.host}/hostile/kit:index`, sandbox().target), 'is not a ModelKit');
  });

  it('a tag that does not exist, and a reference that is no reference', async () => {
    expectMkError(await mkAsync(tmp.dir, ['modelkit', 'inspect', `${reg.host}/hostile/kit:nosuch`], cache), /nosuch/);
    expectMkError(await mkAsync(tmp.dir, ['modelkit', 'unpack', 'Not A Reference!', '-d', sandbox().target], cache), /is not a revision of this repository, a remote:tag/);
  });

  it('a tar entry ../evil is refused, and nothing lands outside the target', async () => {
    const ref = await hostileModelKit(
      'dotdot',
      pythonTar([
        { type: 'dir', name: 'data' },
        { type: 'file', name: 'data/ok.txt', data: 'ok' },
        { type: 'file', name: '../evil.txt', data: 'pwned' },
      ]),
    );
    const box = sandbox();
    expectMkError(await unpack(ref, box.target), "refusing path '../evil.txt': it escapes the target directory");
    expectContained(box);
  });

  it('a tar entry that climbs out through a normal-looking prefix (data/../../evil) is refused', async () => {
    const ref = await hostileModelKit('dotdot-nested', pythonTar([{ type: 'file', name: 'data/../../evil.txt', data: 'pwned' }]));
    const box = sandbox();
    expectMkError(await unpack(ref, box.target), /refusing path 'data\/\.\.\/\.\.\/evil\.txt'/);
    expectContained(box);
  });

  it('an absolute tar entry is refused', async () => {
    const box = sandbox();
    const abs = join(box.root, 'absolute-evil.txt');
    const ref = await hostileModelKit(
      'absolute',
      pythonTar([
        { type: 'file', name: 'data/ok.txt', data: 'ok' },
        { type: 'file', name: abs, data: 'pwned' },
      ]),
    );
    expectMkError(await unpack(ref, box.target), `refusing path '${abs}': absolute`);
    expect(existsSync(abs)).toBe(false);
    expectContained(box);
  });

  it('a symlink entry is refused, so a file "inside" it cannot land outside', async () => {
    const box = sandbox();
    const ref = await hostileModelKit(
      'symlink',
      pythonTar([
        { type: 'dir', name: 'data' },
        { type: 'symlink', name: 'data/link', target: box.root },
        { type: 'file', name: 'data/link/evil.txt', data: 'pwned' },
      ]),
    );
    expectMkError(await unpack(ref, box.target), "refusing path 'data/link': unsupported entry type 'symlink'");
    expect(existsSync(join(box.root, 'evil.txt'))).toBe(false);
    expectContained(box);
  });

  it('a hard link entry is refused', async () => {
    const ref = await hostileModelKit('hardlink', pythonTar([{ type: 'hardlink', name: 'data/passwd', target: '/etc/passwd' }]));
    const box = sandbox();
    expectMkError(await unpack(ref, box.target), "refusing path 'data/passwd': unsupported entry type 'link'");
    expectContained(box);
  });

  it('a raw layer whose file path escapes is refused', async () => {
    const box = sandbox();
    for (const [tag, p] of [
      ['raw-dotdot', '../evil.bin'],
      ['raw-absolute', join(box.root, 'evil.bin')],
    ] as const) {
      const ref = await hostileModelKit(tag, Buffer.from(`pwned by ${tag}`), {
        mediaType: 'application/vnd.kitops.modelkit.dataset.v1.raw',
        annotations: { 'org.cncf.model.filepath': p },
        path: p,
      });
      expectMkError(await unpack(ref, box.target, '-o'), `refusing path '${p}'`);
      expectContained(box);
    }
  });

  it('a symlink already in the target directory is not followed', async () => {
    const box = sandbox();
    const elsewhere = join(box.root, 'elsewhere');
    mkdirSync(elsewhere);
    mkdirSync(box.target);
    symlinkSync(elsewhere, join(box.target, 'data'));
    const ref = await hostileModelKit('through-symlink', pythonTar([{ type: 'file', name: 'data/ok.txt', data: 'innocent' }]));
    expectMkError(await unpack(ref, box.target, '-o'), "refusing path 'data/ok.txt': 'data' is a symlink in the target directory");
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('the same hostile layers, chosen by a filter or after good ones, are still refused', async () => {
    const ref = await hostileModelKit(
      'dotdot-filtered',
      pythonTar([
        { type: 'file', name: 'data/ok.txt', data: 'ok' },
        { type: 'file', name: '../../evil.txt', data: 'pwned' },
      ]),
    );
    const box = sandbox();
    expectMkError(await unpack(ref, box.target, '--filter', 'datasets:d'), 'escapes the target directory');
    expectContained(box, ['data/ok.txt']);
    expect(existsSync(join(box.target, 'data/ok.txt'))).toBe(false); // all or nothing: the good file of the refused layer is not left behind
    expect(existsSync(join(tmp.dir, 'evil.txt'))).toBe(false);
  });

  /** A git repository as the unpack target (what a user gets with `mk modelkit unpack ref -d .` inside their project). */
  function repoTarget(): { root: string; target: string; hooks: () => string[] } {
    const box = sandbox();
    mkdirSync(box.target);
    git(box.target, 'init', '-q');
    const hooksDir = join(box.target, '.git', 'hooks');
    return { ...box, hooks: () => readdirSync(hooksDir).filter((f) => !f.endsWith('.sample')) };
  }

  it('no entry may write into .git, in any case or disguise, inside a repository; nothing else of the layer is written either', async () => {
    const names = ['.git/hooks/pre-commit', '.GIT/hooks/pre-commit', '.Git./hooks/pre-commit', 'data/../.git/hooks/pre-commit', 'sub/.git/config', 'git~1/config', '.g\u200cit/hooks/pre-commit'];
    for (const [i, name] of names.entries()) {
      const ref = await hostileModelKit(
        `dotgit-${i}`,
        pythonTar([
          { type: 'file', name: 'data/ok.txt', data: 'ok' },
          { type: 'file', name, data: '#!/bin/sh\necho pwned > /tmp/mk-pwned\n' },
        ]),
        { path: '.' },
      );
      const box = repoTarget();
      const configBefore = readFileSync(join(box.target, '.git', 'config'), 'utf8');
      for (const flags of [[], ['-o']]) {
        expectMkError(await unpack(ref, box.target, ...flags), /refusing path .*'\.git' folder/);
        expect(box.hooks(), name).toEqual([]);
        expect(readFileSync(join(box.target, '.git', 'config'), 'utf8')).toBe(configBefore);
        expect(existsSync(join(box.target, 'data', 'ok.txt')), `${name}: all or nothing`).toBe(false);
        expect(existsSync(join(box.target, 'sub')), name).toBe(false);
        expect(readdirSync(box.target).sort(), name).toEqual(['.git']);
      }
    }
  });

  it('a ModelPack whose two layers name one file path is refused in one line, not unpacked with the last one winning', async () => {
    const a = Buffer.from('weights, version a');
    const b = Buffer.from('weights, version b');
    const config = Buffer.from(JSON.stringify({ descriptor: { name: 'twice' }, config: {}, modelfs: { type: 'layers', diffIds: [sha(a), sha(b)] } }));
    const layer = (bytes: Buffer, path: string) => ({ mediaType: 'application/vnd.cncf.model.weight.v1.raw', bytes, annotations: { 'org.cncf.model.filepath': path } });
    const ref = await pushWithOras(
      'modelpack-same-path',
      { mediaType: 'application/vnd.cncf.model.config.v1+json', bytes: config },
      [layer(a, 'model/weights.bin'), layer(b, './model//weights.bin')],
      'application/vnd.cncf.model.manifest.v1+json',
    );
    const box = sandbox();
    expectMkError(await unpack(ref, box.target), /layers 0 and 1 both unpack to 'model\/weights\.bin'/);
    expect(existsSync(box.target)).toBe(false);
    expectMkError(await mkAsync(tmp.dir, ['modelkit', 'inspect', ref], cache), /both unpack to 'model\/weights\.bin'/);
  });

  it('a raw layer whose file path is .git/config is refused, even with -o', async () => {
    const box = repoTarget();
    const before = readFileSync(join(box.target, '.git', 'config'), 'utf8');
    const ref = await hostileModelKit('raw-dotgit', Buffer.from('[core]\n\tfsmonitor = "echo pwned"\n'), {
      mediaType: 'application/vnd.kitops.modelkit.dataset.v1.raw',
      annotations: { 'org.cncf.model.filepath': '.git/config' },
      path: '.git/config',
    });
    expectMkError(await unpack(ref, box.target, '-o'), /refusing path '\.git\/config'/);
    expect(readFileSync(join(box.target, '.git', 'config'), 'utf8')).toBe(before);
  });

  it('a target folder inside .git, or a bare repository, is refused before anything is downloaded', async () => {
    const ref = await hostileModelKit('benign', pythonTar([{ type: 'file', name: 'data/ok.txt', data: 'ok' }]));
    const box = repoTarget();
    expectMkError(await unpack(ref, join(box.target, '.git', 'hooks')), /inside a '\.git' folder/);
    expect(box.hooks()).toEqual([]);
    const bare = join(box.root, 'bare.git');
    git(box.root, 'init', '-q', '--bare', bare);
    expectMkError(await unpack(ref, join(bare, 'hooks')), /inside the Git directory/);
    expect(readdirSync(join(bare, 'hooks')).filter((f) => !f.endsWith('.sample'))).toEqual([]);
    // Through a symlink to the git directory: the same.
    symlinkSync(join(box.target, '.git'), join(box.root, 'innocent'));
    expectMkError(await unpack(ref, join(box.root, 'innocent')), /inside a '\.git' folder/);
  });

  it("a cache blob changed behind mk's back is never unpacked: one line, the bad blob leaves the cache, nothing is written", async () => {
    const ref = await hostileModelKit('corrupt-later', pythonTar([{ type: 'file', name: 'data/ok.txt', data: 'the good bytes' }]));
    const first = sandbox();
    const r = await unpack(ref, first.target);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(first.target, 'data/ok.txt'), 'utf8')).toBe('the good bytes');
    // Flip bytes of every cached layer blob in place (same size: no size check can see it).
    const blobs = join(cache.MK_CACHE_DIR, 'blobs', 'sha256');
    const m = JSON.parse((await oras(orasHome, 'manifest', 'fetch', '--plain-http', ref)).stdout);
    const layer = join(blobs, m.layers[0].digest.slice(7));
    const bytes = readFileSync(layer);
    const at = bytes.indexOf('the good bytes');
    bytes.write('the evil bytes', at);
    chmodSync(layer, 0o644);
    writeFileSync(layer, bytes);
    const second = sandbox();
    expectMkError(await unpack(ref, second.target), /does not match its digest/);
    expect(existsSync(join(second.target, 'data', 'ok.txt'))).toBe(false);
    expect(existsSync(layer)).toBe(false);
    // The next unpack downloads a good copy.
    const third = sandbox();
    expect((await unpack(ref, third.target)).status).toBe(0);
    expect(readFileSync(join(third.target, 'data/ok.txt'), 'utf8')).toBe('the good bytes');
  });
});
