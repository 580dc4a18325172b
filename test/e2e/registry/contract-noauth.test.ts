import { afterAll, beforeAll } from 'vitest';
import { anonymous, RegistryStore } from '../../../src/stores/registry/index.js';
import { startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { targetContract } from '../../support/target-contract.js';

let reg: RunningRegistry;
beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg?.stop();
});

targetContract('RegistryStore, no auth', async (name) => {
  const store = new RegistryStore({ host: reg.host, repository: `mk/${name}`, credentials: anonymous, retry: { baseDelayMs: 5 } });
  return { target: store, close: () => store.close() };
});
