// Deterministic, incompressible benchmark data: an AES-256-CTR keystream with a fixed key,
// one IV per file, so every run on every machine generates the same bytes, fast.
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GiB, KiB, MiB, fmtBytes, listFiles, log, rmrf, sha256File } from './util.mjs';

const GENERATOR = 'aes-256-ctr/v1';
const KEY = createHash('sha256').update('mk-bench key v1').digest();
const CHUNK = 16 * MiB;
const ZEROS = Buffer.alloc(CHUNK);

function ivFor(id, rel, variant) {
  return createHash('sha256').update(`${id}\0${rel}\0${variant}`).digest().subarray(0, 16);
}

/** Writes `size` keystream bytes for (id, rel, variant) into fd at `offset`. */
function writeKeystream(fd, id, rel, variant, size, offset = 0) {
  const c = createCipheriv('aes-256-ctr', KEY, ivFor(id, rel, variant));
  let done = 0;
  while (done < size) {
    const n = Math.min(CHUNK, size - done);
    const buf = c.update(n === CHUNK ? ZEROS : ZEROS.subarray(0, n));
    let w = 0;
    while (w < buf.length) w += writeSync(fd, buf, w, buf.length - w, offset + done + w);
    done += n;
  }
}

function keystream(id, rel, variant, size) {
  return createCipheriv('aes-256-ctr', KEY, ivFor(id, rel, variant)).update(Buffer.alloc(size));
}

/**
 * The three datasets. `path` is the top-level name inside the dataset root and inside each
 * benchmark repository; `files` are paths relative to that root. `change` is the one-file edit
 * used by the "change one file" steps.
 */
export function datasets(quick) {
  const big = quick ? 256 * MiB : 2 * GiB;
  const smallCount = quick ? 2000 : 20000;
  const mediumCount = quick ? 20 : 200;
  const folders = 20;
  const small = [];
  for (let i = 0; i < smallCount; i++) {
    const d = Math.floor((i * folders) / smallCount);
    small.push({ rel: `small/d${String(d).padStart(2, '0')}/f${String(i).padStart(5, '0')}.bin`, size: 16 * KiB });
  }
  const medium = [];
  for (let i = 0; i < mediumCount; i++) medium.push({ rel: `medium/f${String(i).padStart(3, '0')}.bin`, size: 10 * MiB });
  const mk = (id, title, path, isDir, files, change, lfsPattern) => ({
    id,
    title,
    path,
    isDir,
    files,
    totalBytes: files.reduce((a, f) => a + f.size, 0),
    change,
    lfsPattern,
  });
  return {
    big: mk(
      'big',
      `1 file of ${fmtBytes(big)}`,
      'big.bin',
      false,
      [{ rel: 'big.bin', size: big }],
      // Overwrite the first MiB in place: the file's digest changes, as after a partial rewrite.
      { rel: 'big.bin', offset: 0, length: 1 * MiB, what: 'first 1 MiB of big.bin rewritten in place' },
      'big.bin',
    ),
    small: mk(
      'small',
      `${smallCount.toLocaleString('en-US')} files of 16 KiB in ${folders} folders`,
      'small',
      true,
      small,
      { rel: small[Math.floor(smallCount / 2) + 7].rel, offset: 0, length: 16 * KiB, what: `one 16 KiB file rewritten (${small[Math.floor(smallCount / 2) + 7].rel})` },
      'small/**',
    ),
    medium: mk(
      'medium',
      `${mediumCount} files of 10 MiB`,
      'medium',
      true,
      medium,
      { rel: medium[Math.floor(mediumCount / 2)].rel, offset: 0, length: 10 * MiB, what: `one 10 MiB file rewritten (${medium[Math.floor(mediumCount / 2)].rel})` },
      'medium/**',
    ),
  };
}

function specOf(ds) {
  return { generator: GENERATOR, id: ds.id, files: ds.files.length, totalBytes: ds.totalBytes, first: ds.files[0].rel, last: ds.files[ds.files.length - 1].rel, size: ds.files[0].size };
}

/**
 * Makes sure the dataset exists under `root/<id>` (reusing it when the spec matches and every
 * file has its size), and fills ds.root, ds.origHash and ds.changedHash.
 */
export async function ensureDataset(ds, root) {
  const dir = join(root, ds.id);
  const specFile = join(dir, '.spec.json');
  const want = specOf(ds);
  let have;
  try {
    have = JSON.parse(readFileSync(specFile, 'utf8'));
  } catch {
    have = undefined;
  }
  const same =
    have &&
    JSON.stringify(have.spec) === JSON.stringify(want) &&
    ds.files.every((f) => {
      try {
        return statSync(join(dir, f.rel)).size === f.size;
      } catch {
        return false;
      }
    });
  if (!same) {
    log(`data: generating ${ds.id} (${ds.title}, ${fmtBytes(ds.totalBytes)}) in ${dir}`);
    const t0 = Date.now();
    rmrf(dir);
    const made = new Set();
    for (const f of ds.files) {
      const p = join(dir, f.rel);
      const d = dirname(p);
      if (!made.has(d)) {
        mkdirSync(d, { recursive: true });
        made.add(d);
      }
      if (f.size <= CHUNK) writeFileSync(p, keystream(ds.id, f.rel, 0, f.size));
      else {
        const fd = openSync(p, 'w');
        try {
          writeKeystream(fd, ds.id, f.rel, 0, f.size);
        } finally {
          closeSync(fd);
        }
      }
    }
    const origHash = await sha256File(join(dir, ds.change.rel));
    writeFileSync(specFile, JSON.stringify({ spec: want, origHash }, null, 2));
    log(`data: ${ds.id} generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    have = { spec: want, origHash };
  } else log(`data: reusing ${ds.id} (${ds.title}) in ${dir}`);
  ds.root = dir;
  ds.origHash = have.origHash;
  ds.changedHash = have.changedHash;
  ds.specFile = specFile;
  return ds;
}

/** Applies the dataset's one-file change inside a work tree at `repo`; returns the new sha256. */
export async function applyChange(ds, repo) {
  const p = join(repo, ds.change.rel);
  const size = ds.files.find((f) => f.rel === ds.change.rel).size;
  if (ds.change.offset === 0 && ds.change.length === size) {
    writeFileSync(p, keystream(ds.id, ds.change.rel, 1, size));
  } else {
    const fd = openSync(p, 'r+');
    try {
      writeKeystream(fd, ds.id, ds.change.rel, 1, ds.change.length, ds.change.offset);
    } finally {
      closeSync(fd);
    }
  }
  if (!ds.changedHash) {
    ds.changedHash = await sha256File(p);
    try {
      const s = JSON.parse(readFileSync(ds.specFile, 'utf8'));
      s.changedHash = ds.changedHash;
      writeFileSync(ds.specFile, JSON.stringify(s, null, 2));
    } catch {
      /* the cache of the hash is only a convenience */
    }
  }
  return ds.changedHash;
}

/** Checks the dataset inside `repo`: file count, and the changed file's content. Returns an error text or undefined. */
export async function verifyData(ds, repo, expectChanged) {
  const base = join(repo, ds.path);
  if (!existsSync(base)) return `${ds.path} is missing`;
  if (ds.isDir) {
    const n = listFiles(base).length;
    if (n !== ds.files.length) return `${ds.path} has ${n} files, expected ${ds.files.length}`;
  }
  const p = join(repo, ds.change.rel);
  let h;
  try {
    h = await sha256File(p);
  } catch (e) {
    return `${ds.change.rel}: ${e.code ?? e.message}`;
  }
  const want = expectChanged ? ds.changedHash : ds.origHash;
  if (want && h !== want) return `${ds.change.rel} has the wrong content (${expectChanged ? 'changed' : 'original'} version expected)`;
  return undefined;
}
