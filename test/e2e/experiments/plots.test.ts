/**
 * Reviewers compare training curves: `mk plots diff` renders each declared series (CSV, TSV or
 * JSON) of several revisions into one SVG per plot, one line per revision, through a
 * Vega-Lite spec rendered headless by Vega. A revision without the file is left out and said.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectMkError, git, makeRepo, mk, mkJson, mkRun } from '../../support/repo.js';

/** Series in a Vega SVG: each line of a colour-split line chart is a mark-line group of its own. */
function seriesCount(svg: string): number {
  return svg.match(/aria-roledescription="line mark container"/g)?.length ?? 0;
}

describe('mk plots diff', () => {
  let repo: { dir: string; cleanup: () => void };
  const p = (rel: string) => join(repo.dir, rel);
  const curve = (k: number, n: number) => Array.from({ length: n }, (_, i) => [i, Number((1 / (1 + k * i)).toFixed(4))]);

  beforeAll(() => {
    repo = makeRepo();
    appendFileSync(p('.mk/config.yaml'), 'plots:\n  - plots/loss.csv\n  - {path: plots/acc.json, x: epoch, y: acc, title: Accuracy}\n  - plots/lr.tsv\n');
    mkdirSync(p('plots'));
    const write = (k: number, n: number) => {
      writeFileSync(p('plots/loss.csv'), ['step,loss', ...curve(k, n).map(([s, l]) => `${s},${l}`)].join('\n') + '\n');
      writeFileSync(p('plots/acc.json'), JSON.stringify({ train: curve(k, n).map(([s, l]) => ({ epoch: s, acc: 1 - l!, note: 'x' })) }));
    };
    write(1, 5);
    writeFileSync(p('plots/lr.tsv'), 'step\tlr\n0\t0.1\n1\t0.05\n');
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', 'baseline');
    git(repo.dir, 'checkout', '-qb', 'exp-a');
    write(2, 8);
    git(repo.dir, 'rm', '-q', 'plots/lr.tsv');
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', 'a');
    git(repo.dir, 'checkout', '-qb', 'exp-b', 'main');
    write(3, 6);
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', 'b');
    write(4, 7); // the work tree differs from exp-b
  });
  afterAll(() => repo.cleanup());

  it('one SVG per plot, one series per revision; a revision without the file is left out and named', () => {
    const r = mkJson(repo.dir, 'plots', 'diff', 'main', 'exp-a', 'exp-b', '-o', 'out');
    expect(r.plots.map((x: any) => x.path)).toEqual(['plots/loss.csv', 'plots/acc.json', 'plots/lr.tsv']);
    expect(readdirSync(p('out')).sort()).toEqual(['plots_acc.json.svg', 'plots_acc.json.vl.json', 'plots_loss.csv.svg', 'plots_loss.csv.vl.json', 'plots_lr.tsv.svg', 'plots_lr.tsv.vl.json']);
    const loss = readFileSync(p('out/plots_loss.csv.svg'), 'utf8');
    expect(loss.startsWith('<svg')).toBe(true);
    expect(seriesCount(loss)).toBe(3);
    expect(seriesCount(readFileSync(p('out/plots_acc.json.svg'), 'utf8'))).toBe(3);
    expect(readFileSync(p('out/plots_acc.json.svg'), 'utf8')).toContain('Accuracy');
    const lr = r.plots[2];
    expect(lr.revisions).toEqual(['main', 'exp-b']);
    expect(lr.missing).toEqual([{ revision: 'exp-a' }]);
    expect(seriesCount(readFileSync(p('out/plots_lr.tsv.svg'), 'utf8'))).toBe(2);
    // The spec holds every point: 5 + 8 + 6 of the loss curve, and the columns' names.
    const spec = JSON.parse(readFileSync(p('out/plots_loss.csv.vl.json'), 'utf8'));
    expect(spec.data.values).toHaveLength(19);
    expect(spec.encoding.y.title).toBe('loss');
    expect(spec.encoding.x.title).toBe('step');
  });

  it('by default HEAD and the work tree', () => {
    const r = mkJson(repo.dir, 'plots', 'diff', '-o', 'out2');
    expect(r.plots[0].revisions).toEqual(['HEAD', 'workspace']);
    expect(seriesCount(readFileSync(p('out2/plots_loss.csv.svg'), 'utf8'))).toBe(2);
    const text = mk(repo.dir, 'plots', 'diff', 'exp-a', '-o', 'out3');
    expect(text).toContain('plots_loss.csv.svg  (1 revision(s): exp-a)');
  });

  it('--png writes a PNG beside each SVG: twice its size, and drawn (not a blank image)', () => {
    const r = mkJson(repo.dir, 'plots', 'diff', 'main', 'exp-a', '-o', 'out-png', '--png');
    expect(r.plots[0].png).toBe(p('out-png/plots_loss.csv.png'));
    const png = readFileSync(p('out-png/plots_loss.csv.png'));
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    const svg = readFileSync(p('out-png/plots_loss.csv.svg'), 'utf8');
    const svgWidth = Number(/<svg[^>]* width="([\d.]+)"/.exec(svg)![1]);
    expect(png.readUInt32BE(16)).toBe(Math.round(svgWidth * 2)); // IHDR width
    // The pixels, inflated from the IDAT chunks: lines and labels make many values that are neither white nor 0.
    const idat: Buffer[] = [];
    for (let at = 8; at < png.length;) {
      const len = png.readUInt32BE(at);
      if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
      at += 12 + len;
    }
    const raw = inflateSync(Buffer.concat(idat));
    expect(raw.filter((b) => b !== 0 && b !== 255).length).toBeGreaterThan(2000);
  });

  it('bad input: one clear line, nothing written', () => {
    expectMkError(mkRun(repo.dir, ['plots', 'diff', '-o', '.git/plots']), 'is inside .git');
    expect(existsSync(p('.git/plots'))).toBe(false);
    expectMkError(mkRun(repo.dir, ['plots', 'diff', 'nope', '-o', 'out4']), "unknown revision 'nope'");
    expect(existsSync(p('out4'))).toBe(false);
    expectMkError(mkRun(repo.dir, ['plots', 'diff']), 'name the folder to write the plots into: -o <dir>');
  });
});
