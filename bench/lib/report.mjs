// Turns Results into the markdown report (docs/BENCHMARKS.md) that is also printed.
import { FLOORS } from '../tools/floors.mjs';
import { fmtBytes, fmtRatio, fmtSeconds, max, median, MiB } from './util.mjs';

export const ROWS = [
  { id: 'add', label: 'add + commit', unit: 'time', floors: ['sha256', 'cp'] },
  { id: 'status', label: 'status, nothing changed', unit: 'time', floors: ['stat'] },
  { id: 'noop', label: 'no-op commit', unit: 'time', floors: ['git'] },
  { id: 'push', label: 'push (data + git)', unit: 'time', floors: ['skopeo-push', 'cp'] },
  { id: 'readd', label: 'add + commit after changing 1 file', unit: 'time', floors: ['sha256-1'] },
  { id: 'growth', label: 'local store growth for that change', unit: 'bytes', floors: ['changed-bytes'] },
  { id: 'push2', label: 'push after changing 1 file', unit: 'time', floors: ['cp-1'] },
  { id: 'upload', label: 'bytes uploaded by that push', unit: 'bytes', floors: ['changed-bytes'] },
  { id: 'clone', label: 'fresh clone + restore', unit: 'time', floors: ['skopeo-pull', 'cp'] },
  // Like for like: mk with a local folder remote; the peers' cells are their push / clone rows (their remotes are local folders).
  { id: 'pushLocal', label: 'push, mk to a local folder remote (peers: their push row)', unit: 'time', floors: ['cp'], peerRow: 'push' },
  { id: 'cloneLocal', label: 'fresh clone + restore, mk from a local folder remote (peers: their clone row)', unit: 'time', floors: ['cp'], peerRow: 'clone' },
  { id: 'switch', label: 'switch revisions (1 file differs)', unit: 'time', floors: ['cp-1'] },
  { id: 'dirty', label: 'status after changing 1 file (git status; mk status for folders, dvc status)', unit: 'time', floors: ['sha256-1'] },
  { id: 'rename', label: 'rename the data + commit', unit: 'time', floors: ['git'] },
  { id: 'renameUpload', label: 'bytes uploaded by the push after the rename', unit: 'bytes', floors: ['none'] },
];

const FLOOR_SHORT = {
  sha256: 'sha256',
  cp: 'cp -r',
  stat: 'stat walk',
  git: 'plain git',
  'skopeo-push': 'skopeo push',
  'skopeo-pull': 'skopeo pull',
  'sha256-1': 'sha256 of 1 file',
  'cp-1': 'cp of 1 file',
  'changed-bytes': 'the file',
  none: 'nothing',
};

const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Median of a cell (seconds or bytes), or undefined. */
export function value(cell, unit) {
  if (!cell) return undefined;
  return unit === 'time' ? median(cell.times.map((t) => t.wall)) : median(cell.bytes);
}

export function peakRss(cell) {
  return cell ? max(cell.times.map((t) => t.rss)) : undefined;
}

function renderCell(cell, unit, { rss = true } = {}) {
  if (!cell) return 'n/a: not measured';
  const n = unit === 'time' ? cell.times.length : cell.bytes.length;
  if (n === 0) {
    if (cell.errors.length) return cell.errors[0];
    return cell.na ?? 'n/a: not measured';
  }
  let s;
  if (unit === 'time') {
    s = fmtSeconds(value(cell, unit));
    const walls = cell.times.map((t) => t.wall);
    if (walls.length >= 3 && rss) {
      const spread = (Math.max(...walls) - Math.min(...walls)) / 2 / value(cell, unit);
      if (spread >= 0.05) s += ` ±${Math.round(spread * 100)}%`;
    }
    const r = peakRss(cell);
    if (rss && r !== undefined) s += ` · ${fmtBytes(r)}`;
  } else s = fmtBytes(value(cell, unit));
  if (cell.errors.length) s += ` (${cell.errors.length} run(s) failed: ${cell.errors[0]})`;
  return s;
}

function ratio(a, b) {
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
}

function ratioCell(a, b, why) {
  const r = ratio(a, b);
  if (r !== undefined) return fmtRatio(r);
  if (a !== undefined && b === 0) return 'n/a: peer is 0';
  return why ?? 'n/a';
}

export function datasetTable(results, ds, tools) {
  const d = results.data[ds.id] ?? {};
  const peers = tools.filter((t) => t.id !== 'mk');
  const head = ['step', ...tools.map((t) => t.label), 'floor', ...peers.map((p) => `mk/${p.label}`), 'mk/floor'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  const notes = [];
  for (const row of ROWS) {
    const own = d[row.id] ?? {};
    // Rows measured for mk only take the peers' cells (and floors) from the row they repeat.
    const r = row.peerRow ? { ...(d[row.peerRow] ?? {}), mk: own.mk } : own;
    if (row.peerRow && !own.mk) continue;
    const cells = [row.label];
    for (const t of tools) {
      cells.push(renderCell(r[t.id], row.unit));
      if (!row.peerRow || t.id === 'mk') for (const n of r[t.id]?.notes ?? []) notes.push(`${t.label}, ${row.label}: ${n}`);
    }
    const floorParts = row.floors.map((f) => {
      const c = r[`floor:${f}`];
      return `${FLOOR_SHORT[f]} ${renderCell(c, row.unit, { rss: false })}`;
    });
    cells.push(floorParts.join(' · '));
    const mkv = value(r.mk, row.unit);
    for (const p of peers) cells.push(ratioCell(mkv, value(r[p.id], row.unit)));
    cells.push(ratioCell(mkv, value(r[`floor:${row.floors[0]}`], row.unit)));
    lines.push(`| ${cells.map(esc).join(' | ')} |`);
  }
  return { table: lines.join('\n'), notes };
}

function verdict(ok) {
  return ok === undefined ? 'not measured' : ok ? '**met**' : '**missed**';
}

/** The DESIGN.md quality bars, checked against this run. */
export function targets(results, dsets, ctx) {
  const get = (ds, row, col) => results.get(ds, row, col);
  const v = (ds, row, col, unit = 'time') => value(get(ds, row, col), unit);
  const out = [];
  const big = dsets.big;
  const small = dsets.small;
  if (big) {
    const mk = v('big', 'add', 'mk');
    const fl = v('big', 'add', 'floor:sha256');
    const r = ratio(mk, fl);
    out.push([
      `adding ${big.title}: within 1.2× of \`openssl dgst -sha256\``,
      r !== undefined ? `mk ${fmtSeconds(mk)} vs sha256 ${fmtSeconds(fl)} = ${fmtRatio(r)}` : renderCell(get('big', 'add', 'mk'), 'time'),
      verdict(r === undefined ? undefined : r <= 1.2),
    ]);
  }
  if (small) {
    const mk = v('small', 'add', 'mk');
    const lfs = v('small', 'add', 'lfs');
    const dvc = v('small', 'add', 'dvc');
    const rl = ratio(mk, lfs);
    const rd = ratio(mk, dvc);
    out.push([
      `adding ${small.title}: at least 10× faster than Git LFS`,
      rl !== undefined ? `mk ${fmtSeconds(mk)} vs LFS ${fmtSeconds(lfs)} = ${fmtRatio(rl)}` : 'n/a: ' + (mk === undefined ? 'mk not measured' : 'Git LFS not measured'),
      verdict(rl === undefined ? undefined : rl <= 0.1),
    ]);
    out.push([
      `adding ${small.title}: faster than DVC`,
      rd !== undefined ? `mk ${fmtSeconds(mk)} vs DVC ${fmtSeconds(dvc)} = ${fmtRatio(rd)}` : 'n/a: ' + (mk === undefined ? 'mk not measured' : 'DVC not measured'),
      verdict(rd === undefined ? undefined : rd < 1),
    ]);
    const st = v('small', 'status', 'mk');
    out.push([
      `\`mk status\` with ${small.files.length.toLocaleString('en-US')} unchanged files: under 0.3 s`,
      st !== undefined ? fmtSeconds(st) : renderCell(get('small', 'status', 'mk'), 'time'),
      verdict(st === undefined ? undefined : st < 0.3),
    ]);
    const noop = v('small', 'noop', 'mk');
    const git = v('small', 'noop', 'floor:git');
    const hooked = !(get('small', 'noop', 'mk')?.notes ?? []).some((n) => n.startsWith('no mk pre-commit hook'));
    if (noop !== undefined && git !== undefined) {
      const over = noop - git;
      out.push([
        `a commit that changes no tracked data (${small.files.length.toLocaleString('en-US')} tracked files): under 100 ms of hook overhead`,
        hooked
          ? `no-op commit ${fmtSeconds(noop)} − plain git ${fmtSeconds(git)} = ${fmtSeconds(Math.max(0, over))}`
          : `no mk hook yet (commit ${fmtSeconds(noop)} = plain git); \`mk status\`, which a pre-commit hook would at least do, takes ${fmtSeconds(st)}`,
        hooked ? verdict(over < 0.1) : `pending (proxy: ${st !== undefined && st < 0.1 ? 'under' : 'over'} 100 ms)`,
      ]);
    } else out.push(['a commit that changes no tracked data: under 100 ms of hook overhead', renderCell(get('small', 'noop', 'mk'), 'time'), 'not measured']);
  }
  for (const ds of Object.values(dsets)) {
    for (const [row, fl, what] of [
      ['push', 'skopeo-push', 'push'],
      ['clone', 'skopeo-pull', 'pull (fresh clone + restore)'],
    ]) {
      const mk = v(ds.id, row, 'mk');
      const f = v(ds.id, row, `floor:${fl}`);
      const r = ratio(mk, f);
      const reg = ctx.mkRemote === 'registry' ? 'loopback registry' : 'local OCI layout (not a registry: --mk-remote layout)';
      const cp = row === 'clone' ? v(ds.id, row, 'floor:cp') : undefined;
      const nb = ctx.layoutInfo?.[ds.id]?.layers;
      const cpNote = cp !== undefined ? ` (skopeo writes ${nb ?? 'the'} blob${nb === 1 ? '' : 's'} only; restoring the files alone, \`cp -r\`, takes ${fmtSeconds(cp)})` : '';
      out.push([
        `${what} of ${ds.title} to a ${reg}: at least as fast as \`skopeo copy\` of the same blobs`,
        r !== undefined ? `mk ${fmtSeconds(mk)} vs skopeo ${fmtSeconds(f)} = ${fmtRatio(r)}${cpNote}` : renderCell(get(ds.id, row, 'mk'), 'time'),
        r === undefined ? (get(ds.id, row, 'mk')?.na ? 'pending' : 'not measured') : verdict(r <= 1),
      ]);
    }
  }
  for (const ds of Object.values(dsets).filter((d) => d.isDir)) {
    // "Uploads at most that file's group": the change adds one data blob (the group holding the
    // file: a pack of small files, or the file itself when it is stored raw) plus the manifest.
    const title = `a one-file change in ${ds.title}: uploads at most that file's group`;
    const up = ctx.mkUpload[ds.id] ?? [];
    const ch = ctx.mkChange[ds.id] ?? [];
    const worst = (xs) => xs.reduce((a, x) => (x.dataBlobs.length > (a?.dataBlobs.length ?? -1) ? x : a), undefined);
    const show = (x) =>
      `${x.dataBlobs.length} data blob(s) (${x.dataBlobs.map(fmtBytes).join(', ') || '-'})${x.manifestBytes !== undefined ? ` + ${fmtBytes(x.manifestBytes)} of directory manifest (root + changed file list)` : ''}`;
    const bytes = v(ds.id, 'upload', 'mk', 'bytes');
    if (up.length) {
      const w = worst(up);
      out.push([title, `${fmtBytes(bytes)} uploaded: ${show(w)}${w.other?.length ? ` + ${w.other.length} other` : ''} (worst repetition)`, verdict(w.dataBlobs.length <= 1)]);
    } else if (ch.length) {
      const w = worst(ch);
      out.push([
        title,
        `push: ${renderCell(get(ds.id, 'upload', 'mk'), 'bytes')}; the local store gained ${show(w)}`,
        `pending (local store: ${w.dataBlobs.length <= 1 ? 'one group' : `${w.dataBlobs.length} groups`})`,
      ]);
    } else out.push([title, renderCell(get(ds.id, 'upload', 'mk'), 'bytes'), 'not measured']);
  }
  // Living inside Git (issue 12): each everyday Git step within 1.5x of Git LFS on the same data.
  for (const ds of Object.values(dsets)) {
    const rows = [
      ['add', 'add + commit'],
      ['dirty', 'status after changing 1 file'],
      ['noop', 'no-op commit'],
      ['switch', 'switch revisions (1 file differs)'],
      ['clone', 'clone + restore'],
    ].map(([row, what]) => {
      const r = ratio(v(ds.id, row, 'mk'), v(ds.id, row, 'lfs'));
      return { what, r };
    });
    const measured = rows.filter((x) => x.r !== undefined);
    out.push([
      `${ds.title}: every everyday Git step within 1.5× of Git LFS`,
      measured.length ? rows.map((x) => `${x.what} ${x.r === undefined ? 'n/a' : fmtRatio(x.r)}`).join(', ') : 'n/a',
      measured.length ? verdict(measured.length === rows.length && measured.every((x) => x.r <= 1.5)) : 'not measured',
    ]);
  }
  const peaks = Object.values(dsets).map((ds) => {
    const all = ROWS.filter((r) => r.unit === 'time').map((r) => peakRss(get(ds.id, r.id, 'mk')));
    return [ds, max(all)];
  });
  const worst = max(peaks.map((p) => p[1]));
  out.push([
    'peak memory bounded (streaming), whatever the file size',
    peaks.map(([ds, p]) => `${ds.id}: ${p !== undefined ? fmtBytes(p) : '?'}`).join(', '),
    worst === undefined ? 'not measured' : verdict(worst < 512 * MiB) + ' (bar: < 512 MiB)',
  ]);
  return out;
}

export function peakMemoryTable(results, dsets, tools) {
  const head = ['dataset', ...tools.map((t) => t.label)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i ? '---:' : '---')).join('|')}|`];
  for (const ds of Object.values(dsets)) {
    const cells = [ds.title];
    for (const t of tools) {
      let best;
      let where;
      for (const r of ROWS.filter((x) => x.unit === 'time')) {
        const p = peakRss(results.get(ds.id, r.id, t.id));
        if (p !== undefined && (best === undefined || p > best)) {
          best = p;
          where = r.label;
        }
      }
      cells.push(best === undefined ? 'n/a' : `${fmtBytes(best)} (${where})`);
    }
    lines.push(`| ${cells.map(esc).join(' | ')} |`);
  }
  return lines.join('\n');
}

const TRANSPORT_ROWS = new Set(['push', 'push2', 'clone']);

/** Plain-language lines about where mk is behind a peer, computed from the medians. */
export function findings(results, dsets, tools, ctx) {
  const out = [];
  for (const ds of Object.values(dsets)) {
    for (const row of ROWS) {
      const own = results.data[ds.id]?.[row.id] ?? {};
      const r = row.peerRow ? { ...(results.data[ds.id]?.[row.peerRow] ?? {}), mk: own.mk } : own;
      const mk = value(r.mk, row.unit);
      if (mk === undefined) continue;
      for (const t of tools.filter((x) => x.id !== 'mk')) {
        const p = value(r[t.id], row.unit);
        if (p !== undefined && p > 0 && mk / p > 1.1 && (row.unit === 'bytes' || mk - p > 0.02)) {
          const f = (x) => (row.unit === 'time' ? fmtSeconds(x) : fmtBytes(x));
          const caveat =
            TRANSPORT_ROWS.has(row.id) && row.unit === 'time' && ctx.mkRemote === 'registry'
              ? ' (not like for like: mk talks HTTP to a registry, the peer copies into a local directory; the skopeo floor is the fair yardstick)'
              : '';
          out.push(`${ds.id}, ${row.label}: mk ${f(mk)} is ${fmtRatio(mk / p)} ${t.label} (${f(p)})${caveat}.`);
        }
      }
    }
  }
  return out;
}

export function renderReport({ results, dsets, tools, machine, meta, ctx }) {
  meta = { ...meta, findings: findings(results, dsets, tools, ctx) };
  const m = machine;
  const L = [];
  L.push('# Benchmarks');
  L.push('');
  L.push(`Generated by \`${meta.command}\` on ${m.date}: mode **${meta.mode}**, ${meta.reps} repetitions, medians shown. Rerun to refresh; do not edit by hand.`);
  if (meta.mode !== 'full') L.push('', `> **${meta.mode} mode**: scaled-down data, for validating the harness. The DESIGN targets name full-size data; treat verdicts here as indicative only.`);
  L.push('');
  L.push('## Machine');
  L.push('');
  L.push('| | |');
  L.push('|---|---|');
  L.push(`| CPU | ${esc(m.cpu)} — ${m.nproc} CPUs (nproc); SHA extensions: ${m.shaExtensions}; AES-NI: ${m.aes} |`);
  L.push(`| RAM | ${m.ram} |`);
  L.push(`| OS, kernel | ${esc(m.os)}, Linux ${m.kernel} |`);
  L.push(`| work dir | \`${m.workDir}\` on ${m.fs.type} (${m.fs.device} mounted at ${m.fs.mount}; ${m.fs.avail} free at start) |`);
  L.push(`| load average | at start ${meta.loadStart}; at end ${meta.loadEnd} (other work on the machine skews timings) |`);
  L.push(
    `| versions | ${Object.entries(m.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} |`,
  );
  L.push(
    `| mk | ${esc(meta.mkVersion)}; Git hooks: ${meta.mkHooks ?? '?'}; startup (\`mk --version\`, best of 5): ${meta.mkStartup !== undefined ? fmtSeconds(meta.mkStartup) : '?'}; remote for push/pull: ${meta.mkRemoteDesc} |`,
  );
  L.push(`| remotes | ${esc(meta.remoteNote)} |`);
  L.push(`| wall time of this run | ${meta.elapsed} |`);
  if (meta.unavailable.length) L.push(`| not available | ${esc(meta.unavailable.join('; '))} |`);
  L.push('');
  L.push('## DESIGN targets');
  L.push('');
  L.push('From `DESIGN.md` ("Quality bars"), plus the `mk status` bar of the benchmark brief.');
  L.push('');
  L.push('| target | measured | verdict |');
  L.push('|---|---|---|');
  for (const [t, mv, vd] of targets(results, dsets, ctx)) L.push(`| ${esc(t)} | ${esc(mv)} | ${vd} |`);
  L.push('');
  L.push('## Legend');
  L.push('');
  L.push(
    '- Each cell: **median wall time** over the repetitions (status and no-op commit: 3 runs per repetition; switch: 2 per repetition, there and back), **±spread** when the runs differ by 5% or more (half the min–max range, relative to the median: a noise gauge), **· peak RSS** (the largest single process of the step, GNU `time -f %M`, max over runs). Byte rows: median bytes.',
  );
  L.push(
    '- Ratios: mk median ÷ peer (or floor) median: **below 1× mk is faster / smaller**. mk/floor uses the first floor of the row. Push and clone rows are like for like between Git LFS and DVC (both copy into a local directory remote), but mk goes over HTTP to a registry (unless run with `--mk-remote layout`): for mk, the skopeo floor (same registry, same blobs) is the fair yardstick. The two rows "mk to / from a local folder remote" are the like-for-like comparison: the same mk repository also pushes to a local OCI layout folder (`mk push --remote folder` + `git push`, ModelKit included) and a fresh clone pulls from it (`git clone` + `mk pull --remote folder`); their peer cells repeat the peers\' push and clone rows.',
  );
  L.push(
    "- Every repetition runs in fresh temporary repositories and remotes; repetitions are interleaved across tools (mk, LFS, DVC, floors, then again). Data is generated once (AES-CTR keystream: deterministic, incompressible), copied into each repository untimed, and is **warm in the page cache**: the page cache is not dropped (not possible here, and not needed for relative numbers). `sync` runs before each timed step so a step does not pay for the previous one's writeback; no tool fsyncs on its own path unless it does so by default.",
  );
  L.push(
    "- Steps: **add + commit** = mk: `mk add <path>` + `git commit` (with mk's hooks when `mk install` exists, see the machine table); Git LFS: `git add -A` (clean filter) + `git commit` (after an untimed `git lfs track`); DVC: `dvc add` + `git add <path>.dvc .gitignore` + `git commit`. **status** = `mk status`, `git status --porcelain` (what an LFS user runs), `dvc status`. **no-op commit** = `git commit --allow-empty` with whatever hooks the tool installed. **push** = publish data and commit: mk: `git push`, whose pre-push hook uploads the data (without the hook: `mk push` + `git push`); `git push` (LFS pre-push uploads to `remote.git/lfs`, file:// standalone transfer); `dvc push` to a local directory remote + `git push`. **fresh clone + restore** = `git clone` (+ `mk pull` / `dvc pull`; LFS restores in the smudge filter), verified: file count and the changed file's hash. **switch** = `git checkout <rev>` (mk: its post-checkout hook restores the data; without the hook + `mk checkout`; DVC: + `dvc checkout`), to the first revision and back, verified.",
  );
  L.push(
    `- The one-file change: big = the first MiB of the file rewritten in place; small = one 16 KiB file rewritten; medium = one 10 MiB file rewritten. **local store growth** = bytes added to \`.git/mk/cache\`, \`.git/lfs/objects\`, \`.dvc/cache\`; **bytes uploaded** = growth of the data remote (registry storage / remote layout, \`remote.git\` incl. \`lfs/\`, DVC remote dir) plus the bare git remote.`,
  );
  L.push(
    `- Floors: ${Object.entries(FLOORS)
      .map(([k, v]) => `*${FLOOR_SHORT[k]}* = ${v}`)
      .join('; ')}. The skopeo floor copies an OCI artifact whose layers are ${
      Object.keys(ctx.skopeoBlobs).length
        ? Object.entries(ctx.skopeoBlobs)
            .map(([d, s]) => `${d}: ${s}${ctx.layoutInfo[d] ? ` (${ctx.layoutInfo[d].layers} blobs, ${fmtBytes(ctx.layoutInfo[d].bytes)})` : ''}`)
            .join('; ')
        : 'the dataset files'
    } — "the same blobs" mk pushes — to a fresh \`docker-registry\` on 127.0.0.1 (and back into an empty OCI layout for the pull floor).`,
  );
  L.push(
    '- Git runs with an isolated global config (identity, `init.defaultBranch=main`, `gc.auto=0` so no background gc lands in another step, and the LFS filters). DVC gets a fresh site cache dir per repetition. Cells read "error: …" when a command failed (its first telling line; full logs in the work dir\'s `logs/`), and "n/a: …" with the reason when a step does not apply.',
  );
  L.push('');
  for (const ds of Object.values(dsets)) {
    L.push(`## ${ds.id}: ${ds.title} (${fmtBytes(ds.totalBytes)})`);
    L.push('');
    const { table, notes } = datasetTable(results, ds, tools);
    L.push(table);
    L.push('');
    L.push(`One-file change: ${ds.change.what}.`);
    if (notes.length) {
      L.push('');
      for (const n of notes) L.push(`- ${n}`);
    }
    L.push('');
  }
  L.push('## Peak memory (max over all steps)');
  L.push('');
  L.push(peakMemoryTable(results, dsets, tools));
  L.push('');
  if (meta.findings?.length) {
    L.push('## Where mk is behind a peer (computed from the medians above)');
    L.push('');
    for (const f of meta.findings) L.push(`- ${f}`);
    L.push('');
  }
  L.push('## How to run');
  L.push('');
  L.push('```sh');
  L.push('npm run bench                      # build mk, full run (about 50 min on 2 busy CPUs), writes docs/BENCHMARKS.md');
  L.push('npm run bench -- --quick           # scaled-down data (256 MiB, 2,000 small files, 20 x 10 MiB)');
  L.push('node bench/run.mjs --only small --tools mk,lfs --reps 1   # a quick look at one dataset');
  L.push('node bench/run.mjs --help          # all options (work dir: $MK_BENCH_DIR, default /tmp/mk-bench)');
  L.push('```');
  L.push('');
  L.push(
    'Peers missing from the machine are installed by `bash test/support/install-peers.sh`; a peer that cannot be had is reported above and its column reads n/a. Partial runs (`--quick`, `--only`, `--tools`) write their report into the work dir instead of this file unless `--out` says otherwise.',
  );
  L.push('');
  return L.join('\n');
}
