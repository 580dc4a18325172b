/**
 * Same commit in, same bytes out. A team shares a Git repository (a bare repo) and a
 * local-layout remote. Two teammates clone it into unrelated directories, one with a
 * restrictive umask, and each builds the ModelKit of the commit: the manifest digests are
 * those the author published. One teammate even rebuilds the dataset from scratch
 * (files created in reverse order, old mtimes, umask 077, an empty cache) and still gets
 * the same pointer and the same ModelKit. Then `mk verify` proves what the remote holds,
 * and catches a corrupted blob.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MK_BIN, git, gitEnv, mk, mkJson, mkRun, tempDir } from '../../support/repo.js';
import { peer } from '../../support/peers.js';
import { DATASET, makeProject, MODEL, pushUpstream, type Project } from './project.js';
import { tool } from './tools.js';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a shell script with a given umask (a different process state than the test runner's). */
function sh(cwd: string, script: string): string {
  const r = spawnSync('sh', ['-c', script], { cwd, encoding: 'utf8', env: gitEnv() });
  if (r.status !== 0) throw new Error(`sh -c ${script} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}
const mkSh = (args: string) => `${q(process.execPath)} ${q(MK_BIN)} ${args}`;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

describe('one commit, one ModelKit, wherever it is built', () => {
  const tmp = tempDir('mk-repro-');
  let author: Project;
  let layout: string;
  let bare: string;
  let published: { commit: string; digest: string };
  let cloneA: string;
  let cloneB: string;

  beforeAll(() => {
    author = makeProject();
    layout = join(tmp.dir, 'team-store');
    mk(author.dir, 'remote', 'add', 'store', layout);
    git(author.dir, 'commit', '-q', '-m', 'share through a local layout');
    pushUpstream(author.dir); // mk push tags main: the upstream's branch
    published = mkJson(author.dir, 'push').modelkits[0];
    bare = join(tmp.dir, 'proj.git');
    git(tmp.dir, 'clone', '-q', '--bare', author.dir, bare);
    // Clone A: an ordinary clone.
    cloneA = join(tmp.dir, 'alice', 'proj');
    mkdirSync(dirname(cloneA), { recursive: true });
    git(tmp.dir, 'clone', '-q', bare, cloneA);
    mk(cloneA, 'pull');
    // Clone B: elsewhere, under a path with spaces, with umask 077 for clone and pull.
    cloneB = join(tmp.dir, 'bob home', 'work dir', 'other-name');
    mkdirSync(dirname(cloneB), { recursive: true });
    sh(tmp.dir, `umask 077 && git clone -q ${q(bare)} ${q(cloneB)} && cd ${q(cloneB)} && ${mkSh('pull')}`);
  });
  afterAll(() => {
    author?.cleanup();
    tmp.cleanup();
  });

  describe('two clones build the same ModelKit as the author', () => {
    const buildDigest = (dir: string) => mkJson(dir, 'modelkit', 'build').digest as string;

    it('both clones got the data of the commit from the shared layout', () => {
      for (const clone of [cloneA, cloneB]) {
        expect(readFileSync(join(clone, MODEL)).equals(readFileSync(join(author.dir, MODEL)))).toBe(true);
        expect(filesUnder(join(clone, DATASET))).toEqual(filesUnder(join(author.dir, DATASET)));
      }
      expect(statSync(join(cloneB, 'README.md')).mode & 0o777).toBe(0o600); // the umask did apply to git's files
    });

    it('each clone builds exactly the manifest the author published', () => {
      expect(buildDigest(cloneA)).toBe(published.digest);
      expect(buildDigest(cloneB)).toBe(published.digest);
      expect(buildDigest(author.dir)).toBe(published.digest);
    });

    it('file times, umask and the path of the clone change nothing, even building under umask 077', () => {
      sh(cloneA, `find . -path ./.git -prune -o -exec touch -h -d '2001-02-03 04:05:06' {} +`);
      expect(buildDigest(cloneA)).toBe(published.digest);
      const out = sh(cloneB, `umask 077 && ${mkSh('modelkit build --json')}`);
      expect(JSON.parse(out).digest).toBe(published.digest);
    });

    it('rebuilding the dataset from scratch (reverse creation order, old mtimes, umask 077, empty cache) gives the same pointer and ModelKit', () => {
      // A third clone that takes nothing from the remote: its files are written here, in reverse path order.
      const cloneC = join(tmp.dir, 'carol', 'c');
      mkdirSync(dirname(cloneC), { recursive: true });
      git(tmp.dir, 'clone', '-q', bare, cloneC);
      const files = filesUnder(join(author.dir, DATASET)).reverse();
      const listFile = join(tmp.dir, 'reverse-list');
      writeFileSync(listFile, files.join('\n') + '\n');
      sh(
        cloneC,
        [
          'umask 077',
          `while IFS= read -r f; do mkdir -p "${DATASET}/$(dirname "$f")" && cat ${q(join(author.dir, DATASET))}/"$f" > "${DATASET}/$f"; done < ${q(listFile)}`,
          `chmod 700 ${DATASET}/bin/prepare.sh`,
          `find ${DATASET} -exec touch -d '1999-12-31 23:59:59' {} +`,
          mkSh(`add ${DATASET}`),
        ].join(' && '),
      );
      expect(existsSync(join(cloneC, '.git/mk/cache'))).toBe(true);
      expect(statSync(join(cloneC, DATASET, files[0]!)).mode & 0o777).toBe(0o600);
      // The pointer (the digest of the file list, which names every pack by digest) did not change.
      expect(git(cloneC, 'status', '--porcelain')).toBe('');
      expect(buildDigest(cloneC)).toBe(published.digest);
    });

    it('mk modelkit build is stable run after run, with the layer memo gone', () => {
      const first = mkJson(cloneA, 'modelkit', 'build');
      rmSync(join(cloneA, '.git/mk/tree-layers.json'), { force: true });
      const second = mkJson(cloneA, 'modelkit', 'build');
      expect(second).toEqual(first);
    });
  });

  describe('mk verify compares the remote with a rebuild, blob by blob', () => {
    let proj: Project;
    let built: { digest: string; config: { digest: string }; layers: Array<{ digest: string; mediaType: string }> };

    beforeAll(() => {
      proj = author;
      built = mkJson(proj.dir, 'modelkit', 'build');
    });

    const blobPath = (digest: string) => join(layout, 'blobs', 'sha256', digest.slice(7));

    /** Flips one byte of a blob of the remote, runs `mk verify HEAD`, then puts the byte back. */
    function withCorrupted(digest: string, at: number, check: () => void): void {
      const p = blobPath(digest);
      const orig = readFileSync(p);
      const bad = Buffer.from(orig);
      bad[at] = bad[at]! ^ 0x20;
      chmodSync(p, 0o644);
      writeFileSync(p, bad);
      try {
        check();
      } finally {
        writeFileSync(p, orig);
        chmodSync(p, 0o444);
      }
    }

    it('passes right after the push', () => {
      const r = mkRun(proj.dir, ['verify', 'HEAD']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`rebuilt  ${built.digest}`);
      expect(r.stdout).toContain(`remote   ${built.digest}`);
      expect(r.stdout).toContain('OK: the remote holds exactly');
      const json = mkJson(proj.dir, 'verify', 'HEAD');
      expect(json.ok).toBe(true);
      expect(json.status).toBe('ok');
      expect(json.blobs.every((b: { ok: boolean }) => b.ok)).toBe(true);
      // By ModelKit reference too: the revision annotation names the commit to rebuild.
      for (const ref of [`store:${published.commit}`, `oci:${layout}:main`]) {
        const v = mkJson(proj.dir, 'verify', ref);
        expect(v).toMatchObject({ ok: true, commit: published.commit, expected: built.digest, actual: built.digest });
      }
    });

    it('fails, naming the blob, when a dataset pack in the remote is corrupted', () => {
      const pack = built.layers.find((l) => l.mediaType.endsWith('dataset.v1.tar'))!;
      withCorrupted(pack.digest, 1000, () => {
        const r = mkRun(proj.dir, ['verify', 'HEAD']);
        expect(r.status).not.toBe(0);
        expect(r.stdout).toContain(`BAD ${pack.digest}`);
        expect(r.stdout).toMatch(/MISMATCH$/m);
        expect(r.status).toBe(1);
      });
    });

    it('fails when the model blob in the remote is corrupted', () => {
      const model = built.layers.find((l) => l.mediaType.endsWith('model.v1.raw'))!;
      withCorrupted(model.digest, 5_000_000, () => {
        const r = mkRun(proj.dir, ['verify', 'HEAD']);
        expect(r.status).not.toBe(0);
        expect(r.stdout).toContain(`BAD ${model.digest}`);
        expect(r.stdout).toContain('MISMATCH');
      });
    });

    it('fails when the config blob in the remote is corrupted', () => {
      withCorrupted(built.config.digest, 5, () => {
        const r = mkRun(proj.dir, ['verify', 'HEAD']);
        expect(r.status).not.toBe(0);
        expect(r.stdout).toContain(`BAD ${built.config.digest}`);
      });
    });

    it('fails when the manifest blob in the remote is corrupted, though its tag still names the right digest', () => {
      withCorrupted(built.digest, 20, () => {
        const r = mkRun(proj.dir, ['verify', 'HEAD']);
        expect(r.status).not.toBe(0);
        expect(r.stdout).toContain(`BAD ${built.digest}`);
        expect(r.stdout).toContain('MISMATCH');
      });
    });

    it('says "not published" (exit 3, with a hint to push), not MISMATCH, when the remote has no ModelKit for the commit', () => {
      git(proj.dir, 'commit', '-q', '--allow-empty', '-m', 'not pushed');
      const r = mkRun(proj.dir, ['verify', 'HEAD']);
      expect(r.status).toBe(3);
      expect(r.stdout).toContain('remote   (not published)');
      expect(r.stdout).toMatch(/^NOT PUBLISHED: the remote holds no ModelKit for this commit$/m);
      expect(r.stdout).not.toContain('MISMATCH');
      expect(r.stdout).not.toContain('blobs');
      expect(r.stderr).toBe("hint: publish it with 'mk push'\n");
      const j = mkRun(proj.dir, ['verify', 'HEAD', '--json']);
      expect(j.status).toBe(3);
      expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, status: 'not-published' });
      // The earlier commit still verifies.
      expect(mkRun(proj.dir, ['verify', 'HEAD~1']).status).toBe(0);
    });

    it('a copy of the ModelKit made by another tool (oras, layout to layout) verifies too', async () => {
      const copy = join(tmp.dir, 'copy');
      const commit = git(proj.dir, 'rev-parse', 'HEAD~1').trim();
      await tool(peer('oras'), ['cp', '--from-oci-layout', `${layout}:${commit}`, '--to-oci-layout', `${copy}:${commit}`], { env: { HOME: tmp.dir } });
      mk(proj.dir, 'remote', 'add', 'copy', copy);
      const r = mkRun(proj.dir, ['verify', 'HEAD~1', '-r', 'copy']);
      expect(r.status, r.stdout + r.stderr).toBe(0);
    });
  });
});
