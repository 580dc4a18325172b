import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { KITFILE_NAMES } from './kitfile.js';
import { syncKitfile, type SyncArtifact } from './kitfile-sync.js';

/** The project's Kitfile name, if it has one. */
export function kitfileName(root: string): string | undefined {
  return KITFILE_NAMES.find((n) => existsSync(join(root, n)));
}

/** Brings the project's Kitfile in line with its tracked artifacts; returns its name if it changed. */
export async function syncProjectKitfile(root: string, artifacts: SyncArtifact[], untracked: string[] = []): Promise<string | undefined> {
  const name = kitfileName(root);
  if (!name) return undefined;
  const text = readFileSync(join(root, name), 'utf8');
  const next = syncKitfile(text, artifacts, untracked, name);
  if (next === undefined || next === text) return undefined;
  await writeFileAtomic(join(root, name), next);
  return name;
}
