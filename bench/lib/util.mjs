// Small helpers shared by the benchmark scripts: statistics, formatting, file sizes.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export function max(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length ? Math.max(...v) : undefined;
}

export function fmtSeconds(s) {
  if (s === undefined) return '?';
  if (s < 0.001) return `${(s * 1e6).toFixed(0)} µs`;
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 1 : 0)} ms`;
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 120) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function fmtBytes(n) {
  if (n === undefined) return '?';
  const neg = n < 0;
  let v = Math.abs(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const s = i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[i]}`;
  return neg ? `-${s}` : s;
}

export function fmtRatio(r) {
  if (r === undefined || !Number.isFinite(r)) return 'n/a';
  if (r >= 100) return `${r.toFixed(0)}×`;
  if (r >= 10) return `${r.toFixed(1)}×`;
  if (r >= 0.1) return `${r.toFixed(2)}×`;
  return `${r.toFixed(3)}×`;
}

/** Sum of the apparent sizes of the regular files under `p` (0 if it does not exist). */
export function dirSize(p) {
  let st;
  try {
    st = lstatSync(p);
  } catch {
    return 0;
  }
  if (st.isFile()) return st.size;
  if (!st.isDirectory()) return 0;
  let total = 0;
  const stack = [p];
  while (stack.length) {
    const d = stack.pop();
    let ents;
    try {
      ents = readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of ents) {
      const f = join(d, e.name);
      if (e.isDirectory()) stack.push(f);
      else if (e.isFile()) {
        try {
          total += lstatSync(f).size;
        } catch {
          /* vanished */
        }
      }
    }
  }
  return total;
}

/** Number of regular files under `p`, and the list when `list` is set. */
export function listFiles(p, rel = '') {
  const out = [];
  let st;
  try {
    st = lstatSync(p);
  } catch {
    return out;
  }
  if (st.isFile()) return [rel || '.'];
  if (!st.isDirectory()) return out;
  for (const e of readdirSync(p, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(join(p, e.name), r));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

export function sha256File(p) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(p, { highWaterMark: 4 * MiB })
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

export function rmrf(p) {
  if (existsSync(p)) rmSync(p, { recursive: true, force: true, maxRetries: 3 });
}

/** The most telling line of a failed command's output: an error/fatal line if any, else the first. */
export function firstErrorLine(text) {
  const lines = String(text ?? '')
    .split(/\r?\n/)
    .map((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').trim())
    .filter(Boolean);
  const telling = lines.find((l) => /(^|\b)(error|fatal|failed|cannot|denied|not found|no such|exception|traceback)\b/i.test(l));
  const line = telling ?? lines[0] ?? 'failed with no output';
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

export function nowIso() {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export function log(...parts) {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[${t}] ${parts.join(' ')}\n`);
}
