import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../util/fs.js';

/**
 * Files mk's Git filter left as pointer text because their revision is not signed as
 * `verify_signatures` asks (path → the digest withheld and why), so `mk status` can say why
 * the data is not there. Per worktree, in its state folder.
 */
export const WITHHELD_FILE = 'withheld.json';

export type Withheld = Record<string, { digest: string; reason: string }>;

export function readWithheld(stateDir: string): Withheld {
  try {
    const j = JSON.parse(readFileSync(join(stateDir, WITHHELD_FILE), 'utf8')) as unknown;
    if (!j || typeof j !== 'object' || Array.isArray(j)) return {};
    const out: Withheld = {};
    for (const [k, v] of Object.entries(j as Record<string, unknown>)) {
      const e = v as { digest?: unknown; reason?: unknown };
      if (typeof e?.digest === 'string' && typeof e.reason === 'string') Object.defineProperty(out, k, { value: { digest: e.digest, reason: e.reason }, enumerable: true });
    }
    return out;
  } catch {
    return {};
  }
}

/** Records what was withheld now and forgets the paths whose data was placed. */
export function updateWithheld(stateDir: string, withheld: Withheld, placed: Iterable<string>): void {
  const all = { ...readWithheld(stateDir), ...withheld };
  for (const p of placed) if (!Object.hasOwn(withheld, p)) delete all[p];
  try {
    writeFileAtomicSync(join(stateDir, WITHHELD_FILE), JSON.stringify(all));
  } catch {
    /* a read-only state folder: status cannot say why, the files still hold pointer text */
  }
}
