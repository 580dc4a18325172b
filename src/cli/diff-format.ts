import type { DiffFile, DiffResult } from '../api/diff.js';
import { bytes, table } from './format.js';

/**
 * One line per changed file: `+ path  (size)`, `- path`, `M path  (old -> new)`,
 * `R old -> new  (size)`. Files moved together from one folder to another (a folder renamed)
 * are one line: `R ds/imgs/ -> ds/pictures/  (3150 files, 1.2 GiB)`.
 */
export function diffFileLines(files: DiffFile[]): string[] {
  const groups = new Map<string, DiffFile[]>();
  for (const f of files) {
    if (f.change !== 'renamed') continue;
    const key = movedFolders(f.from!, f.path);
    if (key) groups.set(key.join('\0'), [...(groups.get(key.join('\0')) ?? []), f]);
  }
  const lines: string[] = [];
  const shown = new Set<string>();
  for (const f of files) {
    if (f.change === 'renamed') {
      const key = movedFolders(f.from!, f.path)?.join('\0');
      const g = key ? groups.get(key) : undefined;
      if (g && g.length > 1) {
        if (shown.has(key!)) continue;
        shown.add(key!);
        const [a, b] = key!.split('\0');
        lines.push(`R ${a}/ -> ${b}/  (${g.length} files, ${bytes(g.reduce((n, x) => n + (x.newSize ?? 0), 0))})`);
        continue;
      }
      lines.push(`R ${f.from} -> ${f.path}  (${bytes(f.newSize ?? 0)})`);
      continue;
    }
    const sz = f.change === 'modified' ? `${bytes(f.oldSize ?? 0)} -> ${bytes(f.newSize ?? 0)}` : bytes((f.change === 'added' ? f.newSize : f.oldSize) ?? 0);
    lines.push(`${f.change === 'added' ? '+' : f.change === 'removed' ? '-' : 'M'} ${f.path}  (${sz})`);
  }
  return lines;
}

/** The folders a file moved between, when only they changed (same name below them): ['ds/imgs', 'ds/pictures']. */
function movedFolders(from: string, to: string): [string, string] | undefined {
  const a = from.split('/');
  const b = to.split('/');
  let k = 0;
  while (k < a.length - 1 && k < b.length - 1 && a[a.length - 1 - k] === b[b.length - 1 - k]) k++;
  if (a[a.length - 1] !== b[b.length - 1]) return undefined;
  const pa = a.slice(0, a.length - k).join('/');
  const pb = b.slice(0, b.length - k).join('/');
  return pa && pb ? [pa, pb] : undefined;
}

/** `--stat`: one line per artifact with counts and bytes, then the total. */
export function diffStat(r: DiffResult): string {
  const rows = r.artifacts.map((a) => {
    const n = { added: 0, removed: 0, modified: 0, renamed: 0 };
    let plus = 0;
    let minus = 0;
    for (const f of a.files) {
      n[f.change]++;
      if (f.change === 'added' || f.change === 'modified') plus += f.newSize ?? 0;
      if (f.change === 'removed' || f.change === 'modified') minus += f.oldSize ?? 0;
    }
    const what = a.change === 'renamed' ? `${a.path} (renamed from ${a.from})` : a.change === 'modified' ? a.path : `${a.path} (${a.change})`;
    return [what, '|', `${counts(n)}${a.files.length ? `  (+${bytes(plus)}, -${bytes(minus)})` : ''}`];
  });
  const s = r.summary;
  const files = s.added + s.removed + s.modified + s.renamed;
  const total = `${s.artifacts} artifact${s.artifacts === 1 ? '' : 's'} changed: ${counts(s)}${files ? `  (+${bytes(s.addedBytes)}, -${bytes(s.removedBytes)})` : ''}`;
  return `${table(rows)}\n${total}`;
}

function counts(n: { added: number; removed: number; modified: number; renamed: number }): string {
  const total = n.added + n.removed + n.modified + n.renamed;
  if (total === 0) return 'no file changed';
  const parts = (['added', 'removed', 'modified', 'renamed'] as const).filter((k) => n[k]).map((k) => `${n[k]} ${k}`);
  return `${total} file${total === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}
