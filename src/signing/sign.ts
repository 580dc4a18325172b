import type { Descriptor } from '../content/descriptor.js';
import type { Fetcher, Target } from '../content/storage.js';
import { sha256 } from '../hashing/digest.js';
import { attachReferrers, type ReferrerArtifact } from '../modelkit/referrers.js';
import { bundleReferrers } from './bundles.js';
import type { GraphCopyOptions } from '../transfer/graph-copy.js';
import { BUNDLE_MEDIA_TYPE, signStatement, type InTotoStatement } from './dsse.js';
import type { SigningKey } from './keys.js';
import { modelKitFiles, type KnownLayerFiles } from './model-files.js';
import type { SignedSubject } from './modelkit-info.js';
import type { StageLineage } from '../pipeline/lineage.js';
import { COSIGN_SIGN_PREDICATE, manifestStatement, OMS_PREDICATE, omsStatement, provenanceStatement, SLSA_PREDICATE } from './statements.js';

/** Annotation on mk's signature referrers: the key hint (sha256 of the public key PEM) of the key that signed. */
export const KEY_HINT_ANNOTATION = 'dev.mk.signature.key-hint';
export const PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
export const CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';

/** What a signature referrer signs: the ModelKit (cosign), its files (OMS), or how it was built (SLSA provenance). */
export type SignatureKind = 'signature' | 'files' | 'provenance';

export const SIGNATURE_KINDS: ReadonlyArray<{ readonly kind: SignatureKind; readonly predicateType: string }> = [
  { kind: 'signature', predicateType: COSIGN_SIGN_PREDICATE },
  { kind: 'files', predicateType: OMS_PREDICATE },
  { kind: 'provenance', predicateType: SLSA_PREDICATE },
];

export interface SignInput {
  /** Where the ModelKit is: its referrers go there too. */
  store: Target;
  subject: SignedSubject;
  /** Reads layers no directory manifest describes (code, docs): the cache, or the store. */
  layers: Fetcher;
  known: KnownLayerFiles;
  /** The subject name in the statements: the ModelKit's repository (or title). */
  name: string;
  commit: string;
  repository?: string;
  builderVersion: string;
  key: SigningKey;
  /** Sign again even when the ModelKit carries all three of this key's signatures. */
  force?: boolean;
  /** The pipeline stages that made the commit's data: named in the provenance. */
  lineage?: StageLineage[];
}

export interface SignResult {
  digest: string;
  /** The referrers attached (none when it was signed by this key already). */
  referrers: Array<{ kind: SignatureKind; digest: string; predicateType: string }>;
  /** Files the OMS signature lists. */
  files: number;
  /** Layers whose bytes were read to list their files (tar layers no directory manifest describes). */
  read: Array<{ digest: string; size: number }>;
  /** Things the user should fix (a private key others can read). */
  warnings: string[];
}

/** Whether the subject's referrers already hold this key's three signatures (by their manifests' own annotations). */
export async function signedBy(store: Target, subject: Descriptor, hint: string): Promise<boolean> {
  const list = (await bundleReferrers(store, subject)).filter((r) => !r.problem);
  return SIGNATURE_KINDS.every((k) => list.some((r) => r.annotations[PREDICATE_ANNOTATION] === k.predicateType && r.annotations[KEY_HINT_ANNOTATION] === hint));
}

/**
 * Signs a ModelKit with a local key, offline: three Sigstore bundles (DSSE, in-toto), each an
 * OCI referrer of the ModelKit in the layout cosign uses: the manifest's signature (cosign's
 * own statement), an OMS v1.0 signature of the files kit unpack writes (digests from the
 * layers and directory manifests: no data is read again), and a SLSA v1 provenance (commit,
 * repository, builder). Nothing happens when the ModelKit carries this key's three already.
 */
export async function signModelKit(input: SignInput, opts: GraphCopyOptions = {}): Promise<SignResult> {
  const { subject, key } = input;
  const warnings = key.warning ? [key.warning] : [];
  if (!input.force && (await signedBy(input.store, subject.desc, key.hint))) return { digest: subject.desc.digest, referrers: [], files: 0, read: [], warnings };
  const { files, read } = await modelKitFiles(subject.manifest, subject.config, subject.kitfile, input.layers, input.known);
  const created = subject.manifest.annotations?.['org.opencontainers.image.created'];
  const statements: Array<[SignatureKind, InTotoStatement]> = [
    ['signature', manifestStatement(input.name, subject.desc)],
    ['files', omsStatement(input.name, files)],
    [
      'provenance',
      provenanceStatement({
        name: input.name,
        manifest: subject.desc,
        layers: subject.manifest.layers as Descriptor[],
        commit: input.commit,
        repository: input.repository,
        builderVersion: input.builderVersion,
        created,
        lineage: input.lineage,
      }),
    ],
  ];
  const now = new Date().toISOString();
  const artifacts: ReferrerArtifact[] = [];
  for (const [, st] of statements) {
    const bytes = await signStatement(st, key);
    artifacts.push({
      artifactType: BUNDLE_MEDIA_TYPE,
      layers: [{ mediaType: BUNDLE_MEDIA_TYPE, bytes, annotations: { 'org.opencontainers.image.title': `sha256-${sha256(bytes).slice(7)}.sigstore.json` } }],
      annotations: { [CONTENT_ANNOTATION]: 'dsse-envelope', [PREDICATE_ANNOTATION]: st.predicateType, 'org.opencontainers.image.created': now, [KEY_HINT_ANNOTATION]: key.hint },
    });
  }
  const added = await attachReferrers(input.store, subject.desc, artifacts, opts);
  return {
    digest: subject.desc.digest,
    referrers: added.map((d, i) => ({ kind: statements[i]![0], digest: d.digest, predicateType: statements[i]![1].predicateType })),
    files: files.length,
    read,
    warnings,
  };
}
