import { ExperimentFileError } from './values.js';

/** One point of a series: x as a number when it reads as one, else text (an epoch name, a date). */
export interface Point {
  x: number | string;
  y: number;
}

export interface Series {
  x: string;
  y: string;
  points: Point[];
}

/** At most this many points per series (a plot of more says nothing more). */
const MAX_POINTS = 100_000;

/** Splits delimited text (CSV with RFC 4180 quotes, or TSV) into rows of cells. */
function delimited(text: string, sep: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === sep) {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** An x value that is not a number, as text (a nested JSON value as its JSON); a missing one is its row's index. */
function label(v: unknown, i: number): string {
  if (v === undefined || v === null) return String(i);
  return typeof v === 'object' ? JSON.stringify(v) : String(v as string | boolean | bigint);
}

/** Records (column name -> value) from a CSV, TSV or JSON file. */
function records(bytes: Uint8Array, path: string): Array<Record<string, unknown>> {
  const text = Buffer.from(bytes)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  const ext = path.toLowerCase().split('.').pop();
  if (ext === 'json') {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new ExperimentFileError(path, `not valid JSON: ${(e as Error).message}`);
    }
    // A list of records, or DVC's form: a mapping whose first list holds them.
    if (v && typeof v === 'object' && !Array.isArray(v)) v = Object.values(v).find((x) => Array.isArray(x));
    if (!Array.isArray(v) || v.some((r) => !r || typeof r !== 'object' || Array.isArray(r))) throw new ExperimentFileError(path, 'expected a list of records ([{"step": 0, "loss": 1.2}, ...])');
    return v as Array<Record<string, unknown>>;
  }
  const rows = delimited(text, ext === 'tsv' ? '\t' : ',');
  if (rows.length < 1) return [];
  const [head, ...body] = rows;
  return body.map((r) => {
    const o: Record<string, unknown> = {};
    head!.forEach((h, i) => Object.defineProperty(o, h.trim(), { value: r[i], enumerable: true, writable: true, configurable: true }));
    return o;
  });
}

/**
 * A series from a plot file: `x` defaults to a column named step, epoch or x (else the row
 * number), `y` to the last numeric column that is not x. Rows without a numeric y are left out.
 */
export function parseSeries(bytes: Uint8Array, path: string, want: { x?: string; y?: string } = {}): Series {
  const recs = records(bytes, path);
  if (recs.length === 0) return { x: want.x ?? 'step', y: want.y ?? 'value', points: [] };
  if (recs.length > MAX_POINTS) throw new ExperimentFileError(path, `too many points (${recs.length}; at most ${MAX_POINTS})`);
  const cols = Object.keys(recs[0]!);
  const x = want.x ?? cols.find((c) => ['step', 'epoch', 'x', 'iteration'].includes(c.toLowerCase()));
  if (want.x && !cols.includes(want.x)) throw new ExperimentFileError(path, `no column '${want.x}' (columns: ${cols.join(', ')})`);
  if (want.y && !cols.includes(want.y)) throw new ExperimentFileError(path, `no column '${want.y}' (columns: ${cols.join(', ')})`);
  const y = want.y ?? [...cols].reverse().find((c) => c !== x && recs.some((r) => num(r[c]) !== undefined));
  if (!y) throw new ExperimentFileError(path, `no numeric column to plot (columns: ${cols.join(', ')})`);
  const points: Point[] = [];
  recs.forEach((r, i) => {
    const yv = num(r[y]);
    if (yv === undefined) return;
    const xv = x === undefined ? i : (num(r[x]) ?? label(r[x], i));
    points.push({ x: xv, y: yv });
  });
  return { x: x ?? 'step', y, points };
}
