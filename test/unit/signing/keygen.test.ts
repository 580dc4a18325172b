/** `mk keygen` makes the folder it writes into (owner-only), as `ssh-keygen -f` users expect of a key folder. */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keygen } from '../../../src/api/keygen.js';
import { tempDir } from '../../support/repo.js';

const tmp = tempDir('mk-keygen-');
afterAll(() => tmp.cleanup());

describe('keygen', () => {
  it('creates a missing key folder, readable by its owner only, and writes the pair there', () => {
    const r = keygen({ out: join(tmp.dir, 'config', 'mk', 'team') });
    expect(statSync(join(tmp.dir, 'config', 'mk')).mode & 0o777).toBe(0o700);
    expect(statSync(r.key).mode & 0o777).toBe(0o600);
    expect(statSync(r.pub).isFile()).toBe(true);
  });
});
