import pLimit from 'p-limit';
import type { Descriptor } from '../content/descriptor.js';
import { isModelKitConfigType } from '../content/media-types.js';
import type { Target } from '../content/storage.js';
import { MkError, UsageError } from '../errors/index.js';
import { readValues } from '../experiments/collect.js';
import { METRICS_ANNOTATION, PARAMS_ANNOTATION, valuesFromAnnotation } from '../experiments/modelkit.js';
import { currentPromotions, listPromotions, recordPromotion, type Promotion } from '../experiments/promotions.js';
import { declaredAt } from '../experiments/source.js';
import { stageFilesAt } from '../experiments/stage-files.js';
import { listExperiments, type ExpStatus } from '../pipeline/exp-refs.js';
import type { FlatValues } from '../experiments/values.js';
import { mergedFlat } from '../experiments/collect.js';
import { pointersAtCommit } from '../git/pointers.js';
import { mdTable, textTable } from '../experiments/render.js';
import { git, resolveCommit } from '../git/run.js';
import { readManifest } from '../modelkit/publish.js';
import { parseImageManifest } from '../modelkit/read.js';
import { openRemote, registrySettings, remoteConfig, remoteOnHost } from '../remote/remotes.js';
import { openRegistryStore } from '../stores/open.js';
import { parseRemoteUrl } from '../remote/url.js';
import type { RemoteConfig } from '../repo/config.js';
import { RepoContext } from '../repo/context.js';
import { ociTag } from '../modelkit/tags.js';

export interface ExperimentRow {
  /** Names of the row: branches and tags pointing there, `workspace`, or the short commit id. */
  names: string[];
  commit?: string;
  /** Committer time (local rows) or the ModelKit's created annotation (remote rows). */
  created?: string;
  params: FlatValues;
  metrics: FlatValues;
  /** Digest of the model artifact (its pointer's digest, or the model layer's). */
  model?: string;
  /** The ModelKit: its reference on the remote (tag = commit id), and its digest when read from the registry. */
  modelkit?: { reference: string; digest?: string };
  /** Tags the commit was promoted to (and still holds): champion, ... */
  promoted: string[];
  /** For an experiment of `mk exp run`: its name, state, baseline commit and the params set for it. */
  experiment?: { name: string; status: ExpStatus; baseline: string; sets: string[] };
}

export interface ExpShowOptions {
  cwd?: string;
  /** Commits of HEAD's first-parent history (default 20). */
  n?: number;
  allBranches?: boolean;
  allTags?: boolean;
  sortBy?: string;
  sortOrder?: 'asc' | 'desc';
  /** Read the published ModelKits of this remote (no Git history needed). */
  remote?: string;
}

export interface ExpShowResult {
  source: 'git' | 'registry';
  location?: string;
  rows: ExperimentRow[];
}

function referenceBase(ctx: RepoContext, rc: RemoteConfig): string | undefined {
  try {
    const u = parseRemoteUrl(rc.url, ctx.root);
    return u.type === 'registry' ? `${u.host}/${u.repository}` : `oci:${u.path}`;
  } catch {
    return undefined;
  }
}

function defaultRemote(ctx: RepoContext): RemoteConfig | undefined {
  try {
    return remoteConfig(ctx);
  } catch {
    return undefined;
  }
}

function checkN(n: number | undefined): number {
  if (n === undefined) return 20;
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`-n must be a positive whole number, not '${n}'`);
  return n;
}

/** One row per commit (HEAD's history, branch tips, tags), or per ModelKit published on a remote. */
export async function expShow(opts: ExpShowOptions = {}): Promise<ExpShowResult> {
  const n = checkN(opts.n);
  let r: ExpShowResult;
  if (opts.remote !== undefined) {
    const ctx = tryRepo(opts.cwd);
    const { store, base } = await openWhere(ctx, opts.remote);
    r = await remoteRows(store, base, n);
  } else r = await gitRows(RepoContext.open(opts.cwd), opts, n);
  if (opts.sortBy) sortRows(r.rows, opts.sortBy, opts.sortOrder ?? 'desc');
  return r;
}

function sortRows(rows: ExperimentRow[], key: string, order: 'asc' | 'desc'): void {
  if (!rows.some((r) => Object.hasOwn(r.metrics, key) || Object.hasOwn(r.params, key))) throw new UsageError(`no experiment has a metric or param '${key}'`);
  const val = (r: ExperimentRow) => {
    const v = Object.hasOwn(r.metrics, key) ? r.metrics[key] : r.params[key];
    return typeof v === 'number' ? v : undefined;
  };
  rows.sort((a, b) => {
    const x = val(a);
    const y = val(b);
    if (x === undefined || y === undefined) return x === undefined ? (y === undefined ? 0 : 1) : -1;
    return order === 'asc' ? x - y : y - x;
  });
}

async function gitRows(ctx: RepoContext, opts: ExpShowOptions, n: number): Promise<ExpShowResult> {
  // Names of refs by commit, and the commits to show: HEAD's history, then branch tips and tags.
  const refs = await git(ctx.root, ['for-each-ref', '--format=%(objectname) %(*objectname) %(refname)', 'refs/heads/', 'refs/tags/']);
  const names = new Map<string, string[]>();
  const tips: string[] = [];
  for (const l of refs.split('\n')) {
    const [obj, peeled, ref] = l.split(' ');
    if (!ref) continue;
    const commit = peeled || obj!;
    const isBranch = ref.startsWith('refs/heads/');
    const name = ref.replace(/^refs\/(heads|tags)\//, '');
    names.set(commit, [...(names.get(commit) ?? []), name]);
    if ((isBranch && opts.allBranches) || (!isBranch && opts.allTags)) tips.push(commit);
  }
  const history = (await git(ctx.root, ['rev-list', '--first-parent', '-n', String(n), 'HEAD', '--'], { okCodes: [128] })).split('\n').filter((c) => /^[0-9a-f]{40,64}$/.test(c));
  const commits = [...new Set([...history, ...tips])];
  const times = new Map<string, string>();
  if (commits.length) {
    const log = await git(ctx.root, ['log', '--no-walk=unsorted', '--format=%H %cI', '--stdin'], { input: commits.join('\n') + '\n' });
    for (const l of log.split('\n')) {
      const [c, t] = l.split(' ');
      if (c && t) times.set(c, t);
    }
  }
  const promoted = currentPromotions(await listPromotions(ctx.root, ctx.commonDir));
  const rc = defaultRemote(ctx);
  const base = rc && referenceBase(ctx, rc);
  const memo = new Map<string, Array<{ path: string; oid: string }>>();
  const rows: ExperimentRow[] = [];
  const files = async (src: Parameters<typeof readValues>[0], kind: 'params' | 'metrics', own: string[]) => mergedFlat(await readValues(src, [...new Set([...ctx.config[kind], ...own])]));

  const wt = { kind: 'worktree' as const, root: ctx.root };
  const wtStages = await stageFilesAt(wt);
  rows.push({ names: ['workspace'], params: await files(wt, 'params', wtStages.params), metrics: await files(wt, 'metrics', wtStages.metrics), promoted: [] });
  const experiments = await listExperiments(ctx.root);
  const shown = new Set<string>();
  const commitRow = async (commit: string, created: string | undefined): Promise<ExperimentRow> => {
    const src = { kind: 'commit' as const, gitDir: ctx.commonDir, commit };
    const own = await declaredAt(src);
    const stages = await stageFilesAt(src);
    const pointers = await pointersAtCommit(ctx.commonDir, commit, undefined, memo, () => undefined);
    const model = pointers.find((t) => t.pointer.kind === 'model');
    return {
      names: names.get(commit) ?? [commit.slice(0, 12)],
      commit,
      created,
      params: await files(src, 'params', [...own.params, ...stages.params]),
      metrics: await files(src, 'metrics', [...own.metrics, ...stages.metrics]),
      ...(model ? { model: model.pointer.digest } : {}),
      ...(base ? { modelkit: { reference: `${base}:${commit}` } } : {}),
      promoted: [...promoted.values()].filter((p) => p.commit === commit).map((p) => p.tag),
    };
  };
  // An experiment: its commit's params; metrics only once it has a result (a queued one still holds its baseline's).
  const expRow = async (e: (typeof experiments)[number]): Promise<ExperimentRow> => {
    const r = await commitRow(e.commit, e.created);
    shown.add(e.name);
    return {
      ...r,
      names: [e.name],
      ...(e.status === 'done' ? {} : { metrics: {}, model: undefined }),
      modelkit: undefined,
      promoted: [],
      experiment: { name: e.name, status: e.status, baseline: e.baseline, sets: e.sets },
    };
  };
  for (const commit of commits) {
    rows.push(await commitRow(commit, times.get(commit)));
    for (const e of experiments.filter((x) => x.baseline === commit)) rows.push(await expRow(e));
  }
  for (const e of experiments.filter((x) => !shown.has(x.name))) rows.push(await expRow(e));
  for (const r of rows) {
    if (r.model === undefined) delete r.model;
    if (r.modelkit === undefined) delete r.modelkit;
  }
  return { source: 'git', rows };
}

function isCommitTag(t: string): boolean {
  return /^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(t);
}

function tryRepo(cwd?: string): RepoContext | undefined {
  try {
    return RepoContext.open(cwd);
  } catch {
    return undefined;
  }
}

/** A remote of the repository by name, or (anywhere) a registry repository `host[:port]/repository`. */
async function openWhere(ctx: RepoContext | undefined, where: string): Promise<{ store: Target; base: string }> {
  if (ctx && (where === '' || ctx.config.remotes.some((r) => r.name === where))) {
    const rc = remoteConfig(ctx, where || undefined);
    return { store: await openRemote(ctx, rc, { readOnly: true }), base: referenceBase(ctx, rc) ?? rc.name };
  }
  const { parseRegistryReference } = await import('../stores/registry/index.js');
  let r;
  try {
    r = parseRegistryReference(where.replace(/^oci:\/\//, ''));
  } catch {
    throw new UsageError(`'${where}' is not a remote of this repository or a registry repository (host/repository)`, ctx ? undefined : 'outside a repository, name the registry repository');
  }
  return { store: await openRegistryStore({ ...registrySettings(ctx && remoteOnHost(ctx, r.host), r.host, r.repository), envCredentialsHost: r.host }), base: `${r.host}/${r.repository}` };
}

async function remoteRows(store: Target, base: string, n: number): Promise<ExpShowResult> {
  const tags = (await store.tags()).filter((t) => !/^sha256-[0-9a-f]{64}$/.test(t));
  const limit = pLimit(8);
  const resolved = await Promise.all(tags.map((tag) => limit(async () => ({ tag, desc: await store.resolve(tag) }))));
  const byDigest = new Map<string, { desc: Descriptor; tags: string[] }>();
  for (const { tag, desc } of resolved) {
    const e = byDigest.get(desc.digest) ?? { desc, tags: [] };
    e.tags.push(tag);
    byDigest.set(desc.digest, e);
  }
  const rows = (
    await Promise.all(
      [...byDigest.values()].map(({ desc, tags: t }) =>
        limit(async (): Promise<ExperimentRow | undefined> => {
          let m;
          try {
            m = parseImageManifest(await readManifest(store, desc), `the manifest tagged ${t[0]}`);
          } catch {
            return undefined; // an index or anything else that is no image manifest
          }
          if (!isModelKitConfigType(m.config.mediaType)) return undefined;
          const a = m.annotations ?? {};
          const rev = a['org.opencontainers.image.revision'];
          const commit = typeof rev === 'string' && isCommitTag(rev) ? rev : undefined;
          const model = m.layers.find((l) => /\.model\.v1\.|\.weight\.v1\./.test(l.mediaType));
          const named = t.filter((x) => !isCommitTag(x) || x !== commit).sort();
          const commitTag = commit && t.includes(commit) ? commit : undefined;
          return {
            names: named.length ? named : [commit?.slice(0, 12) ?? desc.digest.slice(7, 19)],
            ...(commit ? { commit } : {}),
            ...(typeof a['org.opencontainers.image.created'] === 'string' ? { created: a['org.opencontainers.image.created'] } : {}),
            params: valuesFromAnnotation(a[PARAMS_ANNOTATION]),
            metrics: valuesFromAnnotation(a[METRICS_ANNOTATION]),
            ...(model ? { model: model.digest } : {}),
            modelkit: { reference: commitTag ? `${base}:${commitTag}` : `${base}@${desc.digest}`, digest: desc.digest },
            promoted: t.filter((x) => !isCommitTag(x) && promotedTag(x)),
          };
        }),
      ),
    )
  ).filter((r): r is ExperimentRow => !!r);
  rows.sort((x, y) => (y.created ?? '').localeCompare(x.created ?? ''));
  return { source: 'registry', location: store.location, rows: rows.slice(0, n) };
}

/** Tags `mk promote` gives by default, or that read as one (champion, candidate...). */
function promotedTag(t: string): boolean {
  return t === 'champion' || t === 'challenger' || t.startsWith('candidate');
}

export interface PromoteResult extends Promotion {
  reference: string;
}

/**
 * Tags a commit's published ModelKit on the remote (`as`, default champion) and records the
 * promotion in Git (a note on the commit, see src/experiments/promotions.ts). A commit whose
 * ModelKit is not on the remote is refused: nothing is tagged or recorded.
 */
export async function promote(rev: string, opts: { cwd?: string; as?: string; remote?: string } = {}): Promise<PromoteResult> {
  const ctx = RepoContext.open(opts.cwd);
  const tag = opts.as ?? 'champion';
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag) || ociTag(tag) !== tag)
    throw new UsageError(`'${tag}' is not a valid tag`, 'a tag is letters, digits, _ . - (at most 128, not starting with . or -)');
  if (isCommitTag(tag) || /^sha256-/.test(tag)) throw new UsageError(`'${tag}' looks like a commit id or a referrers tag; choose another name`);
  const commit = await resolveCommit(ctx.root, rev);
  const rc = remoteConfig(ctx, opts.remote);
  const store: Target = await openRemote(ctx, rc);
  const base = referenceBase(ctx, rc) ?? rc.name;
  let desc: Descriptor;
  try {
    desc = await store.resolve(commit);
  } catch (e) {
    if (e instanceof MkError && e.code === 'ENOTFOUND')
      throw new MkError('ENOTPUBLISHED', `the ModelKit of ${commit.slice(0, 12)} is not published on ${rc.name}`, { hint: `run 'mk push ${rev}' first, then promote it` });
    throw e;
  }
  const m = parseImageManifest(await readManifest(store, desc), `the ModelKit tagged ${commit.slice(0, 12)} on ${rc.name}`);
  if (!isModelKitConfigType(m.config.mediaType) || m.annotations?.['org.opencontainers.image.revision'] !== commit)
    throw new MkError('ENOTPUBLISHED', `the tag ${commit.slice(0, 12)} on ${rc.name} does not name this commit's ModelKit`, { hint: `run 'mk verify ${rev}' to compare` });
  await store.tag(desc, tag);
  const p: Promotion = { commit, tag, remote: rc.name, location: base, digest: desc.digest, at: new Date().toISOString() };
  await recordPromotion(ctx.root, p);
  return { ...p, reference: `${base}:${tag}` };
}

/** The rows as a table: a column per metric, then per param, then model and ModelKit. */
export function formatExpShow(r: ExpShowResult, format: 'text' | 'md'): string {
  const metrics = [...new Set(r.rows.flatMap((x) => Object.keys(x.metrics)))];
  const params = [...new Set(r.rows.flatMap((x) => Object.keys(x.params)))];
  const cell = (v: FlatValues, k: string) => (Object.hasOwn(v, k) ? String(v[k]) : '-');
  const head = ['Experiment', 'Created', ...metrics, ...params, 'Model', 'ModelKit'];
  const rows = r.rows.map((x) => [
    x.experiment ? `  ${x.experiment.name}${x.experiment.status === 'done' ? '' : ` (${x.experiment.status})`}` : `${x.names.join(', ')}${x.promoted.length ? ` [${x.promoted.join(', ')}]` : ''}`,
    x.created?.slice(0, 19).replace('T', ' ') ?? '-',
    ...metrics.map((k) => cell(x.metrics, k)),
    ...params.map((k) => cell(x.params, k)),
    x.model ? x.model.replace(/^sha256:/, '').slice(0, 12) : '-',
    x.modelkit?.reference ?? '-',
  ]);
  return format === 'md' ? mdTable([head, ...rows]) : textTable([head, ...rows]);
}
