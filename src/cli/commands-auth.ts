import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../api/common.js';
import { out } from './output.js';

export function registerAuth(program: Command): void {
  program
    .command('login')
    .description('check and store registry credentials in ~/.docker/config.json (or its credential helper), as docker login does')
    .argument('<registry>', 'host[:port]')
    .requiredOption('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password or token (prefer --password-stdin; without either, mk asks on the terminal)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--insecure', 'plain HTTP / no TLS verification for a registry that is not loopback')
    .action(async (host: string, o: { username: string; password?: string; passwordStdin?: boolean; insecure?: boolean }) => {
      let password = o.password;
      if (o.passwordStdin) password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
      if (!password && !o.passwordStdin) password = await (await import('./prompt.js')).promptSecret('Password: ');
      if (!password) throw new UsageError('no password given', 'use --password-stdin (or -p)');
      const { login } = await import('../api/login.js');
      const r = await login(host, o.username, password, { insecure: o.insecure });
      out.line(`Login succeeded; credentials stored in ${r.storedIn}`);
    });
  program
    .command('logout')
    .description('remove stored credentials for a registry')
    .argument('<registry>', 'host[:port]')
    .action(async (host: string) => {
      const { logout } = await import('../api/login.js');
      const had = await logout(host);
      out.line(had ? `Removed credentials for ${host}` : `No credentials stored for ${host}`);
    });
}
