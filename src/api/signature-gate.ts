import { writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Descriptor } from '../content/descriptor.js';
import type { Fetcher, Target } from '../content/storage.js';
import { MkError } from '../errors/index.js';
import { pointersAtCommit } from '../git/pointers.js';
import { resolveCommit } from '../git/run.js';
import { openRemote, remoteConfig } from '../remote/remotes.js';
import { RepoContext } from '../repo/context.js';
import { overlay } from '../stores/overlay.js';
import { bundleReferrers, readBundle } from '../signing/bundles.js';
import { readPublicKey } from '../signing/keys.js';
import { dirManifestFiles, type KnownLayerFiles } from '../signing/model-files.js';
import { readSubject, type SignedSubject } from '../signing/modelkit-info.js';
import { KEY_HINT_ANNOTATION, PREDICATE_ANNOTATION } from '../signing/sign.js';
import { OMS_PREDICATE } from '../signing/statements.js';
import { verifyModelKitSignatures, type SignaturesResult } from '../signing/verify.js';

export { mkVersion } from '../util/version.js';

export function expand(ctx: RepoContext | undefined, p: string): string {
  const home = p.replace(/^~(?=\/|$)/, process.env.HOME ?? '~');
  return isAbsolute(home) ? home : resolve(ctx?.root ?? process.cwd(), home);
}

/** The signing key's path: MK_SIGNING_KEY, else config `signing.key` (relative to the repository); undefined: signing is off. */
export function signingKeyPath(ctx?: RepoContext): string | undefined {
  const p = process.env.MK_SIGNING_KEY || ctx?.config.signingKey;
  return p ? expand(ctx, p) : undefined;
}

/** The public key that config `verify_signatures.key` names (relative to the repository), if any. */
export function requiredKeyPath(ctx: RepoContext): string | undefined {
  return ctx.config.verifySignaturesKey ? expand(ctx, ctx.config.verifySignaturesKey) : undefined;
}

export async function knownFiles(ctx: RepoContext | undefined, commit: string | undefined): Promise<KnownLayerFiles> {
  if (!ctx || !commit) return new Map();
  return dirManifestFiles(ctx.cache, await pointersAtCommit(ctx.commonDir, commit));
}

export function tryRepo(cwd?: string): RepoContext | undefined {
  try {
    return RepoContext.open(cwd);
  } catch {
    return undefined;
  }
}

/** A published ModelKit: the store that holds it (its referrers go there) and its manifest. */
export interface Located {
  ctx?: RepoContext;
  store: Target;
  desc: Descriptor;
  commit?: string;
  reference: string;
}

export function revisionOf(s: SignedSubject): string | undefined {
  const c = s.manifest.annotations?.['org.opencontainers.image.revision'];
  return c && /^[0-9a-f]{40}$/.test(c) ? c : undefined;
}

export async function checkLocated(at: Located, key: ReturnType<typeof readPublicKey>, checkLayers: boolean): Promise<SignaturesResult & { commit?: string }> {
  const subject = await readSubject(at.store, at.desc, at.reference);
  const commit = at.commit ?? revisionOf(subject);
  const local = at.ctx && commit ? await resolveCommit(at.ctx.root, commit).catch(() => undefined) : undefined;
  const layers: Fetcher = at.ctx ? overlay(at.ctx.cache, at.store) : at.store;
  const r = await verifyModelKitSignatures({ store: at.store, subject, key, layers, known: await knownFiles(at.ctx, local), commit, checkLayers });
  return { ...r, commit };
}

/** The one line a refused ModelKit gets (config verify_signatures). */
function refusal(what: string, r: SignaturesResult, keyPath: string): MkError {
  const bad = r.checks.find((c) => !c.ok);
  return new MkError('EUNSIGNED', `refusing ${what}: ${bad ? `${bad.kind}: ${bad.problem}` : 'a layer does not match its digest'} (verify_signatures: ${keyPath})`, {
    hint: `check it with 'mk verify <rev> --key ${keyPath}'; sign it with 'mk sign <rev>' if it is yours`,
    data: { digest: r.digest },
  });
}

/**
 * With config `verify_signatures: {key}`: refuses (one line) a ModelKit that is not signed,
 * or not by that key, before its data is used. `what` names it in the message. Layers are not
 * read again here: every blob fetched is checked against its digest anyway.
 */
export async function requireSigned(ctx: RepoContext, store: Target, desc: Descriptor, what: string): Promise<void> {
  const keyPath = requiredKeyPath(ctx);
  if (!keyPath) return;
  const key = readPublicKey(keyPath);
  const r = await checkLocated({ ctx, store, desc, reference: what }, key, false);
  if (!r.ok) throw refusal(what, r, keyPath);
}

/**
 * With config `verify_signatures`: refuses a revision whose ModelKit on the remote is not
 * signed by the key (pull, checkout, the hooks). Nothing happens without that config.
 */
export async function requireSignedRevision(opts: { cwd?: string; remote?: string; rev?: string } = {}): Promise<void> {
  const ctx = RepoContext.open(opts.cwd);
  if (!requiredKeyPath(ctx)) return;
  const commit = await resolveCommit(ctx.root, opts.rev ?? 'HEAD');
  const rc = remoteConfig(ctx, opts.remote);
  const store = await openRemote(ctx, rc);
  let desc: Descriptor;
  try {
    desc = await store.resolve(commit);
  } catch {
    throw new MkError('EUNSIGNED', `refusing ${commit.slice(0, 12)}: its ModelKit is not on '${rc.name}', so no signature vouches for it (verify_signatures: ${requiredKeyPath(ctx)})`, {
      hint: "publish and sign it ('mk push' with signing.key set), or remove verify_signatures from the config",
    });
  }
  await requireSigned(ctx, store, desc, `the ModelKit of ${commit.slice(0, 12)} on '${rc.name}'`);
}

/**
 * For the Git filter's smudge (config verify_signatures): why the data of a revision may not be
 * placed, or undefined when its ModelKit is signed by the key. Fails closed: a remote that cannot
 * be reached or a key that cannot be read is a reason too.
 */
export async function smudgeRefusal(root: string, rev: string): Promise<string | undefined> {
  try {
    await requireSignedRevision({ cwd: root, rev });
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * The OMS (OpenSSF model signing) bundle attached to a ModelKit, for `mk modelkit unpack
 * --signature`: what `model_signing verify key --signature <file>` checks an unpacked tree
 * against. The one signed by the configured verify_signatures key when there is one; else the
 * newest. A revision's ModelKit is looked up on the default remote.
 */
export async function modelSignatureBundle(r: { store?: Target; desc: Descriptor; commit?: string }, opts: { cwd?: string } = {}): Promise<Buffer> {
  const ctx = tryRepo(opts.cwd);
  let store = r.store;
  if (!store && ctx && r.commit) {
    const t = await openRemote(ctx, remoteConfig(ctx));
    if ((await t.resolve(r.commit).catch(() => undefined))?.digest === r.desc.digest) store = t;
  }
  // Which referrers are bundles, and what they sign, by their own manifests (never an index's labels).
  const list = store ? (await bundleReferrers(store, r.desc)).filter((b) => !b.problem && b.annotations[PREDICATE_ANNOTATION] === OMS_PREDICATE) : [];
  const keyPath = ctx && requiredKeyPath(ctx);
  const hint = keyPath ? readPublicKey(keyPath).hint : undefined;
  list.sort((a, b) => (b.annotations['org.opencontainers.image.created'] ?? '').localeCompare(a.annotations['org.opencontainers.image.created'] ?? ''));
  const pick = (hint && list.find((b) => b.annotations[KEY_HINT_ANNOTATION] === hint)) || list[0];
  if (!pick || !store)
    throw new MkError('EUNSIGNED', `${r.desc.digest.slice(0, 19)} carries no model signature (OpenSSF model signing) to write`, {
      hint: "sign it first: 'mk sign <rev>' or 'mk push' with signing.key set",
    });
  return readBundle(store, pick);
}

/**
 * Before `mk modelkit unpack` writes anything: with config verify_signatures, refuses a
 * ModelKit not signed by that key; with `signature`, fetches its model signature (refused with
 * a filter or referenced ModelKits: the tree would not be the one signed).
 */
export async function beforeUnpack(
  r: { store?: Target; desc: Descriptor; commit?: string; reference: string },
  opts: { cwd?: string; signature?: string; filtered: boolean; referenced: boolean },
): Promise<Buffer | undefined> {
  const ctx = tryRepo(opts.cwd);
  if (ctx && requiredKeyPath(ctx)) {
    if (r.store) await requireSigned(ctx, r.store, r.desc, r.reference);
    else if (r.commit) await requireSignedRevision({ cwd: opts.cwd, rev: r.commit });
  }
  if (!opts.signature) return undefined;
  if (opts.filtered) throw new MkError('EUSAGE', '--signature writes the signature of the whole ModelKit: it cannot go with --filter');
  if (opts.referenced) throw new MkError('EUSAGE', '--signature covers this ModelKit only, not the ModelKits its Kitfile references');
  return modelSignatureBundle(r, opts);
}

/** Writes a signature file (a new file, or one to replace). */
export function writeSignature(bytes: Buffer, file: string): void {
  writeFileSync(file, bytes);
}
