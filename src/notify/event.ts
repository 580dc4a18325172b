import { randomUUID } from 'node:crypto';
import { diffValues, type ValueChange } from '../experiments/diff.js';
import { declaredFiles, valuesAt, type Revision } from '../experiments/revisions.js';
import { git } from '../git/run.js';
import type { RepoContext } from '../repo/context.js';
import { diffRevisions, type DiffSummary } from '../worktree/diff.js';

/** A person, as Git names them. */
export interface Ident {
  name: string;
  email: string;
}

/** What changed in one tracked artifact between the base and the published commit (counts, as `mk diff --stat`). */
export interface ArtifactChange {
  path: string;
  change: 'added' | 'removed' | 'modified' | 'renamed';
  from?: string;
  added: number;
  removed: number;
  modified: number;
  renamed: number;
}

/**
 * mk's own event, sent as JSON after a ModelKit is published (`notify: {format: json}`):
 * which commit, which ModelKit, who pushed, what data changed and how params and metrics moved.
 * Documented in docs/spec/notify.md; `version` changes when a field changes meaning.
 */
export interface PublishEvent {
  type: 'mk.modelkit.published';
  version: 1;
  /** A new id per event (receivers drop duplicates by it: a retried delivery carries the same id). */
  id: string;
  time: string;
  repository: { source: string | null; remote: string };
  /** The Git ref pushed (refs/heads/main), when the publish came from a ref push. */
  ref: string | null;
  commit: { id: string; subject: string; author: Ident; time: string };
  /** The revision the data, params and metrics are compared with (the ref's previous commit, else the first parent); null for a first commit. */
  base: string | null;
  pushedBy: Ident | null;
  modelkit: { reference: string; digest: string; tags: string[]; signatures?: string[] };
  data: { summary: DiffSummary; artifacts: ArtifactChange[] } | { error: string };
  params: ValueChange[];
  metrics: ValueChange[];
}

/** One published ModelKit to announce. */
export interface Published {
  commit: string;
  digest: string;
  tags: string[];
  signatures?: string[];
}

export interface EventContext {
  remote: string;
  /** Where the remote is (`oci://host/repository` or a layout folder): references are built from it. */
  location: string;
  source: string | null;
  ref?: string;
  /** The commit to compare with (default: the commit's first parent). */
  base?: string;
}

/** The reference a tag of the remote is pulled by: `host/repository:tag` for a registry, `oci:<folder>:tag` for a layout. */
export function referenceOf(location: string, tag: string): string {
  return location.startsWith('oci://') ? `${location.slice('oci://'.length)}:${tag}` : `oci:${location}:${tag}`;
}

function ident(text: string): Ident | null {
  const m = /^(.*?) <([^>]*)>/.exec(text.trim());
  return m ? { name: m[1]!, email: m[2]! } : null;
}

/** Who pushes: Git's committer identity here (user.name / user.email, or what the environment sets). */
export async function pusher(root: string): Promise<Ident | null> {
  return ident(await git(root, ['var', 'GIT_COMMITTER_IDENT']).catch(() => ''));
}

/** Builds the event for one published ModelKit. Parts that cannot be computed are said so in the event, never thrown. */
export async function publishEvent(ctx: RepoContext, m: Published, e: EventContext, who: Ident | null): Promise<PublishEvent> {
  const [subject, an, ae, ct] = (await git(ctx.root, ['log', '-1', '--format=%s%x00%an%x00%ae%x00%cI', m.commit])).replace(/\n$/, '').split('\0');
  const base = e.base ?? ((await git(ctx.root, ['rev-parse', '--verify', '-q', `${m.commit}^`], { okCodes: [1, 128] })).trim() || null);
  const a: Revision = base ? { label: base, commit: base } : { label: 'none' };
  const b: Revision = { label: m.commit, commit: m.commit };
  const [data, params, metrics] = await Promise.all([dataChanges(ctx, base, m.commit), valueChanges(ctx, 'params', a, b), valueChanges(ctx, 'metrics', a, b)]);
  return {
    type: 'mk.modelkit.published',
    version: 1,
    id: randomUUID(),
    time: new Date().toISOString(),
    repository: { source: e.source, remote: e.remote },
    ref: e.ref ?? null,
    commit: { id: m.commit, subject: subject ?? '', author: { name: an ?? '', email: ae ?? '' }, time: ct ?? '' },
    base,
    pushedBy: who,
    modelkit: { reference: referenceOf(e.location, m.commit), digest: m.digest, tags: m.tags, ...(m.signatures ? { signatures: m.signatures } : {}) },
    data,
    params,
    metrics,
  };
}

async function dataChanges(ctx: RepoContext, base: string | null, commit: string): Promise<PublishEvent['data']> {
  try {
    const d = await diffRevisions(ctx, base ? { label: base, commit: base } : { label: 'none' }, { label: commit, commit });
    const artifacts = d.artifacts.map((x) => {
      const c: ArtifactChange = { path: x.path, change: x.change, added: 0, removed: 0, modified: 0, renamed: 0 };
      if (x.from) c.from = x.from;
      for (const f of x.files) c[f.change]++;
      return c;
    });
    return { summary: d.summary, artifacts };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

async function valueChanges(ctx: RepoContext, kind: 'params' | 'metrics', a: Revision, b: Revision): Promise<ValueChange[]> {
  try {
    const files = await declaredFiles(ctx, kind, [a, b]);
    if (!files.length) return [];
    const [va, vb] = await Promise.all([valuesAt(ctx, a, files), valuesAt(ctx, b, files)]);
    return diffValues(va, vb).changes;
  } catch {
    return []; // unreadable values are the report's business, not a reason to stay silent
  }
}
