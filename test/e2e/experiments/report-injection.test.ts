/**
 * Every value from the repository is inert text in every report format. Metric and param names
 * and values, file names and plot titles written to make a live link, a remote image, raw HTML,
 * an @mention, an issue reference, an autolink, emphasis or a split table cell are rendered by
 * cmark-gfm (GitHub's own Markdown renderer, with GitHub's extensions) from what mk prints, and
 * the HTML it makes holds none of them outside code; the HTML report escapes them; the terminal
 * shows control characters as escapes; --json carries them as data.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peer } from '../../support/peers.js';
import { git, makeRepo, mkRun } from '../../support/repo.js';

const HOSTILE = [
  '[click me](https://evil.example/phish)',
  '![pixel](https://evil.example/track.png)',
  '<img src=x onerror=alert(1)>',
  '<script>alert(2)</script>',
  'ping @octocat please',
  'see #123 and GH-7',
  'https://evil.example/auto',
  'www.evil.example',
  '**loud** _shout_ ~~gone~~',
  'a|b|c',
  'x\\|[esc](https://evil.example/pipe)',
  '`code` ``two``',
  'mail me: victim@evil.example',
];
/** What must never show outside code once rendered. */
const MARKERS = ['evil.example', '@octocat', '#123', 'onerror', '<script', 'alert(', '<strong>', '<em>', '<del>'];

/** GitHub's renderer, with the extensions GitHub turns on for comments. */
function gfm(md: string): string {
  const r = spawnSync(peer('cmark-gfm'), ['-e', 'table', '-e', 'autolink', '-e', 'strikethrough', '-e', 'tagfilter'], { input: md, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** The rendered HTML without its code elements (where text is inert). */
const outsideCode = (html: string) => html.replace(/<code>[\s\S]*?<\/code>/g, '');

function expectInert(md: string, what: string): void {
  const html = gfm(md);
  const rest = outsideCode(html);
  expect(rest, `${what}: a link`).not.toMatch(/<a[\s>]/);
  expect(rest, `${what}: an image`).not.toMatch(/<img[\s>]/);
  for (const m of MARKERS) expect(rest, `${what}: '${m}' outside code in\n${html}`).not.toContain(m);
  // Every table row keeps its cells (no pipe split one).
  for (const table of html.match(/<table>[\s\S]*?<\/table>/g) ?? []) {
    const rows = table.match(/<tr>[\s\S]*?<\/tr>/g) ?? [];
    const cells = rows.map((r) => (r.match(/<t[hd][\s>]/g) ?? []).length);
    expect(new Set(cells).size, `${what}: rows with different cell counts:\n${table}`).toBe(1);
  }
}

describe('values from the repository in reports', () => {
  let repo: { dir: string; cleanup: () => void };
  const p = (rel: string) => join(repo.dir, rel);
  const values = (n: number) => Object.fromEntries(HOSTILE.map((k, i) => [k, i % 2 ? `${k} v${n}` : i + n]));

  beforeAll(() => {
    repo = makeRepo();
    const title = JSON.stringify('<img src=x onerror=alert(3)> [t](https://evil.example/title) @octocat');
    writeFileSync(p('.mk/config.yaml'), `version: 1\nparams: [params.json]\nmetrics: [metrics.json]\nplots:\n  - path: plots/loss.csv\n    x: step\n    y: loss\n    title: ${title}\n`);
    writeFileSync(p('params.json'), JSON.stringify(values(1)));
    writeFileSync(p('metrics.json'), JSON.stringify({ ...values(1), 'red\u001b[31mALERT\u001b[0m': 1 }));
    mkdirSync(p('plots'));
    writeFileSync(p('plots/loss.csv'), 'step,loss\n1,0.9\n2,0.5\n');
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', 'one');
    writeFileSync(p('params.json'), JSON.stringify(values(2)));
    writeFileSync(p('metrics.json'), JSON.stringify({ ...values(2), 'red\u001b[31mALERT\u001b[0m': 2 }));
    writeFileSync(p('plots/loss.csv'), 'step,loss\n1,0.8\n2,0.4\n');
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', 'two');
  });
  afterAll(() => repo?.cleanup());

  it('Markdown (mk report --md, params/metrics diff --md, metrics show --md, exp show --md): no link, image, HTML, mention, reference, autolink or emphasis, and no split cell', () => {
    for (const args of [
      ['report', '--md'],
      ['params', 'diff', 'HEAD~1', '--md'],
      ['metrics', 'diff', 'HEAD~1', '--md'],
      ['metrics', 'show', 'HEAD~1', 'HEAD', '--md'],
      ['exp', 'show', '--md'],
    ]) {
      const r = mkRun(repo.dir, args);
      expect(r.status, `mk ${args.join(' ')}: ${r.stderr}`).toBe(0);
      // The values are there, as text.
      expect(r.stdout, `mk ${args.join(' ')}`).toContain('ping @octocat please');
      expectInert(r.stdout, `mk ${args.join(' ')}`);
    }
  });

  it('HTML (mk report --html): every value escaped, the plot title too', () => {
    const r = mkRun(repo.dir, ['report', '--html']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/<img[^>]*onerror/i);
    expect(r.stdout).not.toMatch(/<script/i);
    expect(r.stdout).not.toMatch(/<a[\s>]/);
    expect(r.stdout).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('the terminal shows control characters as escapes; --json carries every value as it is', () => {
    const t = mkRun(repo.dir, ['metrics', 'diff', 'HEAD~1']);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).not.toContain('\u001b');
    expect(t.stdout).toContain('red\\x1b[31mALERT');
    const j = mkRun(repo.dir, ['metrics', 'diff', 'HEAD~1', '--json']);
    const keys = (JSON.parse(j.stdout).changes as Array<{ key: string }>).map((c) => c.key);
    for (const k of HOSTILE) expect(keys).toContain(k);
    expect(keys).toContain('red\u001b[31mALERT\u001b[0m');
  });
});
