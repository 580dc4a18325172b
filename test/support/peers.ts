import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

/** Where test/support/install-peers.sh puts kit, oras, crane, cosign, distribution-registry (v3), dvc and model_signing (a missing one fails the tests that use it). */
export const PEERS_BIN = join(process.env.MK_PEERS_DIR ?? join(homedir(), '.cache', 'mk-peers'), 'bin');

/** Absolute path of an independent client or server (kit, oras, skopeo, crane, distribution-registry...), or throws with how to install it. */
export function peer(name: string): string {
  const local = join(PEERS_BIN, name);
  if (existsSync(local)) return local;
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} is not installed: run 'bash test/support/setup.sh'`);
  }
}
