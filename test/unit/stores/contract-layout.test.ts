import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { OciLayoutStore } from '../../../src/stores/oci-layout/layout-store.js';
import { targetContract } from '../../support/target-contract.js';

const root = mkdtempSync(join(tmpdir(), 'mk-layout-contract-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

targetContract('OciLayoutStore', async (name) => ({ target: new OciLayoutStore(join(root, name)).init() }));
