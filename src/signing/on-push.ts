import type { Target } from '../content/storage.js';
import { sourceUrl, type BuiltModelKit } from '../modelkit/builder.js';
import type { RepoContext } from '../repo/context.js';
import { overlay } from '../stores/overlay.js';
import type { GraphCopyOptions } from '../transfer/graph-copy.js';
import { knownFiles, mkVersion, signingKeyPath } from './gate.js';
import { readSigningKey, type SigningKey } from './keys.js';
import { readSubject, type SignedSubject } from './modelkit-info.js';
import { signModelKit, type SignResult } from './sign.js';
import { pipelineLineage } from '../pipeline/lineage.js';

/** The name the statements give a ModelKit: its registry repository, else its title. */
export function subjectName(store: unknown, subject: SignedSubject): string {
  const s = store as { host?: unknown; repository?: unknown };
  if (typeof s.host === 'string' && typeof s.repository === 'string') return `${s.host}/${s.repository}`;
  return subject.manifest.annotations?.['org.opencontainers.image.title'] ?? 'modelkit';
}

const keys = new Map<string, SigningKey>();
export function signingKey(path: string): SigningKey {
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
