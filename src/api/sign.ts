import type { Fetcher, Target } from '../content/storage.js';
import { MkError } from '../errors/index.js';
import { resolveCommit } from '../git/run.js';
import { sourceUrl, type BuiltModelKit } from '../modelkit/builder.js';
import { openRemote, remoteConfig } from '../remote/remotes.js';
import { RepoContext } from '../repo/context.js';
import { overlay } from '../stores/overlay.js';
import type { GraphCopyOptions } from '../transfer/graph-copy.js';
import { readPublicKey, readSigningKey, type SigningKey } from '../signing/keys.js';
import { readSubject, type SignedSubject } from '../signing/modelkit-info.js';
import { signModelKit, type SignResult } from '../signing/sign.js';
import type { SignaturesResult } from '../signing/verify.js';
import { resolveModelKit } from './modelkit.js';
import { pipelineLineage } from '../pipeline/lineage.js';
import { checkLocated, expand, knownFiles, mkVersion, revisionOf, signingKeyPath, tryRepo, type Located } from './signature-gate.js';

export type { SignResult, SignaturesResult };

/** The name the statements give a ModelKit: its registry repository, else its title. */
function subjectName(store: unknown, subject: SignedSubject): string {
  const s = store as { host?: unknown; repository?: unknown };
  if (typeof s.host === 'string' && typeof s.repository === 'string') return `${s.host}/${s.repository}`;
  return subject.manifest.annotations?.['org.opencontainers.image.title'] ?? 'modelkit';
}

const keys = new Map<string, SigningKey>();
function signingKey(path: string): SigningKey {
  let k = keys.get(path);
  if (!k) keys.set(path, (k = readSigningKey(path)));
  return k;
}

/**
 * `mk push` (and the pre-push hook): signs a ModelKit just published, when a signing key is
 * configured; undefined when signing is off. Its manifest and config are in `built`, its
 * code layers in the cache: nothing is read from the remote, no data is hashed again.
 */
export async function signOnPush(ctx: RepoContext, target: Target, built: BuiltModelKit, opts: GraphCopyOptions = {}): Promise<SignResult | undefined> {
  const path = signingKeyPath(ctx);
  if (!path) return undefined;
  const key = signingKey(path);
  const local = overlay(built.store, ctx.cache);
  const subject = await readSubject(local, built.manifest, `the ModelKit of ${built.commit.slice(0, 12)}`);
  const repository = ctx.config.source ?? (await sourceUrl(ctx.root));
  const lineage = await pipelineLineage(ctx.commonDir, built.commit);
  return signModelKit(
    {
      store: target,
      subject,
      layers: local,
      known: await knownFiles(ctx, built.commit),
      name: subjectName(target, subject),
      commit: built.commit,
      repository,
      builderVersion: mkVersion(),
      key,
      lineage,
    },
    opts,
  );
}

/** A revision of this repository (its ModelKit on a remote, by the commit tag) or a ModelKit reference. */
async function locate(ref: string, opts: { cwd?: string; remote?: string }): Promise<Located> {
  const ctx = tryRepo(opts.cwd);
  let commit: string | undefined;
  // A revision (HEAD~1, v1.2, origin/main); remote:tag, oci:path and host:port/repo references all have a colon.
  if (ctx && !ref.includes(':')) commit = await resolveCommit(ctx.root, ref).catch(() => undefined);
  if (ctx && commit) {
    const rc = remoteConfig(ctx, opts.remote);
    const store = await openRemote(ctx, rc);
    const desc = await store.resolve(commit).catch((e: unknown) => {
      throw new MkError('ENOTFOUND', `the ModelKit of ${commit!.slice(0, 12)} is not on '${rc.name}'`, { hint: `publish it first ('mk push')`, cause: e });
    });
    return { ctx, store, desc, commit, reference: `${rc.name}:${commit}` };
  }
  const r = await resolveModelKit(ref, opts);
  if (!r.store)
    throw new MkError('EREF', `${ref} names a ModelKit that is not published`, { hint: 'sign a published ModelKit: a revision pushed to a remote, remote:tag, oci:<path>:tag or host/repository:tag' });
  return { ctx, store: r.store, desc: r.desc, commit: r.commit, reference: ref };
}

/** `mk sign`: signs a published ModelKit with the configured key (or `key`), attaching the three signatures. */
export async function sign(ref: string, opts: { cwd?: string; remote?: string; key?: string; force?: boolean } = {}): Promise<SignResult & { reference: string; commit: string }> {
  const at = await locate(ref, opts);
  const path = opts.key ? expand(undefined, opts.key) : signingKeyPath(at.ctx);
  if (!path) throw new MkError('ENOKEY', 'no signing key configured', { hint: "create one with 'mk keygen', then set signing.key in .git/mk/config.yaml or MK_SIGNING_KEY (or pass --key)" });
  const key = signingKey(path);
  const subject = await readSubject(at.store, at.desc, at.reference);
  const commit = at.commit ?? revisionOf(subject);
  if (!commit) throw new MkError('ESIGN', `${ref} names no commit (no org.opencontainers.image.revision annotation): mk signs the ModelKits it builds`);
  const layers: Fetcher = at.ctx ? overlay(at.ctx.cache, at.store) : at.store;
  const known = at.ctx ? await knownFiles(at.ctx, await resolveCommit(at.ctx.root, commit).catch(() => undefined)) : new Map();
  const repository = at.ctx ? (at.ctx.config.source ?? (await sourceUrl(at.ctx.root))) : subject.manifest.annotations?.['org.opencontainers.image.source'];
  // The stages that made the commit's data, when this clone has the commit.
  const local = at.ctx ? await resolveCommit(at.ctx.root, commit).catch(() => undefined) : undefined;
  const lineage = at.ctx && local ? await pipelineLineage(at.ctx.commonDir, local) : undefined;
  const r = await signModelKit({ store: at.store, subject, layers, known, name: subjectName(at.store, subject), commit, repository, builderVersion: mkVersion(), key, force: opts.force, lineage });
  return { ...r, reference: at.reference, commit };
}

/** `mk verify --key`: checks a published ModelKit's three signatures against a public key (and reads its layers back). */
export async function verifySignatures(ref: string, opts: { cwd?: string; remote?: string; key: string; checkLayers?: boolean }): Promise<SignaturesResult & { reference: string; commit?: string }> {
  const at = await locate(ref, opts);
  const key = readPublicKey(expand(undefined, opts.key));
  return { ...(await checkLocated(at, key, opts.checkLayers ?? true)), reference: at.reference };
}
