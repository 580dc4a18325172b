/**
 * Moving in from DVC (issue 24): a repository built with real DVC (a folder and a file added
 * with `dvc add`, a two-output pipeline run by `dvc repro`, a DVC remote, the cache linked by
 * hardlinks) is taken over by `mk migrate --from-dvc`. Every byte comes from the work tree or
 * DVC's cache and is checked against DVC's md5; a missing object and an unrecorded change are
 * refused in one line before anything changes; afterwards the data is mk's, and a clone that
 * never saw DVC restores it byte for byte. A DVC 2.x layout (old cache folders, md5-dos2unix)
 * is built by hand and taken over too.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peer } from '../../support/peers.js';
import { expectMkError, tempDir } from '../../support/repo.js';
import { env, g, identify, mk, mkRun, newRepo, treeFiles } from '../git/support.js';

const tmp = tempDir('mk-from-dvc-');
afterAll(() => tmp.cleanup());
const root = tmp.dir;
const DVC = peer('dvc');

function dvc(cwd: string, ...args: string[]): string {
  const r = spawnSync(DVC, args, { cwd, encoding: 'utf8', env: env({ DVC_NO_ANALYTICS: '1' }) });
  if (r.status !== 0) throw new Error(`dvc ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

/** Every regular file under `dir` (relative path -> sha256), `.git`, `.dvc` and mk's files left out. */
function dataFiles(dir: string, under: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), sha(readFileSync(p)));
    }
  };
  for (const u of under) {
    const p = join(dir, u);
    if (statSync(p).isDirectory()) walk(p);
    else out.set(u, sha(readFileSync(p)));
  }
  return out;
}

const DATA = ['data/raw.csv', 'data/images', 'data/prepared', 'model.pkl'];

function seeded(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
}

describe('mk migrate --from-dvc on a repository built with DVC', () => {
  let R: string;
  let before: Map<string, string>;
  const dvcRemote = join(root, 'dvc-remote');

  beforeAll(() => {
    R = newRepo(join(root, 'proj'), { filter: true, mk: false });
    dvc(R, 'init', '-q');
    dvc(R, 'config', 'cache.type', 'hardlink');
    mkdirSync(join(R, 'data', 'images', 'cats'), { recursive: true });
    writeFileSync(join(R, 'data', 'raw.csv'), 'id,value\r\n1,10\r\n2,20\r\n3,30\r\n');
    for (let i = 0; i < 12; i++) writeFileSync(join(R, 'data', 'images', i % 3 ? `img${i}.png` : `cats/cat${i}.png`), seeded(200 + i * 1500, i + 1));
    writeFileSync(join(R, 'data', 'images', 'big.bin'), seeded(300_000, 99)); // a blob of its own in mk (raw_threshold below)
    dvc(R, 'add', '-q', 'data/raw.csv', 'data/images');
    writeFileSync(join(R, 'params.yaml'), 'prepare:\n  scale: 3\n');
    writeFileSync(
      join(R, 'prepare.py'),
      [
        'import os',
        "p = {'scale': int(open('params.yaml').read().split('scale:')[1])}",
        "rows = open('data/raw.csv').read().split('\\n')",
        "os.makedirs('data/prepared/parts', exist_ok=True)",
        'for i, r in enumerate(rows):',
        "    open(f'data/prepared/parts/{i}.txt', 'w').write(r * p['scale'])",
        "open('model.pkl', 'wb').write(bytes(range(256)) * 64)",
        "open('metrics.json', 'w').write('{\"rows\": %d}' % len(rows))",
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(R, 'dvc.yaml'),
      [
        'stages:',
        '  prepare:',
        '    cmd: python3 prepare.py',
        '    deps: [prepare.py, data/raw.csv]',
        '    params: [prepare.scale]',
        '    outs: [data/prepared, model.pkl]',
        '    metrics: [{metrics.json: {cache: false}}]',
        '',
      ].join('\n'),
    );
    dvc(R, 'repro', '-q');
    dvc(R, 'remote', 'add', '-d', 'store', dvcRemote);
    dvc(R, 'push', '-q');
    g(R, 'add', '-A');
    g(R, 'commit', '-q', '-m', 'data and pipeline with DVC');
    before = dataFiles(R, DATA);
    expect(before.size).toBeGreaterThan(15);
    // hardlinks into DVC's cache, read-only
    expect(lstatSync(join(R, 'data', 'raw.csv')).nlink).toBe(2);
    expect(mkRun(R, ['init']).status).toBe(0);
    expect(mkRun(R, ['install']).status).toBe(0);
    writeFileSync(join(R, '.mk', 'config.yaml'), readFileSync(join(R, '.mk', 'config.yaml'), 'utf8') + 'storage:\n  raw_threshold: 200KiB\n');
    g(R, 'add', '-A');
    g(R, 'commit', '-q', '-m', 'mk init');
  });

  it('--dry-run lists each output, where it comes from and what DVC keeps, and changes nothing', () => {
    const head = g(R, 'rev-parse', 'HEAD');
    const r = mkRun(R, ['migrate', '--from-dvc', '--dry-run']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^would take {2}data\/images {2}\(folder, 13 file\(s\), from data\/images\.dvc/m);
    expect(r.stdout).toMatch(/^would take {2}data\/raw\.csv {2}\(file, from data\/raw\.csv\.dvc; 1 from DVC's cache\)/m); // a hardlink into the cache
    expect(r.stdout).toMatch(/^would take {2}data\/prepared {2}\(folder, 5 file\(s\), from dvc\.lock \(stage prepare\)/m);
    expect(r.stdout).toMatch(/^would take {2}model\.pkl {2}\(file, from dvc\.lock \(stage prepare\)/m);
    expect(r.stdout).toMatch(/^skipped {2}metrics\.json \(dvc\.lock\): Git tracks it \(cache: false\)$/m);
    expect(g(R, 'status', '--porcelain')).toBe('');
    expect(g(R, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('a change DVC has not recorded stops it in one line, before anything changes', () => {
    chmodSync(join(R, 'data', 'images', 'img1.png'), 0o644);
    rmSync(join(R, 'data', 'images', 'img1.png'));
    writeFileSync(join(R, 'data', 'images', 'img1.png'), 'edited');
    const r = mkRun(R, ['migrate', '--from-dvc']);
    expect(expectMkError(r, 'data/images/img1.png differs from what data/images.dvc records')).toBeTruthy();
    expect(r.stderr).toMatch(/hint: .*dvc commit/);
    expect(existsSync(join(R, 'data', 'images.dvc'))).toBe(true);
    expect(g(R, 'status', '--porcelain')).toBe('');
    dvc(R, 'checkout', '-q', '--force', 'data/images.dvc');
    expect(dataFiles(R, DATA)).toEqual(before);
  });

  it('an object in neither the work tree nor the DVC cache is named in one line, with what to run', () => {
    const cat = readFileSync(join(R, 'data', 'images', 'cats', 'cat3.png'));
    const object = join(R, '.dvc', 'cache', 'files', 'md5', md5(cat).slice(0, 2), md5(cat).slice(2));
    expect(existsSync(object)).toBe(true);
    rmSync(object, { force: true });
    rmSync(join(R, 'data', 'images', 'cats', 'cat3.png'), { force: true });
    const r = mkRun(R, ['migrate', '--from-dvc']);
    expectMkError(r, `data/images: 1 file(s) are neither in the work tree nor in the DVC cache (first: data/images/cats/cat3.png, md5 ${md5(cat)})`);
    expect(r.stderr).toMatch(/^hint: run 'dvc fetch data\/images'.*--fetch/m);
    expect(existsSync(join(R, 'data', 'images.dvc'))).toBe(true);
    expect(g(R, 'status', '--porcelain')).toBe('');
  });

  it('--fetch has DVC fetch what is missing; everything is taken over, checked against DVC, and staged', () => {
    const r = mkRun(R, ['migrate', '--from-dvc', '--fetch', '--json'], { PATH: `${dirname(DVC)}:${process.env.PATH}` });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.fetched).toEqual(['data/images']);
    expect(j.migrated.map((m: { path: string }) => m.path).sort()).toEqual(['data/images', 'data/prepared', 'data/raw.csv', 'model.pkl']);
    expect(j.removed.sort()).toEqual(['data/images.dvc', 'data/raw.csv.dvc']);
    expect(j.checkedBytes).toBeGreaterThan(300_000);
    // the file the work tree lacked came back; every other byte is where it was
    expect(dataFiles(R, DATA)).toEqual(before);
    // no file is a hardlink into DVC's cache any more (editing one would change DVC's object)
    for (const p of ['data/raw.csv', 'data/images/img2.png', 'data/images/big.bin', 'model.pkl']) expect(lstatSync(join(R, p)).nlink, p).toBe(1);
    const c = spawnSync('git', ['commit', '-q', '-m', 'move to mk'], { cwd: R, encoding: 'utf8', env: env() });
    expect(c.status, c.stderr).toBe(0);
    expect(g(R, 'status', '--porcelain')).toBe('');
    const files = treeFiles(R);
    expect(files).not.toContain('data/raw.csv.dvc');
    expect(files).not.toContain('data/images.dvc');
    expect(files).toEqual(expect.arrayContaining(['dvc.yaml', 'dvc.lock', 'metrics.json', 'data/images.mk.yaml', 'data/prepared.mk.yaml', 'data/raw.csv', 'model.pkl']));
    expect(g(R, 'show', 'HEAD:dvc.lock')).toBe(g(R, 'show', 'HEAD~1:dvc.lock'));
    // files through mk's filter: Git stores mk pointers, with the sha256 of the bytes
    expect(g(R, 'show', 'HEAD:data/raw.csv')).toContain(`digest: sha256:${before.get('data/raw.csv')}`);
    expect(g(R, 'show', 'HEAD:model.pkl')).toMatch(/^kind: model$/m);
    expect(g(R, 'show', 'HEAD:data/prepared.mk.yaml')).toMatch(/^files: 5$/m);
    // DVC's .gitignore lines: gone for files now in Git, mk's own for folders
    expect(g(R, 'show', 'HEAD:data/.gitignore').split('\n')).toEqual(expect.arrayContaining(['/images', '/prepared']));
    expect(g(R, 'show', 'HEAD:data/.gitignore').split('\n')).not.toContain('/raw.csv');
    expect(g(R, 'show', 'HEAD:.gitignore').split('\n')).not.toContain('/model.pkl');
    expect(mk(R, 'status')).not.toMatch(/modified|deleted/);
  });

  it('a clone that never had DVC restores every byte from an mk remote', () => {
    mk(R, 'remote', 'add', 'origin', join(root, 'mk-store'));
    g(R, 'add', '-A');
    g(R, 'commit', '-q', '-m', 'remote');
    const bare = join(root, 'proj.git');
    g(root, 'init', '-q', '--bare', '-b', 'main', bare);
    g(R, 'remote', 'add', 'origin', bare);
    const p = spawnSync('git', ['push', '-q', 'origin', 'main'], { cwd: R, encoding: 'utf8', env: env() });
    expect(p.status, p.stderr).toBe(0);
    const r = mkRun(root, ['clone', bare, 'clone']);
    expect(r.status, r.stderr).toBe(0);
    const C = join(root, 'clone');
    identify(C);
    expect(existsSync(join(C, '.dvc', 'cache'))).toBe(false);
    expect(dataFiles(C, DATA)).toEqual(before);
  });
});

describe('mk migrate --from-dvc on a DVC 2.x layout (objects in .dvc/cache/xx/, md5-dos2unix)', () => {
  it('takes files and folders over from the old cache folders, CRLF bytes kept as they are', () => {
    const R = newRepo(join(root, 'legacy'), { filter: true });
    const put = (rel: string, data: Buffer | string) => {
      mkdirSync(join(R, rel, '..'), { recursive: true });
      writeFileSync(join(R, rel), data);
    };
    put('.dvc/config', '[core]\n    no_scm = False\n');
    const text = 'a,b\r\n1,2\r\n';
    const unix = md5(text.replace(/\r\n/g, '\n'));
    put(`.dvc/cache/${unix.slice(0, 2)}/${unix.slice(2)}`, text);
    put('notes.txt.dvc', `outs:\n- md5: ${unix}\n  size: ${text.length}\n  path: notes.txt\n`);
    const f1 = seeded(5000, 7);
    const f2 = 'x\r\ny\r\n';
    const m1 = md5(f1);
    const m2 = md5(f2.replace(/\r\n/g, '\n'));
    put(`.dvc/cache/${m1.slice(0, 2)}/${m1.slice(2)}`, f1);
    put(`.dvc/cache/${m2.slice(0, 2)}/${m2.slice(2)}`, f2);
    const listing = `[{"md5": "${m1}", "relpath": "bin/a.bin"}, {"md5": "${m2}", "relpath": "t.txt"}]`;
    const dm = md5(listing);
    put(`.dvc/cache/${dm.slice(0, 2)}/${dm.slice(2)}.dir`, listing);
    put('ds.dvc', `outs:\n- md5: ${dm}.dir\n  size: 5006\n  nfiles: 2\n  path: ds\n`);
    put('.gitignore', '/notes.txt\n/ds\n');
    g(R, 'add', '-A');
    g(R, 'commit', '-q', '-m', 'dvc 2');
    const r = mkRun(R, ['migrate', '--from-dvc']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^took {2}ds {2}\(folder, 2 file\(s\), 4\.9 KiB, from ds\.dvc; 2 from DVC's cache\)$/m);
    expect(readFileSync(join(R, 'notes.txt'), 'utf8')).toBe(text);
    expect(readFileSync(join(R, 'ds', 'bin', 'a.bin'))).toEqual(f1);
    expect(readFileSync(join(R, 'ds', 't.txt'), 'utf8')).toBe(f2);
    g(R, 'commit', '-q', '-m', 'mk');
    expect(g(R, 'status', '--porcelain')).toBe('');
    expect(g(R, 'show', 'HEAD:notes.txt')).toContain(`digest: sha256:${sha(text)}`);
    expect(treeFiles(R)).not.toContain('ds.dvc');
    // the folder restores from mk's cache alone
    rmSync(join(R, 'ds'), { recursive: true });
    rmSync(join(R, '.dvc'), { recursive: true });
    mk(R, 'checkout');
    expect(readFileSync(join(R, 'ds', 't.txt'), 'utf8')).toBe(f2);
  });

  it('a damaged object in the old layout is refused, naming it', () => {
    const R = newRepo(join(root, 'damaged'), { filter: true });
    const good = 'hello\n';
    const m = md5(good);
    mkdirSync(join(R, '.dvc', 'cache', m.slice(0, 2)), { recursive: true });
    writeFileSync(join(R, '.dvc', 'cache', m.slice(0, 2), m.slice(2)), 'hellO\n');
    writeFileSync(join(R, 'h.txt.dvc'), `outs:\n- md5: ${m}\n  size: 6\n  path: h.txt\n`);
    g(R, 'add', '-A');
    g(R, 'commit', '-q', '-m', 'x');
    const r = mkRun(R, ['migrate', '--from-dvc']);
    expectMkError(r, `for h.txt is damaged: its bytes do not match its md5 ${m}`);
    expect(existsSync(join(R, 'h.txt'))).toBe(false);
    expect(g(R, 'status', '--porcelain')).toBe('');
  });
});
