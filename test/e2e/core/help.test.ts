/**
 * `mk help <command>` shows the command's manual page: rendered by man when it is installed
 * (from dist/man/, which `npm run build` renders from docs/commands/), else the page's text;
 * `--help` ends with the same examples as the page.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expectMkError, mk, mkRun, tempDir } from '../../support/repo.js';

const page = (name: string) => readFileSync(fileURLToPath(new URL(`../../../docs/commands/${name}.md`, import.meta.url)), 'utf8');

describe('mk help', () => {
  it('shows the man page through man, the text page without man, and refuses an unknown command', () => {
    const t = tempDir('mk-help-');
    try {
      const viaMan = mkRun(t.dir, ['help', 'modelkit', 'unpack']);
      expect(viaMan.status, viaMan.stderr).toBe(0);
      expect(viaMan.stdout).toMatch(/^MK-MODELKIT-UNPACK\(1\)\s+mk manual/m);
      expect(viaMan.stdout).toMatch(/^SYNOPSIS$/m);
      expect(viaMan.stdout).toContain('mk modelkit unpack [options] <ref>');
      expect(viaMan.stdout).not.toContain('<!--');

      // No man on PATH (an empty folder): the page's Markdown, without its generator markers.
      const noMan = mkRun(t.dir, ['help', 'checkout'], { PATH: t.dir });
      expect(noMan.status, noMan.stderr).toBe(0);
      expect(noMan.stdout).toContain('# mk-checkout(1) -- restore the data');
      expect(noMan.stdout).toContain('## Description');
      expect(noMan.stdout).not.toContain('<!--');
      expect(noMan.stdout.trim()).toBe(
        page('mk-checkout')
          .replace(/<!--[^]*?-->\n?/g, '')
          .trim(),
      );

      expect(mkRun(t.dir, ['help'], { PATH: t.dir }).stdout).toContain('# mk(1) -- ');
      expectMkError(mkRun(t.dir, ['help', 'nosuch']), "no such command: 'mk nosuch'");
      expect(mkRun(t.dir, ['help', 'remote', 'nosuch']).status).toBe(2);
    } finally {
      t.cleanup();
    }
  });

  it('--help ends with the examples of the page', () => {
    const t = tempDir('mk-help-');
    try {
      const help = mk(t.dir, 'get', '--help');
      const examples = /## Examples\n\n```sh\n([^]*?)\n```/.exec(page('mk-get'))![1]!;
      expect(help).toContain(`Examples:\n${examples.replace(/^/gm, '  ')}`);
    } finally {
      t.cleanup();
    }
  });
});
