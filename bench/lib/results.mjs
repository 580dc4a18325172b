// Where measurements accumulate: results[dataset][row][column] = { times, bytes, errors, na, notes }.
// Columns are tool ids ('mk', 'lfs', 'dvc') and floor ids ('floor:sha256', ...).

export class Results {
  constructor() {
    this.data = {};
  }

  cell(ds, row, col) {
    const d = (this.data[ds] ??= {});
    const r = (d[row] ??= {});
    return (r[col] ??= { times: [], bytes: [], errors: [], na: undefined, notes: [] });
  }

  get(ds, row, col) {
    return this.data[ds]?.[row]?.[col];
  }

  time(ds, row, col, { wall, rss }) {
    this.cell(ds, row, col).times.push({ wall, rss });
  }

  bytes(ds, row, col, n) {
    this.cell(ds, row, col).bytes.push(n);
  }

  error(ds, row, col, text) {
    const c = this.cell(ds, row, col);
    c.errors.push(text);
  }

  /** Not applicable (the reason is shown in the cell); recorded once. */
  na(ds, row, col, why) {
    const c = this.cell(ds, row, col);
    c.na ??= why;
  }

  note(ds, row, col, text) {
    const c = this.cell(ds, row, col);
    if (!c.notes.includes(text)) c.notes.push(text);
  }

  toJSON() {
    return this.data;
  }
}
