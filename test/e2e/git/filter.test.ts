/**
 * Single files through Git's content pipeline (issue 12): `track:` files have a
 * `filter=mk` line in .gitattributes, Git stores their pointers and runs `mk filter-process`
 * (clean, smudge, delay) for their bytes. Real git, real CLI, temporary global configs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/repo.js';
import { env, fileSha, g, gitRun, head, identify, mk, mkRun, newRepo, setThreshold, sha256, treeFiles, writeRandom, type Run } from './support.js';

const tmp = tempDir('mk-filter-');
afterAll(() => tmp.cleanup());
const root = tmp.dir;

/** A global git config of its own (tests run with GIT_CONFIG_GLOBAL=/dev/null otherwise). */
function globalConfig(name: string): string {
  const f = join(root, `${name}.gitconfig`);
  writeFileSync(f, '');
  return f;
}

function gx(cwd: string, args: string[], extra: NodeJS.ProcessEnv = {}): Run {
  const r = gitRun(cwd, args, extra);
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed (${r.status}) in ${cwd}:\n${r.stderr}${r.stdout}`);
  return r;
}

/** The pointer Git holds for a path at a revision (`:path` for the index). */
function storedPointer(dir: string, spec: string): { digest: string; size: number; text: string } {
  const text = g(dir, 'cat-file', 'blob', spec);
  const m = /^digest: sha256:([0-9a-f]{64})$/m.exec(text);
  const s = /^size: (\d+)$/m.exec(text);
  if (!m || !s) throw new Error(`${spec} is not an mk pointer:\n${text.slice(0, 200)}`);
  return { digest: m[1]!, size: Number(s[1]), text };
}

/** The largest object git holds (loose or packed), in bytes. */
function largestObject(dir: string): number {
  const out = g(dir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectsize)');
  return Math.max(0, ...out.split('\n').filter(Boolean).map(Number));
}

function cacheHas(dir: string, hex: string): boolean {
  return existsSync(join(dir, '.git', 'mk', 'cache', 'blobs', 'sha256', hex));
}

const MODEL = 'model.onnx';
const SIZE = 3 << 20;

describe('git add and commit of a track: file', () => {
  let R: string;
  let v1: string;

  beforeAll(() => {
    R = newRepo(join(root, 'basic'), { filter: true });
    expect(readFileSync(join(R, '.gitattributes'), 'utf8')).toMatch(/^\*\.onnx filter=mk diff=mk merge=mk -text$/m);
    expect(g(R, 'config', '--get', 'filter.mk.process')).toContain('filter-process');
  });

  it('git add never writes the bytes into .git/objects: the index holds the pointer, the cache the bytes', () => {
    v1 = writeRandom(join(R, MODEL), SIZE);
    g(R, 'add', MODEL);
    const p = storedPointer(R, `:${MODEL}`);
    expect(p.digest).toBe(v1);
    expect(p.size).toBe(SIZE);
    expect(p.text).toMatch(/^kind: model$/m);
    expect(cacheHas(R, v1)).toBe(true);
    expect(largestObject(R)).toBeLessThan(4096);
    const counts = g(R, 'count-objects', '-v');
    expect(Number(/^size: (\d+)/m.exec(counts)![1])).toBeLessThan(64); // KiB of loose objects
    g(R, 'commit', '-q', '-m', 'v1');
    expect(storedPointer(R, `HEAD:${MODEL}`).digest).toBe(v1);
    expect(treeFiles(R)).not.toContain(`${MODEL}.mk.yaml`);
    expect(readFileSync(join(R, 'Kitfile'), 'utf8')).toMatch(/path: model\.onnx/);
    expect(g(R, 'status', '--porcelain')).toBe('');
  });

  it('a model-only retrain: git status shows the model modified, and the FIRST git commit -am commits it', () => {
    const v2 = writeRandom(join(R, MODEL), SIZE);
    expect(g(R, 'status', '--porcelain')).toBe(` M ${MODEL}\n`);
    const r = gitRun(R, ['commit', '-am', 'retrain']);
    expect(r.status, r.stderr).toBe(0);
    expect(storedPointer(R, `HEAD:${MODEL}`).digest).toBe(v2);
    expect(g(R, 'status', '--porcelain')).toBe('');
    const s = mkRun(R, ['status']);
    expect(s.stdout).toMatch(/^clean\s+model\.onnx$/m);
    expect(largestObject(R)).toBeLessThan(4096);
  });

  it('rewriting the model with the same bytes leaves git status clean', () => {
    writeFileSync(join(R, MODEL), readFileSync(join(R, MODEL)));
    expect(g(R, 'status', '--porcelain')).toBe('');
  });

  it('git mv moves the file: the pointer in Git follows, the Kitfile entry follows, the bytes are not copied', () => {
    const digest = storedPointer(R, `HEAD:${MODEL}`).digest;
    const ino = statSync(join(R, MODEL)).ino;
    const blobs = readdirSync(join(R, '.git', 'mk', 'cache', 'blobs', 'sha256')).length;
    g(R, 'mv', MODEL, 'best-model.onnx');
    const r = gitRun(R, ['commit', '-m', 'rename the model']);
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(join(R, 'best-model.onnx')).ino).toBe(ino);
    expect(storedPointer(R, 'HEAD:best-model.onnx').digest).toBe(digest);
    expect(treeFiles(R)).not.toContain(MODEL);
    const kitfile = g(R, 'show', 'HEAD:Kitfile');
    expect(kitfile).toMatch(/path: best-model\.onnx/);
    expect(kitfile).not.toMatch(/path: model\.onnx/);
    expect(readdirSync(join(R, '.git', 'mk', 'cache', 'blobs', 'sha256')).length).toBe(blobs);
    g(R, 'mv', 'best-model.onnx', MODEL);
    g(R, 'commit', '-q', '-m', 'back');
  });

  it('mk add <file> no pattern covers: an exact-path .gitattributes line, then git add through the filter; the size threshold does the same at commit', () => {
    const s = writeRandom(join(R, 'data', 'weights [v1].bin'), 1 << 20);
    const r = mkRun(R, ['add', 'data/weights [v1].bin', '--kind', 'dataset']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(R, '.gitattributes'), 'utf8')).toMatch(/^\/data\/weights\?\\\[v1\\\]\.bin filter=mk diff=mk merge=mk -text$/m);
    const p = storedPointer(R, ':data/weights [v1].bin');
    expect(p.digest).toBe(s);
    expect(p.text).toMatch(/^kind: dataset$/m);
    expect(existsSync(join(R, 'data', 'weights [v1].bin.mk.yaml'))).toBe(false);
    expect(g(R, 'diff', '--cached', '--name-only')).toContain('.gitattributes');
    // A large file no pattern covers, staged with plain git: the pre-commit hook sends it through the filter.
    writeFileSync(join(R, '.mk', 'config.yaml'), readFileSync(join(R, '.mk', 'config.yaml'), 'utf8').replace(/^size_threshold: .*$/m, 'size_threshold: 512KiB'));
    const big = writeRandom(join(R, 'data', 'table.bin'), 1 << 20);
    g(R, 'add', '-A');
    const c = gitRun(R, ['commit', '-m', 'weights and a large table']);
    expect(c.status, c.stderr).toBe(0);
    expect(storedPointer(R, 'HEAD:data/table.bin').digest).toBe(big);
    expect(storedPointer(R, 'HEAD:data/weights [v1].bin').digest).toBe(s);
    expect(g(R, 'show', 'HEAD:Kitfile')).toMatch(/path: data\/table\.bin/);
    expect(g(R, 'status', '--porcelain')).toBe('');
  });

  it('mk add of a large file: mk hashes it, stages its pointer with the stat data, and git takes it as clean without sending it through the filter', () => {
    // Files the tests before committed in the second the index was written are "racily clean":
    // any git command that writes the index (mk's update-index too) would send them through the
    // filter to be sure. Dated back and refreshed first, they are plainly clean, as after a pause.
    const past = new Date(Date.now() - 60_000);
    for (const f of g(R, 'ls-files', '-z')
      .split('\0')
      .filter((f) => f && existsSync(join(R, f))))
      utimesSync(join(R, f), past, past);
    gitRun(R, ['update-index', '-q', '--really-refresh']);
    const s = writeRandom(join(R, 'models', 'large.safetensors'), 40 << 20);
    // GIT_TRACE lists every process git starts (here: git run by mk): the filter is not among them.
    const trace = join(root, 'add.trace');
    const r = mkRun(R, ['add', 'models/large.safetensors'], { GIT_TRACE: trace });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(trace, 'utf8')).toMatch(/update-index/);
    expect(readFileSync(trace, 'utf8')).not.toMatch(/filter-process/);
    expect(storedPointer(R, ':models/large.safetensors')).toMatchObject({ digest: s, size: 40 << 20 });
    const st = gitRun(R, ['status', '--porcelain'], { GIT_TRACE: '1' });
    expect(st.stdout).not.toMatch(/^.M models\/large/m);
    expect(st.stderr).not.toMatch(/filter-process/);
    expect(gitRun(R, ['diff', '--quiet', '--', 'models/large.safetensors'], { GIT_TRACE: '1' }).stderr).not.toMatch(/filter-process/);
    const c = gitRun(R, ['commit', '-q', '-m', 'large model'], { GIT_TRACE: '1' });
    expect(c.status, c.stderr).toBe(0);
    expect(c.stderr).not.toMatch(/filter-process/);
    expect(storedPointer(R, 'HEAD:models/large.safetensors').digest).toBe(s);
    // A change is still seen (stat data differs): git cleans it through the filter.
    const s2 = writeRandom(join(R, 'models', 'large.safetensors'), 40 << 20);
    // Dated a minute back: a file changed within the index's own second is "racy" for git (it reads it again).
    const back = Date.now() / 1000 - 60;
    utimesSync(join(R, 'models', 'large.safetensors'), back, back);
    expect(g(R, 'status', '--porcelain')).toMatch(/^ M models\/large\.safetensors$/m);
    expect(gitRun(R, ['commit', '-qam', 'retrain']).status).toBe(0);
    expect(storedPointer(R, 'HEAD:models/large.safetensors').digest).toBe(s2);
    expect(g(R, 'status', '--porcelain')).toBe('');
    // mk mv: a rename changes the file's ctime; its stat data follows it into the index, so
    // neither the move nor the commit sends the 40 MiB through the filter again.
    const mvTrace = join(root, 'mv.trace');
    expect(mkRun(R, ['mv', 'models/large.safetensors', 'models/renamed.safetensors'], { GIT_TRACE: mvTrace }).status).toBe(0);
    const m = gitRun(R, ['commit', '-q', '-m', 'rename'], { GIT_TRACE: mvTrace });
    expect(m.status, m.stderr).toBe(0);
    expect(readFileSync(mvTrace, 'utf8')).not.toMatch(/filter-process/);
    expect(storedPointer(R, 'HEAD:models/renamed.safetensors').digest).toBe(s2);
    expect(g(R, 'status', '--porcelain')).toBe('');
    expect(fileSha(join(R, 'models', 'renamed.safetensors'))).toBe(s2);
    // A move that cannot happen (no such folder) changes nothing: the .gitattributes line stays.
    const attrs = readFileSync(join(R, '.gitattributes'), 'utf8');
    const bad = mkRun(R, ['mv', 'models/renamed.safetensors', 'nowhere/x.safetensors']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/nowhere: no such folder/);
    expect(readFileSync(join(R, '.gitattributes'), 'utf8')).toBe(attrs);
    expect(g(R, 'status', '--porcelain')).toBe('');
  });

  it('the ModelKit of a commit with a filtered model has the model as a raw layer with its digest', () => {
    const digest = storedPointer(R, `HEAD:${MODEL}`).digest;
    const built = JSON.parse(mk(R, 'modelkit', 'build', '--json')) as { layers: Array<{ mediaType: string; digest: string; size: number }> };
    const model = built.layers.find((l) => l.mediaType.includes('model'));
    expect(model?.digest).toBe(`sha256:${digest}`);
    expect(model?.size).toBe(SIZE);
    expect(model?.mediaType).toMatch(/raw$/);
    // The code layer does not carry the pointer text a second time: one layer for the model.
    expect(built.layers.filter((l) => l.digest === `sha256:${digest}`)).toHaveLength(1);
  });
});

describe('git commands that move files without mk hooks keep the model right', () => {
  let R: string;
  const v: string[] = [];
  const c: string[] = [];

  beforeAll(() => {
    R = newRepo(join(root, 'moves'), { filter: true });
    writeFileSync(join(R, 'train.py'), 'print(1)\n');
    v.push(writeRandom(join(R, 'models', MODEL), SIZE));
    g(R, 'add', '-A');
    g(R, 'commit', '-q', '-m', 'v0');
    c.push(head(R));
    v.push(writeRandom(join(R, 'models', MODEL), SIZE));
    g(R, 'commit', '-q', '-am', 'v1');
    c.push(head(R));
  });

  const model = () => fileSha(join(R, 'models', MODEL));

  it('git stash and git stash pop', () => {
    const wip = writeRandom(join(R, 'models', MODEL), SIZE);
    g(R, 'stash', '-q');
    expect(model()).toBe(v[1]);
    g(R, 'stash', 'pop', '-q');
    expect(model()).toBe(wip);
    g(R, 'checkout', '-q', '--', `models/${MODEL}`);
    expect(model()).toBe(v[1]);
  });

  it('git reset --hard, git cherry-pick, git revert', () => {
    g(R, 'reset', '-q', '--hard', c[0]!);
    expect(model()).toBe(v[0]);
    g(R, 'cherry-pick', c[1]!);
    expect(model()).toBe(v[1]);
    g(R, 'revert', '--no-edit', 'HEAD');
    expect(model()).toBe(v[0]);
    expect(g(R, 'status', '--porcelain')).toBe('');
  });

  it('git switch and mk checkout <rev> -- <file>: the bytes follow, the pointer is staged, no .mk.yaml and no .gitignore line appear', () => {
    g(R, 'switch', '-q', '-c', 'old', c[0]!);
    expect(model()).toBe(v[0]);
    g(R, 'switch', '-q', 'main');
    expect(model()).toBe(v[0]); // main ends with the revert of v1
    const r = mkRun(R, ['checkout', c[1]!, '--', `models/${MODEL}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(model()).toBe(v[1]);
    expect(storedPointer(R, `:models/${MODEL}`).digest).toBe(v[1]);
    expect(existsSync(join(R, 'models', `${MODEL}.mk.yaml`))).toBe(false);
    expect(existsSync(join(R, 'models', '.gitignore'))).toBe(false);
    expect(g(R, 'status', '--porcelain')).toBe(`M  models/${MODEL}\n`);
    g(R, 'reset', '-q', '--hard');
    expect(model()).toBe(v[0]);
  });

  it('sparse checkout: the model leaves with its folder and comes back with its bytes', () => {
    g(R, 'sparse-checkout', 'set', 'docs');
    expect(existsSync(join(R, 'models', MODEL))).toBe(false);
    g(R, 'sparse-checkout', 'disable');
    expect(model()).toBe(v[0]);
    expect(g(R, 'status', '--porcelain')).toBe('');
  });
});

describe('clones', () => {
  let A: string;
  let store: string;
  let bare: string;
  const sums: Record<string, string> = {};

  beforeAll(() => {
    A = newRepo(join(root, 'origin'), { filter: true });
    store = join(root, 'store');
    mk(A, 'remote', 'add', 'origin', store);
    sums[MODEL] = writeRandom(join(A, MODEL), SIZE);
    sums['weights.pt'] = writeRandom(join(A, 'weights.pt'), 1 << 20);
    g(A, 'add', '-A');
    g(A, 'commit', '-q', '-m', 'model');
    mk(A, 'push');
    bare = join(root, 'bare.git');
    g(root, 'clone', '-q', '--bare', A, bare);
  });

  it('git clone with mk install --global (a temporary global config): smudge restores the models, the missing blobs delayed and fetched in one batch', () => {
    const cfg = globalConfig('user');
    const ge = { GIT_CONFIG_GLOBAL: cfg, XDG_CONFIG_HOME: join(root, 'xdg-user') }; // (mk install --global puts Git's template there)
    expect(mkRun(root, ['install', '--global'], ge).status).toBe(0);
    expect(readFileSync(cfg, 'utf8')).toMatch(/process = .*filter-process/);
    const trace = join(root, 'clone.trace');
    gx(root, ['clone', '-q', bare, 'with-global'], { ...ge, GIT_TRACE_PACKET: trace });
    const B = join(root, 'with-global');
    for (const [p, s] of Object.entries(sums)) expect(fileSha(join(B, p)), p).toBe(s);
    const t = readFileSync(trace, 'utf8');
    expect(t.match(/status=delayed/g)?.length).toBe(2);
    // One list_available_blobs answered with both files, one more answered with none.
    expect(t.match(/command=list_available_blobs/g)?.length).toBe(2);
    expect(gx(B, ['status', '--porcelain'], ge).stdout).toBe('');
    // With the global filter, git add of a new track: file in this clone stores a pointer, never the bytes.
    identify(B);
    const fresh = writeRandom(join(B, 'fresh.onnx'), 2 << 20);
    gx(B, ['add', 'fresh.onnx'], ge);
    expect(largestObject(B)).toBeLessThan(4096);
    expect(storedPointer(B, ':fresh.onnx').digest).toBe(fresh);
    // mk install --global gave Git's template mk's post-checkout: the clone got the rest of mk's hooks at its first checkout.
    const st = mkRun(B, ['status'], ge);
    expect(st.stderr).not.toMatch(/lacks mk's hooks/);
    expect(readFileSync(join(B, '.git', 'hooks', 'pre-commit'), 'utf8')).toContain('mk-hook-shim');
    expect(mkRun(root, ['uninstall', '--global'], ge).status).toBe(0);
    expect(readFileSync(cfg, 'utf8')).not.toContain('filter-process');
  });

  it('git clone with the global filter but no remote data: the files keep their pointer text, one warning, the checkout succeeds; mk pull restores them later', () => {
    const cfg = globalConfig('offline');
    const ge = { GIT_CONFIG_GLOBAL: cfg, XDG_CONFIG_HOME: join(root, 'xdg-offline') };
    expect(mkRun(root, ['install', '--global'], ge).status).toBe(0);
    const emptyStore = join(root, 'empty-store');
    const other = newRepo(join(root, 'unpushed'), { filter: true });
    mk(other, 'remote', 'add', 'origin', emptyStore);
    const s = writeRandom(join(other, MODEL), 1 << 20);
    g(other, 'add', '-A');
    g(other, 'commit', '-q', '-m', 'not pushed');
    const r = gitRun(root, ['clone', other, 'offline'], ge);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('mk: '))).toEqual([expect.stringMatching(/1 file left as pointer text.*mk pull/)]);
    const B = join(root, 'offline');
    expect(readFileSync(join(B, MODEL), 'utf8')).toMatch(/^mk: 1$/m);
    expect(mkRun(B, ['status', '--json'], ge).stdout).toMatch(/"workspace":\s*"deleted"/);
    // The data reaches the remote; mk pull restores the file and Git sees it clean.
    mk(other, 'push');
    const p = mkRun(B, ['pull'], ge);
    expect(p.status, p.stderr).toBe(0);
    expect(fileSha(join(B, MODEL))).toBe(s);
    expect(gx(B, ['status', '--porcelain'], ge).stdout).toBe('');
  });

  it('a clone without any mk setup: files are pointer text, git add of a track: file stores its bytes in Git (git cannot be stopped without mk); the per-clone mk install then catches it at commit', () => {
    g(root, 'clone', '-q', bare, 'bare-clone');
    const B = join(root, 'bare-clone');
    identify(B);
    expect(readFileSync(join(B, MODEL), 'utf8')).toMatch(/^mk: 1$/m);
    const s = mkRun(B, ['status']);
    expect(s.stderr).toMatch(/lacks mk's hooks and Git filter/);
    // Without the filter configured, git ignores filter=mk: the bytes go into .git/objects.
    const big = writeRandom(join(B, 'new.onnx'), 2 << 20);
    g(B, 'add', 'new.onnx');
    expect(largestObject(B)).toBeGreaterThanOrEqual(2 << 20);
    // mk install (this clone): the pre-commit hook sends the staged bytes through the filter.
    mk(B, 'install');
    const c = gitRun(B, ['commit', '-m', 'new model']);
    expect(c.status, c.stderr).toBe(0);
    expect(storedPointer(B, 'HEAD:new.onnx').digest).toBe(big);
    // And mk pull restores the files git left as pointer text.
    const p = mkRun(B, ['pull']);
    expect(p.status, p.stderr).toBe(0);
    for (const [f, sum] of Object.entries(sums)) expect(fileSha(join(B, f)), f).toBe(sum);
    expect(g(B, 'status', '--porcelain')).toBe('');
    // From now on git add goes through the filter.
    writeRandom(join(B, 'next.onnx'), 2 << 20);
    const before = largestObject(B);
    g(B, 'add', 'next.onnx');
    expect(largestObject(B)).toBe(before);
  });

  it('mk clone sets up hooks and filter and restores the files', () => {
    const r = mkRun(root, ['clone', bare, 'mk-clone']);
    expect(r.status, r.stderr).toBe(0);
    const B = join(root, 'mk-clone');
    for (const [p, s] of Object.entries(sums)) expect(fileSha(join(B, p)), p).toBe(s);
    expect(r.stderr).not.toMatch(/lacks/);
    expect(g(B, 'status', '--porcelain')).toBe('');
  });
});

describe('mk migrate', () => {
  it('converts a legacy repository (file pointers beside the data) and push, clone and restore still work', () => {
    const L = newRepo(join(root, 'legacy'));
    const store = join(root, 'legacy-store');
    mk(L, 'remote', 'add', 'origin', store);
    const s = writeRandom(join(L, 'models', 'net.bin'), SIZE);
    mk(L, 'add', 'models/net.bin', '--kind', 'model');
    writeRandom(join(L, 'data', 'ds', 'a.csv'), 100);
    mk(L, 'add', 'data/ds');
    g(L, 'commit', '-q', '-m', 'legacy');
    expect(treeFiles(L)).toContain('models/net.bin.mk.yaml');
    const digest = /digest: sha256:([0-9a-f]{64})/.exec(g(L, 'show', 'HEAD:models/net.bin.mk.yaml'))![1];
    const dry = mk(L, 'migrate', '--dry-run');
    expect(dry).toMatch(/would convert\s+models\/net\.bin/);
    expect(existsSync(join(L, 'models', 'net.bin.mk.yaml'))).toBe(true);
    const blobs = readdirSync(join(L, '.git', 'mk', 'cache', 'blobs', 'sha256')).length;
    mk(L, 'migrate');
    const c = gitRun(L, ['commit', '-m', 'migrate']);
    expect(c.status, c.stderr).toBe(0);
    const files = treeFiles(L);
    expect(files).not.toContain('models/net.bin.mk.yaml');
    expect(files).toContain('models/net.bin');
    expect(files).toContain('data/ds.mk.yaml'); // folders keep their pointers
    expect(g(L, 'show', 'HEAD:models/.gitignore').split('\n')).not.toContain('/net.bin');
    const p = storedPointer(L, 'HEAD:models/net.bin');
    expect(p.digest).toBe(digest);
    expect(p.text).toMatch(/^kind: model$/m);
    expect(readdirSync(join(L, '.git', 'mk', 'cache', 'blobs', 'sha256')).length).toBe(blobs);
    expect(g(L, 'show', 'HEAD:Kitfile')).toMatch(/path: models\/net\.bin/);
    expect(g(L, 'status', '--porcelain')).toBe('');
    mk(L, 'push');
    const bare = join(root, 'legacy.git');
    g(root, 'clone', '-q', '--bare', L, bare);
    const r = mkRun(root, ['clone', bare, 'legacy-clone']);
    expect(r.status, r.stderr).toBe(0);
    const B = join(root, 'legacy-clone');
    expect(fileSha(join(B, 'models', 'net.bin'))).toBe(s);
    expect(fileSha(join(B, 'data', 'ds', 'a.csv'))).toBe(fileSha(join(L, 'data', 'ds', 'a.csv')));
  });
});

describe('hostile pointers in smudge', () => {
  let R: string;
  let good: string;

  beforeAll(() => {
    R = newRepo(join(root, 'hostile'), { filter: true });
    good = writeRandom(join(R, MODEL), 1 << 20);
    g(R, 'add', '-A');
    g(R, 'commit', '-q', '-m', 'good');
  });

  /** Stages `text` as the blob of `path` (as a crafted commit would carry it), then asks git to check it out. */
  function checkoutCrafted(path: string, text: string): Run {
    const blob = execFileSync('git', ['hash-object', '-w', '--no-filters', '--stdin'], { cwd: R, input: text, encoding: 'utf8', env: env() }).trim();
    g(R, 'update-index', '--add', '--cacheinfo', `100644,${blob},${path}`);
    const f = join(R, path);
    if (existsSync(f)) renameSync(f, f + '.away');
    return gitRun(R, ['checkout', '--', path]);
  }

  const pointer = (digest: string, size: number) => `mk: 1\nkind: model\ntype: file\ndigest: ${digest}\nsize: ${size}\n`;

  it('a bad digest, a wrong size and a folder pointer are refused: no data is written, the file keeps its pointer text', () => {
    for (const [name, text] of [
      ['bad-digest.onnx', pointer('sha256:../../../etc/passwd', 10)],
      ['wrong-size.onnx', pointer(`sha256:${good}`, 10)],
      ['folder.onnx', `mk: 1\nkind: model\ntype: dir\ndigest: sha256:${good}\nsize: 10\nfiles: 1\n`],
    ] as const) {
      const r = checkoutCrafted(name, text);
      // (git's own exit status is the post-checkout hook's, which says the data was not restored.)
      expect(r.stderr.match(/mk: refusing to check out/g), name).toHaveLength(1);
      expect(r.stderr, name).toMatch(/left as its pointer text/);
      expect(readFileSync(join(R, name), 'utf8'), name).toBe(text);
      // What the smudge left, the clean gives back: git sees no change in the work tree.
      expect(g(R, 'diff', '--name-only', '--', name), name).toBe('');
    }
  });

  it('a commit with a hostile pointer: git switch finishes instead of stopping midway, and switching back restores the file', () => {
    const R = newRepo(join(root, 'hostile-switch'), { filter: true });
    const good = writeRandom(join(R, MODEL), 1 << 20);
    const other = writeRandom(join(R, 'other.onnx'), 50_000);
    writeFileSync(join(R, 'code.txt'), 'v1\n');
    g(R, 'add', '-A');
    g(R, 'commit', '-q', '-m', 'before');
    const before = head(R);
    // A commit whose model.onnx is a hostile pointer, and whose other files change too
    // (made with plumbing, as a crafted branch would arrive by fetch).
    const idx = join(root, 'hostile.index');
    const genv = { GIT_INDEX_FILE: idx };
    gx(R, ['read-tree', before], genv);
    const hostile = execFileSync('git', ['hash-object', '-w', '--no-filters', '--stdin'], { cwd: R, input: pointer('sha256:../../../etc/passwd', 10), encoding: 'utf8', env: env() }).trim();
    const code = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: R, input: 'v2\n', encoding: 'utf8', env: env() }).trim();
    gx(R, ['update-index', '--cacheinfo', `100644,${hostile},${MODEL}`, '--cacheinfo', `100644,${code},code.txt`], genv);
    const tree = gx(R, ['write-tree'], genv).stdout.trim();
    const bad = gx(R, ['commit-tree', '-p', before, '-m', 'hostile', tree]).stdout.trim();
    g(R, 'branch', 'hostile', bad);

    const r = gitRun(R, ['switch', 'hostile']);
    expect(r.stderr).toMatch(/mk: refusing to check out model\.onnx: .*left as its pointer text/);
    expect(head(R)).toBe(bad); // the switch finished: HEAD moved
    expect(readFileSync(join(R, 'code.txt'), 'utf8')).toBe('v2\n');
    expect(readFileSync(join(R, MODEL), 'utf8')).toMatch(/^digest: sha256:\.\.\/\.\.\//m);
    expect(fileSha(join(R, 'other.onnx'))).toBe(other);
    expect(g(R, 'status', '--porcelain')).toBe('');
    // Nothing was lost: back on main, the model's bytes come back.
    gx(R, ['switch', 'main']);
    expect(fileSha(join(R, MODEL))).toBe(good);
    expect(readFileSync(join(R, 'code.txt'), 'utf8')).toBe('v1\n');
    expect(g(R, 'status', '--porcelain')).toBe('');
  });

  it('a blob whose bytes do not match its digest is refused (and dropped from the cache)', () => {
    const fake = sha256('not the bytes');
    const blob = join(R, '.git', 'mk', 'cache', 'blobs', 'sha256', fake);
    writeFileSync(blob, Buffer.alloc(2 << 20, 7));
    const r = checkoutCrafted('tampered.onnx', pointer(`sha256:${fake}`, 2 << 20));
    expect(r.status).not.toBe(0);
    expect(existsSync(join(R, 'tampered.onnx'))).toBe(false);
    expect(existsSync(blob)).toBe(false);
  });
});

describe('the pre-commit hook reads the index once per state of it', () => {
  it('what the hook stages itself (a large file sent through the filter, a folder pointer recorded again) is what its later steps see: the Kitfile, the pointer state, the fast path', () => {
    const R = newRepo(join(root, 'restaged'), { filter: true });
    setThreshold(R, '512KiB');
    writeRandom(join(R, 'ds', 'a.bin'), 4096);
    writeRandom(join(R, 'ds', 'b.bin'), 4096);
    mk(R, 'add', 'ds/');
    g(R, 'add', '-A');
    g(R, 'commit', '-q', '-m', 'a dataset');
    const before = g(R, 'rev-parse', 'HEAD:ds.mk.yaml').trim();
    // Staged as bytes by plain git: the hook cleans it through the filter (a git add of its own)
    // and records the changed folder (its pointer staged again), then lists the index once more.
    const big = writeRandom(join(R, 'data', 'big.bin'), 1 << 20);
    writeRandom(join(R, 'ds', 'a.bin'), 4096);
    g(R, 'add', 'data/big.bin');
    const c = gitRun(R, ['commit', '-m', 'a large file and the dataset changed']);
    expect(c.status, c.stderr).toBe(0);
    expect(storedPointer(R, 'HEAD:data/big.bin').digest).toBe(big);
    expect(g(R, 'show', 'HEAD:Kitfile')).toMatch(/path: data\/big\.bin/);
    const after = g(R, 'rev-parse', 'HEAD:ds.mk.yaml').trim();
    expect(after).not.toBe(before);
    // The pointer state the hook wrote last is the index's as it left it (the new folder pointer), not as it found it.
    const state = readFileSync(join(R, '.git', 'mk', 'pointers'), 'utf8');
    expect(state).toBe(g(R, 'ls-files', '--format=%(objectname) %(path)', '--', '*.mk.yaml'));
    expect(state).toContain(`${after} ds.mk.yaml`);
    expect(g(R, 'status', '--porcelain')).toBe('');
    // A commit with nothing for mk: the hook runs in full once and writes its fast path, whose
    // check of the pointers (their `git ls-files -s` summed) holds for the index it leaves.
    writeFileSync(join(R, 'train.py'), 'print("train")\n');
    g(R, 'add', 'train.py');
    g(R, 'commit', '-q', '-m', 'code only');
    const script = readFileSync(join(R, '.git', 'mk', 'pre-commit-fast.sh'), 'utf8').split('\n');
    const sum = script.find((l) => l.includes('| cksum'));
    expect(sum).toBeDefined();
    const check = spawnSync('sh', ['-c', sum!], { cwd: R, env: env(), encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
  });
});
