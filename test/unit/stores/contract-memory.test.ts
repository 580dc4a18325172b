import { MemoryStore } from '../../../src/stores/memory/memory-store.js';
import { targetContract } from '../../support/target-contract.js';

targetContract('MemoryStore', async (name) => ({ target: new MemoryStore(name) }));
