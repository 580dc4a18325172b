import { GitError } from '../errors/index.js';
import { readBlob } from '../git/objects.js';
import { git } from '../git/run.js';

/**
 * Promotions are recorded as Git notes on the promoted commit, in a notes ref of their own:
 * every promotion is a commit of that ref (`git log refs/notes/mk-promotions` is the history
 * of what was promoted when), and `git log --notes=mk-promotions` shows them beside the
 * commits. Shared like any ref: `git push origin refs/notes/mk-promotions`.
 */
export const PROMOTIONS_REF = 'refs/notes/mk-promotions';

export interface Promotion {
  commit: string;
  /** The OCI tag it was given (champion by default). */
  tag: string;
  /** Where: the remote's name and its location (host/repository, or the layout folder). */
  remote: string;
  location: string;
  /** The ModelKit's manifest digest. */
  digest: string;
  /** When (ISO 8601, UTC, milliseconds). */
  at: string;
}

const PREFIX = 'mk-promotion ';

export async function recordPromotion(root: string, p: Promotion): Promise<void> {
  const line = PREFIX + JSON.stringify({ tag: p.tag, remote: p.remote, location: p.location, digest: p.digest, at: p.at });
  await git(root, ['notes', `--ref=${PROMOTIONS_REF}`, 'append', '-m', line, p.commit]);
}

function parseNote(commit: string, text: string): Promotion[] {
  const out: Promotion[] = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith(PREFIX)) continue;
    try {
      const v = JSON.parse(l.slice(PREFIX.length)) as Record<string, unknown>;
      if (typeof v.tag === 'string' && typeof v.at === 'string' && typeof v.digest === 'string')
        out.push({ commit, tag: v.tag, remote: typeof v.remote === 'string' ? v.remote : '', location: typeof v.location === 'string' ? v.location : '', digest: v.digest, at: v.at });
    } catch {
      /* a line someone edited by hand: not a promotion */
    }
  }
  return out;
}

/** Every recorded promotion, oldest first. */
export async function listPromotions(root: string, gitDir: string): Promise<Promotion[]> {
  let listing: string;
  try {
    listing = await git(root, ['notes', `--ref=${PROMOTIONS_REF}`, 'list']);
  } catch (e) {
    if (e instanceof GitError) return [];
    throw e;
  }
  const out: Promotion[] = [];
  for (const l of listing.split('\n')) {
    const m = /^([0-9a-f]{40,64}) ([0-9a-f]{40,64})$/.exec(l.trim());
    if (!m) continue;
    out.push(...parseNote(m[2]!, Buffer.from(await readBlob(gitDir, m[1]!)).toString('utf8')));
  }
  return out.sort((a, b) => a.at.localeCompare(b.at));
}

/** The commit each tag was last promoted to (tag -> promotion). */
export function currentPromotions(all: Promotion[]): Map<string, Promotion> {
  const m = new Map<string, Promotion>();
  for (const p of all) m.set(p.tag, p);
  return m;
}
