import { createHash } from 'node:crypto';
import type { Descriptor } from '../content/descriptor.js';
import type { InTotoStatement } from './dsse.js';
import { comparePaths, type ModelFile } from './model-files.js';
import type { LineageItem, StageLineage } from '../pipeline/lineage.js';

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
  /** The pipeline stages that made the commit's data (dvc.yaml and dvc.lock at the commit). */
  lineage?: StageLineage[];
}

/** The media type of a pipeline stage among the provenance's byproducts. */
export const STAGE_MEDIA_TYPE = 'application/vnd.mk.pipeline.stage.v1+json';

function digestsOf(i: LineageItem): Record<string, string> {
  const d: Record<string, string> = {};
  if (i.sha256) d.sha256 = i.sha256;
  if (i.md5) d.md5 = i.md5;
  if (i.gitBlob) d.gitBlob = i.gitBlob;
  if (i.gitTree) d.gitTree = i.gitTree;
  return d;
}

/**
 * Lineage in SLSA's terms: every stage input is a resolved dependency (by path, with its
 * sha256, DVC's md5 and Git's id, and the stages that read it); each stage is a byproduct
 * whose annotations hold its command, params and the digests of its deps and outputs.
 */
function lineageParts(stages: StageLineage[]): { deps: Array<Record<string, unknown>>; byproducts: Array<Record<string, unknown>> } {
  const inputs = new Map<string, { item: LineageItem; stages: string[] }>();
  for (const s of stages)
    for (const d of s.deps) {
      const key = `${d.path}\0${d.sha256 ?? d.md5 ?? d.gitTree ?? ''}`;
      const e = inputs.get(key) ?? inputs.set(key, { item: d, stages: [] }).get(key)!;
      e.stages.push(s.stage);
    }
  const deps = [...inputs.values()].map(({ item, stages: by }) => ({
    name: item.path,
    digest: digestsOf(item),
    ...(item.mediaType ? { mediaType: item.mediaType } : {}),
    annotations: { 'dev.mk.pipeline.stages': by },
  }));
  const byproducts = stages.map((s) => ({
    name: `stage:${s.stage}`,
    mediaType: STAGE_MEDIA_TYPE,
    annotations: {
      stage: s.stage,
      cmd: s.cmd,
      wdir: s.wdir,
      deps: s.deps.map((d) => ({ path: d.path, digest: digestsOf(d) })),
      params: s.params,
      outs: s.outs.map((o) => ({ path: o.path, digest: digestsOf(o) })),
    },
  }));
  return { deps, byproducts };
}

/**
 * A SLSA v1 provenance statement: the ModelKit manifest and its layers are the subjects; the
 * Git commit (and repository URL) is the resolved dependency; mk (and its version) the builder.
 */
export function provenanceStatement(p: ProvenanceInput): InTotoStatement {
  const subject = [{ name: p.name, digest: { sha256: hex(p.manifest.digest) } }];
  for (const l of p.layers) subject.push({ name: l.annotations?.['org.cncf.model.filepath'] ?? l.digest, digest: { sha256: hex(l.digest) } });
  const dep: Record<string, unknown> = { uri: p.repository ? `git+${p.repository}@${p.commit}` : `git+commit:${p.commit}`, digest: { gitCommit: p.commit } };
  const lineage = p.lineage?.length ? lineageParts(p.lineage) : undefined;
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject,
    predicateType: SLSA_PREDICATE,
    predicate: {
      buildDefinition: {
        buildType: MK_BUILD_TYPE,
        externalParameters: { commit: p.commit, ...(p.repository ? { repository: p.repository } : {}) },
        internalParameters: {},
        resolvedDependencies: [dep, ...(lineage?.deps ?? [])],
      },
      runDetails: {
        builder: { id: 'https://www.npmjs.com/package/mk', version: { mk: p.builderVersion } },
        metadata: p.created ? { startedOn: p.created, finishedOn: p.created } : {},
        ...(lineage ? { byproducts: lineage.byproducts } : {}),
      },
    },
  };
}

/** One stage a provenance statement names: its command and the digests of its inputs and outputs. */
export interface LineageStage {
  stage: string;
  cmd: string | string[];
  deps: Array<{ path: string; digest: Record<string, string> }>;
  outs: Array<{ path: string; digest: Record<string, string> }>;
}

/** The stages a provenance statement names (its byproducts of mk's stage type), as `mk verify --key` shows them. */
export function provenanceStages(s: InTotoStatement): LineageStage[] {
  const bp = (s.predicate as { runDetails?: { byproducts?: unknown } }).runDetails?.byproducts;
  if (!Array.isArray(bp)) return [];
  const out = [];
  for (const b of bp as Array<{ mediaType?: unknown; annotations?: Record<string, unknown> }>) {
    const a = b?.annotations;
    if (b?.mediaType !== STAGE_MEDIA_TYPE || !a || typeof a.stage !== 'string') continue;
    const list = (v: unknown) =>
      Array.isArray(v)
        ? (v as Array<{ path?: unknown; digest?: unknown }>)
            .filter((x) => typeof x?.path === 'string' && x.digest && typeof x.digest === 'object')
            .map((x) => ({ path: x.path as string, digest: x.digest as Record<string, string> }))
        : [];
    const cmd = typeof a.cmd === 'string' || (Array.isArray(a.cmd) && a.cmd.every((c) => typeof c === 'string')) ? (a.cmd as string | string[]) : '';
    out.push({ stage: a.stage, cmd, deps: list(a.deps), outs: list(a.outs) });
  }
  return out;
}

/** The commit a provenance statement names as its Git dependency (undefined: none, or not one). */
export function provenanceCommit(s: InTotoStatement): string | undefined {
  const deps = (s.predicate as { buildDefinition?: { resolvedDependencies?: Array<{ digest?: { gitCommit?: unknown } }> } }).buildDefinition?.resolvedDependencies;
  const commits = Array.isArray(deps) ? deps.map((d) => d?.digest?.gitCommit).filter((c): c is string => typeof c === 'string') : [];
  return commits.length === 1 ? commits[0] : undefined;
}
