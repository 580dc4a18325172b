/**
 * The ML project the ModelKit stories share: a Git repository with mk, a model file large
 * enough for a raw layer, a dataset directory of several hundred small files in nested
 * folders (several packs, plus one file above the raw threshold and an executable), a
 * single dataset file, and a little code. Small packs (`storage.pack_target: 64KiB`) so a
 * few hundred KiB of files make several layers.
 */
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isFolderMarker, put, randomBytesFrom, rng, sha256File, type FileState } from '../../support/files.js';
import { git, makeRepo, mk } from '../../support/repo.js';

export const MODEL = 'models/model.bin';
export const DATASET = 'data/ds';
export const LABELS = 'data/labels.csv';
/** Inside the dataset, above `storage.raw_threshold`: a raw layer of its own. */
export const DATASET_BIG = 'data/ds/raw/embeddings.npy';

/** Names that exercise encoding in tar headers and paths. */
const SPECIAL = ['été/données 1.csv', '日本/表.tsv', 'with space/a b.txt', 'odd/[x] #1!.bin'];

/** Writes the dataset directory: `count` small files (plus specials, empties, a big one). */
export function writeDataset(root: string, count = 600, seed = 1): void {
  const rand = rng(seed);
  for (const name of SPECIAL) put(join(root, name), randomBytesFrom(rand, 50 + Math.floor(rand() * 500)));
  put(join(root, 'empty/none.txt'), '');
  put(join(root, 'bin/prepare.sh'), '#!/bin/sh\necho prepare\n', 0o755);
  put(join(root, 'raw/embeddings.npy'), randomBytesFrom(rand, 300 * 1024 + 7));
  for (let i = 0; i < count; i++) {
    const depth = 1 + (i % 3);
    const dirs = Array.from({ length: depth }, (_, d) => `s${d}_${(i >> (d + 1)) % 4}`);
    put(join(root, ...dirs, `r${String(i).padStart(4, '0')}.jsonl`), randomBytesFrom(rand, 64 + Math.floor(rand() * 2000)));
  }
}

export interface Project {
  dir: string;
  cleanup: () => void;
  commit: string;
}

/** Creates and commits the project (data tracked with `mk add`, Kitfile synced by mk). */
export function makeProject(): Project {
  const repo = makeRepo();
  appendFileSync(join(repo.dir, '.mk/config.yaml'), 'storage:\n  pack_target: 64KiB\n  raw_threshold: 256KiB\n');
  put(join(repo.dir, MODEL), randomBytesFrom(rng(7), 12 * 1024 * 1024 + 3));
  writeDataset(join(repo.dir, DATASET));
  put(join(repo.dir, LABELS), 'id,label\n1,cat\n2,dog\n3,bird\n');
  put(join(repo.dir, 'src/train.py'), 'import sys\nprint("training", sys.argv)\n');
  put(join(repo.dir, 'src/lib/features.py'), 'def features(x):\n    return [x, x * x]\n');
  put(join(repo.dir, 'scripts/run.sh'), '#!/bin/sh\npython src/train.py "$@"\n', 0o755);
  put(join(repo.dir, 'README.md'), '# demo\n\nA model, a dataset, a script.\n');
  mk(repo.dir, 'add', MODEL, DATASET, LABELS);
  git(repo.dir, 'add', '-A');
  git(repo.dir, 'commit', '-q', '-m', 'model, data and code');
  return { ...repo, commit: git(repo.dir, 'rev-parse', 'HEAD').trim() };
}

/**
 * Gives the project a Git remote (a bare repository inside its .git folder, gone with it) and
 * pushes main there, without hooks: `mk push` then tags the ModelKit with the upstream's
 * branch name, `main`, besides the commit id (it never tags a local branch name).
 */
export function pushUpstream(dir: string): void {
  const bare = join(dir, '.git', 'test-origin.git');
  git(dir, 'init', '-q', '--bare', '-b', 'main', bare);
  git(dir, 'remote', 'add', 'origin', bare);
  git(dir, 'push', '-q', '-u', 'origin', 'main');
}

/**
 * What unpacking the commit's ModelKit must give: every file of the work tree (code from
 * the commit, tracked data restored), except `.git`, the Kitfile (kit writes its own
 * from the config) and the markers Git tracks in mk's folders (Git's bookkeeping, not data).
 */
export function workTreeFiles(dir: string): Map<string, FileState> {
  const out = new Map<string, FileState>();
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (rel === '.git' || rel === 'Kitfile') continue;
      const p = join(d, e.name);
      if (isFolderMarker(p)) continue; // Git's file in a tracked folder: not in the ModelKit
      if (e.isDirectory()) walk(p, rel);
      else {
        const st = statSync(p);
        out.set(rel, { sha: sha256File(p), size: st.size, mode: st.mode & 0o777 });
      }
    }
  };
  walk(dir, '');
  return out;
}

/** Only the entries under `prefix`. */
export function under(m: Map<string, FileState>, ...prefixes: string[]): Map<string, FileState> {
  return new Map([...m].filter(([p]) => prefixes.some((x) => p === x || p.startsWith(x + '/'))));
}

export function withoutKitfile(m: Map<string, FileState>): Map<string, FileState> {
  return new Map([...m].filter(([p]) => p !== 'Kitfile'));
}

export function readJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
