/**
 * Every shell example of the README and the guides says whether it runs as written
 * (```bash runnable: test/e2e/docs/examples.test.ts runs it) or not (```bash no-run (why)).
 */
import { describe, expect, it } from 'vitest';
import { docFiles, shellBlocks } from '../../support/doc-examples.js';

describe('shell examples in the README and docs/guides', () => {
  it('each says runnable or no-run', () => {
    const unmarked = docFiles().flatMap((f) =>
      shellBlocks(f)
        .filter((b) => !b.mark)
        .map((b) => `${b.file}:${b.line}`),
    );
    expect(unmarked, "mark each: '```bash runnable' (a test runs it, without a network) or '```bash no-run (why)'").toEqual([]);
  });

  it('the README has runnable examples, the quickstart first', () => {
    const readme = shellBlocks('README.md').filter((b) => b.mark === 'runnable');
    expect(readme.length).toBeGreaterThan(0);
    expect(readme[0]!.code).toContain('mk init');
  });
});
