/**
 * `mk login` without -p or --password-stdin asks for the password on the terminal, without
 * echoing it, as docker login does; without a terminal it says what to use instead.
 * A real pseudo-terminal (util-linux `script`) and a registry with htpasswd auth.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { expectMkError, MK_BIN, mkRun, tempDir } from '../../support/repo.js';

let reg: RunningRegistry;
const tmp = tempDir('mk-login-prompt-');
const PASSWORD = 'pa55-w0rd';

beforeAll(async () => {
  reg = await startRegistry({ htpasswd: [{ username: 'alice', password: PASSWORD }] });
});
afterAll(async () => {
  await reg?.stop();
  tmp.cleanup();
});

const sh = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

describe('mk login asks for the password', () => {
  it('on a terminal: the password typed is not echoed, and the credentials are stored', async () => {
    const home = join(tmp.dir, 'home');
    const cmd = [process.execPath, MK_BIN, 'login', reg.host, '-u', 'alice'].map(sh).join(' ');
    // `script` gives mk a terminal; the password is typed once mk asks for it.
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, HOME: home, DOCKER_CONFIG: home } });
    let seen = '';
    child.stderr.on('data', (d: Buffer) => (seen += d.toString()));
    const status = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        const before = seen.includes('Password: ');
        seen += d.toString();
        if (!before && seen.includes('Password: ')) child.stdin.write(`${PASSWORD}\r`);
      });
      child.on('close', resolve);
    });
    expect(status, seen).toBe(0);
    expect(seen).toMatch(/Login succeeded; credentials stored in/);
    expect(seen).not.toContain(PASSWORD);
    const auths = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).auths;
    expect(Buffer.from(auths[reg.host].auth, 'base64').toString()).toBe(`alice:${PASSWORD}`);
  });

  it('without a terminal: one line naming --password-stdin', () => {
    const home = join(tmp.dir, 'home2');
    expectMkError(mkRun(tmp.dir, ['login', reg.host, '-u', 'alice'], { HOME: home, DOCKER_CONFIG: home }), 'no password given, and no terminal to ask on');
  });
});
