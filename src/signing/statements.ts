import { createHash } from 'node:crypto';
import type { Descriptor } from '../content/descriptor.js';
import type { InTotoStatement } from './dsse.js';
import { comparePaths, type ModelFile } from './model-files.js';

/** What cosign v3 signs for an image: an in-toto statement naming the manifest digest, empty predicate. */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
/** OpenSSF model signing (OMS) v1.0: the files of a model and their digests. */
export const OMS_PREDICATE = 'https://model_signing/signature/v1.0';
export const SLSA_PREDICATE = 'https://slsa.dev/provenance/v1';
/** The SLSA build type of an mk ModelKit: built from one Git commit, deterministically. */
export const MK_BUILD_TYPE = 'https://mk.dev/modelkit/build/v1';

const hex = (d: string) => d.slice('sha256:'.length);

/** The signature of a ModelKit manifest, in cosign v3's form (`cosign verify` reads it). */
export function manifestStatement(name: string, manifest: Pick<Descriptor, 'digest'>): InTotoStatement {
  return { _type: 'https://in-toto.io/Statement/v1', subject: [{ name, digest: { sha256: hex(manifest.digest) } }], predicateType: COSIGN_SIGN_PREDICATE, predicate: {} };
}

/**
 * Paths model_signing leaves out of a model directory by default (`--ignore-git-paths`):
 * `.git/`, `.gitattributes`, `.github/`, `.gitignore` at its top.
 */
export function omsIgnored(path: string): boolean {
  return path === '.gitattributes' || path === '.gitignore' || path === '.git' || path === '.github' || path.startsWith('.git/') || path.startsWith('.github/');
}

/**
 * model_signing's v1.0 payload (model_signing/_signing/signing.py, Payload): the files as
 * resources (name, sha256), sorted by path; the subject's digest is sha256 over the
 * resources' raw digests in that order; serialization "files", sha256, no symlinks.
 */
export function omsStatement(name: string, files: ModelFile[]): InTotoStatement {
  const kept = files.filter((f) => !omsIgnored(f.path)).sort((a, b) => comparePaths(a.path, b.path));
  const root = createHash('sha256');
  for (const f of kept) root.update(Buffer.from(f.sha256, 'hex'));
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name, digest: { sha256: root.digest('hex') } }],
    predicateType: OMS_PREDICATE,
    predicate: {
      serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false },
      resources: kept.map((f) => ({ name: f.path, algorithm: 'sha256', digest: f.sha256 })),
    },
  };
}

export interface ProvenanceInput {
  /** The ModelKit's repository name (subject name of the manifest). */
  name: string;
  manifest: Descriptor;
  layers: Descriptor[];
  commit: string;
  /** The Git repository's URL (org.opencontainers.image.source), when it has a shared one. */
  repository?: string;
  builderVersion: string;
  /** When the ModelKit was built: the commit's time (mk builds are reproducible). */
  created?: string;
}

/**
 * A SLSA v1 provenance statement: the ModelKit manifest and its layers are the subjects; the
 * Git commit (and repository URL) is the resolved dependency; mk (and its version) the builder.
 */
export function provenanceStatement(p: ProvenanceInput): InTotoStatement {
  const subject = [{ name: p.name, digest: { sha256: hex(p.manifest.digest) } }];
  for (const l of p.layers) subject.push({ name: l.annotations?.['org.cncf.model.filepath'] ?? l.digest, digest: { sha256: hex(l.digest) } });
  const dep: Record<string, unknown> = { uri: p.repository ? `git+${p.repository}@${p.commit}` : `git+commit:${p.commit}`, digest: { gitCommit: p.commit } };
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject,
    predicateType: SLSA_PREDICATE,
    predicate: {
      buildDefinition: {
        buildType: MK_BUILD_TYPE,
        externalParameters: { commit: p.commit, ...(p.repository ? { repository: p.repository } : {}) },
        internalParameters: {},
        resolvedDependencies: [dep],
      },
      runDetails: {
        builder: { id: 'https://www.npmjs.com/package/mk', version: { mk: p.builderVersion } },
        metadata: p.created ? { startedOn: p.created, finishedOn: p.created } : {},
      },
    },
  };
}

/** The commit a provenance statement names as its Git dependency (undefined: none, or not one). */
export function provenanceCommit(s: InTotoStatement): string | undefined {
  const deps = (s.predicate as { buildDefinition?: { resolvedDependencies?: Array<{ digest?: { gitCommit?: unknown } }> } }).buildDefinition?.resolvedDependencies;
  const commits = Array.isArray(deps) ? deps.map((d) => d?.digest?.gitCommit).filter((c): c is string => typeof c === 'string') : [];
  return commits.length === 1 ? commits[0] : undefined;
}
