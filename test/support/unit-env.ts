/**
 * The unit tier's environment (vitest setupFiles): verbs called in process run git with this
 * process's environment, so it is made hermetic here: no system or user git config (a user's
 * core.autocrlf or commit.gpgsign would change what the tests see), fixed author and
 * committer, no mk settings from the shell that runs the tests.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const home = mkdtempSync(join(tmpdir(), 'mk-unit-home-'));
const gitconfig = join(home, 'gitconfig');
writeFileSync(gitconfig, '[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n[gc]\n\tauto = 0\n');
Object.assign(process.env, {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: gitconfig,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
});
for (const k of Object.keys(process.env)) if (k.startsWith('MK_')) delete process.env[k];
