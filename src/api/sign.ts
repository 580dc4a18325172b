import type { Fetcher } from '../content/storage.js';
import { MkError } from '../errors/index.js';
import { resolveCommit } from '../git/run.js';
import { sourceUrl } from '../modelkit/builder.js';
import { openRemote, remoteConfig } from '../remote/remotes.js';
import { overlay } from '../stores/overlay.js';
import { readPublicKey } from '../signing/keys.js';
import { readSubject } from '../signing/modelkit-info.js';
import { signModelKit, type SignResult } from '../signing/sign.js';
import type { SignaturesResult } from '../signing/verify.js';
import { resolveModelKit } from '../modelkit/resolve.js';
import { pipelineLineage } from '../pipeline/lineage.js';
import { checkLocated, expand, knownFiles, mkVersion, revisionOf, signingKeyPath, tryRepo, type Located } from '../signing/gate.js';

import { signingKey, subjectName } from '../signing/on-push.js';

export type { SignResult, SignaturesResult };

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
