import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { KITFILE_NAMES } from '../formats/kitfile.js';
import { renameKitfilePath, syncKitfile, type SyncArtifact } from '../formats/kitfile-sync.js';

/** The project's Kitfile name, if it has one. */
export function kitfileName(root: string): string | undefined {
  return KITFILE_NAMES.find((n) => existsSync(join(root, n)));
}

/** The project's Kitfile brought in line with its tracked artifacts (nothing written), or undefined if unchanged. */
export function planKitfileSync(root: string, artifacts: SyncArtifact[], untracked: string[] = []): { name: string; text: string } | undefined {
  const name = kitfileName(root);
  if (!name) return undefined;
  const text = readFileSync(join(root, name), 'utf8');
  const next = syncKitfile(text, artifacts, untracked, name);
  if (next === undefined || next === text) return undefined;
  return { name, text: next };
}

/** Brings the project's Kitfile in line with its tracked artifacts; returns its name if it changed. */
export async function syncProjectKitfile(root: string, artifacts: SyncArtifact[], untracked: string[] = []): Promise<string | undefined> {
  const plan = planKitfileSync(root, artifacts, untracked);
  if (!plan) return undefined;
  await writeFileAtomic(join(root, plan.name), plan.text);
  return plan.name;
}

/**
 * Whether the Kitfile as the index holds it lacks what syncing these artifacts adds (an
 * earlier run wrote the work-tree Kitfile and was killed before staging it).
 */
export function kitfileNeedsStaging(name: string, staged: string | undefined, artifacts: SyncArtifact[]): boolean {
  if (staged === undefined) return true;
  const next = syncKitfile(staged, artifacts, [], name);
  return next !== undefined && next !== staged;
}

/** The project's Kitfile with the entry of `from` renamed to `to` (nothing written), or undefined if no entry names it. */
export function planKitfileRename(root: string, from: string, to: string): { name: string; text: string } | undefined {
  const name = kitfileName(root);
  if (!name) return undefined;
  const next = renameKitfilePath(readFileSync(join(root, name), 'utf8'), from, to, name);
  return next === undefined ? undefined : { name, text: next };
}
