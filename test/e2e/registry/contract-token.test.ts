import { afterAll, beforeAll, vi } from 'vitest';
import { RegistryStore } from '../../../src/stores/registry/index.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { startTokenIssuer, type TokenIssuer } from '../../support/token-issuer.js';
import { targetContract } from '../../support/target-contract.js';

// Credentials come from MK_REGISTRY_USERNAME / MK_REGISTRY_PASSWORD, through the default provider chain,
// for the one host MK_REGISTRY_HOST names (a store opened directly chose no host of its own).
let reg: RunningRegistry;
let issuer: TokenIssuer;
beforeAll(async () => {
  issuer = await startTokenIssuer({ users: { bob: 'token-secret-77ab' } });
  reg = await startRegistry({ token: issuer });
  vi.stubEnv('MK_REGISTRY_USERNAME', 'bob');
  vi.stubEnv('MK_REGISTRY_PASSWORD', 'token-secret-77ab');
  vi.stubEnv('MK_REGISTRY_TOKEN', undefined);
  vi.stubEnv('MK_REGISTRY_HOST', reg.host);
  vi.stubEnv('DOCKER_CONFIG', '/nonexistent-mk-docker-config');
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await reg?.stop();
  await issuer?.stop();
});

targetContract('RegistryStore, token auth (environment credentials)', async (name) => {
  const store = new RegistryStore({ host: reg.host, repository: `mk/${name}`, retry: { baseDelayMs: 5 } });
  return { target: store, close: () => store.close() };
});
