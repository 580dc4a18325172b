/**
 * A reviewer opens the pull request: `mk report` gives the params and metrics against the
 * base, the tracked data that changed, the plots, and the ModelKit with the `kit pull` /
 * `kit unpack` commands. Markdown for the PR comment (plots as SVG files beside it), or one
 * self-contained HTML page, opened here in Debian's real headless chromium (puppeteer-core,
 * no browser download) and checked from a screenshot: not blank, and the table is drawn.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, randomBytesFrom, rng } from '../../support/files.js';
import { peer } from '../../support/peers.js';
import { expectMkError, git, makeRepo, mk, mkJson, mkRun } from '../../support/repo.js';

describe('mk report', () => {
  let repo: { dir: string; cleanup: () => void };
  let head: string;
  const p = (rel: string) => join(repo.dir, rel);

  beforeAll(() => {
    repo = makeRepo();
    appendFileSync(p('.mk/config.yaml'), 'params: [params.yaml]\nmetrics: [metrics.json]\nplots: [{path: logs/loss.csv, title: Training loss}]\n');
    mk(repo.dir, 'remote', 'add', 'origin', 'oci://registry.example.com/team/churn');
    mkdirSync(p('logs'));
    writeFileSync(p('params.yaml'), 'train:\n  lr: 0.1\n  epochs: 5\n');
    writeFileSync(p('metrics.json'), JSON.stringify({ auc: 0.8, loss: 0.42 }));
    writeFileSync(p('logs/loss.csv'), 'step,loss\n0,1\n1,0.7\n2,0.5\n');
    put(p('data/train/a.csv'), randomBytesFrom(rng(1), 500));
    put(p('data/train/b.csv'), randomBytesFrom(rng(2), 500));
    mk(repo.dir, 'add', 'data/train');
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', 'baseline');
    git(repo.dir, 'checkout', '-qb', 'feature');
    writeFileSync(p('params.yaml'), 'train:\n  lr: 0.05\n  epochs: 5\n  dropout: 0.2\n');
    writeFileSync(p('metrics.json'), JSON.stringify({ auc: 0.86, loss: 0.35 }));
    writeFileSync(p('logs/loss.csv'), 'step,loss\n0,1\n1,0.6\n2,0.4\n3,0.3\n');
    put(p('data/train/c.csv'), randomBytesFrom(rng(3), 700));
    mk(repo.dir, 'add', 'data/train');
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', 'lower lr, more data');
    head = git(repo.dir, 'rev-parse', 'HEAD').trim();
  });
  afterAll(() => repo.cleanup());

  it('Markdown: metrics and params against the base, the data diff, plots as SVG files beside it, the ModelKit and kit commands', () => {
    const r = mkJson(repo.dir, 'report', '--base', 'main', '-o', 'out/report.md');
    expect(r.file).toBe(p('out/report.md'));
    const md = readFileSync(p('out/report.md'), 'utf8');
    expect(md.startsWith('<!-- mk-report -->\n')).toBe(true);
    expect(md).toContain('| metrics.json | auc | 0.8 | 0.86 | +0.06 | +7.5% |');
    expect(md).toContain('| params.yaml | train.lr | 0.1 | 0.05 | -0.05 | -50% |');
    expect(md).toContain('| params.yaml | train.dropout | - | 0.2 | added | - |');
    expect(md).toContain('| data/train | modified | 1 | 0 | 0 |');
    expect(md).toContain('![Training loss](report-plots/logs_loss.csv.svg)');
    expect(readFileSync(p('out/report-plots/logs_loss.csv.svg'), 'utf8').match(/aria-roledescription="line mark container"/g)).toHaveLength(2);
    expect(md).toContain(`kit pull registry.example.com/team/churn:${head}`);
    expect(md).toContain(`kit unpack registry.example.com/team/churn:${head} -d ./churn`);
    // On stdout without -o, the same tables.
    expect(mk(repo.dir, 'report', '--base', 'main')).toContain('| metrics.json | loss | 0.42 | 0.35 | -0.07 | -16.67% |');
  });

  it('bad input: one clear line, nothing written', () => {
    expectMkError(mkRun(repo.dir, ['report', '--base', 'nope']), "unknown revision 'nope'");
    expectMkError(mkRun(repo.dir, ['report', '--md', '--html']), '--md and --html');
    expectMkError(mkRun(repo.dir, ['report', '--html', '-o', '.git/r.html']), 'is inside .git');
    expect(existsSync(p('.git/r.html'))).toBe(false);
  });

  describe('the HTML page in a real headless chromium', () => {
    let browser: Browser;
    let page: Page;

    beforeAll(async () => {
      mk(repo.dir, 'report', '--base', 'main', '--html', '-o', 'out/report.html');
      browser = await puppeteer.launch({ executablePath: peer('chromium'), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
      page = await browser.newPage();
      await page.setViewport({ width: 1100, height: 1400 });
    });
    afterAll(async () => {
      await browser?.close();
    });

    /** Pixels of a PNG screenshot, decoded by the browser itself: how many are not (near) white, and how many are dark. */
    async function inkOf(png: Uint8Array): Promise<{ total: number; ink: number; dark: number }> {
      const scratch = await browser.newPage();
      try {
        // Run in the page (the browser decodes the PNG): a string, as the tests' TypeScript has no DOM types.
        const decode = `(async () => {
          const img = new Image();
          img.src = 'data:image/png;base64,${Buffer.from(png).toString('base64')}';
          await img.decode();
          const c = document.createElement('canvas');
          c.width = img.width;
          c.height = img.height;
          const g = c.getContext('2d');
          g.drawImage(img, 0, 0);
          const d = g.getImageData(0, 0, c.width, c.height).data;
          let ink = 0;
          let dark = 0;
          for (let i = 0; i < d.length; i += 4) {
            const lum = (d[i] + d[i + 1] + d[i + 2]) / 3;
            if (lum < 240) ink++;
            if (lum < 100) dark++;
          }
          return { total: d.length / 4, ink, dark };
        })()`;
        return (await scratch.evaluate(decode)) as { total: number; ink: number; dark: number };
      } finally {
        await scratch.close();
      }
    }

    it('is self-contained, not blank, and shows the metrics table with its values', async () => {
      const html = readFileSync(p('out/report.html'), 'utf8');
      expect(html).not.toMatch(/<script|<link|src="http/); // nothing loaded from anywhere
      await page.goto(pathToFileURL(p('out/report.html')).href, { waitUntil: 'load' });
      const shot = await page.screenshot({ type: 'png', fullPage: true });
      const whole = await inkOf(shot);
      expect(whole.ink / whole.total).toBeGreaterThan(0.01); // not a blank page
      expect(whole.dark).toBeGreaterThan(500); // text is drawn

      const table = await page.$('table');
      const box = await table!.boundingBox();
      expect(box!.width).toBeGreaterThan(300);
      expect(box!.height).toBeGreaterThan(60);
      const tableInk = await inkOf(await table!.screenshot({ type: 'png' }));
      expect(tableInk.dark).toBeGreaterThan(200); // its text and borders are on screen
      const cells = await page.$$eval('table:first-of-type tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
      expect(cells).toContainEqual(['metrics.json', 'auc', '0.8', '0.86', '+0.06', '+7.5%']);
      // The plot is inline, drawn, with one line per revision.
      const svgBox = await (await page.$('figure svg'))!.boundingBox();
      expect(svgBox!.width).toBeGreaterThan(200);
      expect(await page.$$eval('figure svg [aria-roledescription="line mark container"]', (l) => l.length)).toBe(2);
      expect(await page.$eval('pre', (e) => e.textContent)).toContain(`kit pull registry.example.com/team/churn:${head}`);
      writeFileSync(p('out/report.png'), shot);
    });
  });
});

describe('the CI templates', () => {
  const root = fileURLToPath(new URL('../../../templates/ci/', import.meta.url));
  it('GitHub Actions and GitLab CI run mk report against the target branch and find their one comment by the report marker', async () => {
    const { parse } = await import('yaml');
    const gh = parse(readFileSync(join(root, 'github-mk-report.yml'), 'utf8'));
    expect(gh.on).toHaveProperty('pull_request');
    expect(gh.permissions['pull-requests']).toBe('write');
    const steps = gh.jobs.report.steps.map((s: any) => `${s.run ?? ''}${s.with?.script ?? ''}`).join('\n');
    expect(steps).toContain('mk report --base "origin/${{ github.base_ref }}" --md -o mk-report/report.md');
    expect(steps).toContain("const marker = '<!-- mk-report -->'");
    expect(steps).toContain('updateComment');
    const gl = parse(readFileSync(join(root, 'gitlab-mk-report.yml'), 'utf8'));
    const script = gl['mk-report'].script.join('\n');
    expect(script).toContain('mk report --base "origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME" --md -o mk-report/report.md');
    expect(script).toContain("startsWith('<!-- mk-report -->')");
    expect(script).toContain("method: mine ? 'PUT' : 'POST'");
  });
});
