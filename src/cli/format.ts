/** Human-readable sizes: 1.5 GiB, 320 KiB, 12 B. */
export function bytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${u[i]}`;
}

export function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const w = rows[0]!.map((_, i) => rows.reduce((m, r) => Math.max(m, (r[i] ?? '').length), 0));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ')).join('\n');
}
