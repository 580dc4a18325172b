import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, vi } from 'vitest';
import { RegistryStore } from '../../../src/stores/registry/index.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { targetContract } from '../../support/target-contract.js';

// Credentials come from a temporary docker config, through the default provider chain.
let reg: RunningRegistry;
let configDir: string;
beforeAll(async () => {
  reg = await startRegistry({ htpasswd: [{ username: 'alice', password: 'basic-secret-9f2c' }] });
  configDir = mkdtempSync(join(tmpdir(), 'mk-docker-config-'));
  const auth = Buffer.from('alice:basic-secret-9f2c').toString('base64');
  writeFileSync(join(configDir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth } } }), { mode: 0o600 });
  vi.stubEnv('DOCKER_CONFIG', configDir);
  vi.stubEnv('MK_REGISTRY_USERNAME', undefined);
  vi.stubEnv('MK_REGISTRY_PASSWORD', undefined);
  vi.stubEnv('MK_REGISTRY_TOKEN', undefined);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await reg?.stop();
  rmSync(configDir, { recursive: true, force: true });
});

targetContract('RegistryStore, htpasswd basic auth (docker config)', async (name) => {
  const store = new RegistryStore({ host: reg.host, repository: `mk/${name}`, retry: { baseDelayMs: 5 } });
  return { target: store, close: () => store.close() };
});
