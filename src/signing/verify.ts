import { MkError } from '../errors/index.js';
import type { Descriptor } from '../content/descriptor.js';
import type { Fetcher, Target } from '../content/storage.js';
import { verifying } from '../hashing/digest.js';
import { bundleReferrers, readBundle } from './bundles.js';
import { openBundle, type InTotoStatement } from './dsse.js';
import type { PublicKey } from './keys.js';
import { modelKitFiles, type KnownLayerFiles } from './model-files.js';
import type { SignedSubject } from './modelkit-info.js';
import { PREDICATE_ANNOTATION, SIGNATURE_KINDS, type SignatureKind } from './sign.js';
import { omsStatement, provenanceCommit, provenanceStages, type LineageStage } from './statements.js';

export interface SignatureCheck {
  kind: SignatureKind;
  ok: boolean;
  /** What a good one vouches for. */
  covers: string;
  /** Why it failed (the first problem found). */
  problem?: string;
  /** The referrer manifests of this kind that were good. */
  good: string[];
  /**
   * Other referrers of this kind that did not hold (anyone who may push can attach one): each
   * one line. They do not undo a good one; without a good one, the first is the problem.
   */
  rejected: string[];
}

export interface SignaturesResult {
  digest: string;
  key: string;
  ok: boolean;
  checks: SignatureCheck[];
  /** Layers read back and checked against their digests (when asked). */
  layers?: { checked: number; bad: Array<{ digest: string; problem: string }> };
  /** Bundles of other keys, left alone. */
  otherKeys: number;
  /** The pipeline stages a good provenance names (what made the commit's data), when it names any. */
  lineage?: LineageStage[];
}

export interface VerifyInput {
  store: Target;
  subject: SignedSubject;
  key: PublicKey;
  /** Reads tar layers that no directory manifest describes, for the OMS check. */
  layers: Fetcher;
  known: KnownLayerFiles;
  /** The commit the ModelKit must come from (default: its org.opencontainers.image.revision annotation). */
  commit?: string;
  /** Read every layer back and check it against its digest (mk verify). */
  checkLayers?: boolean;
}

const COVERS: Record<SignatureKind, string> = {
  signature: 'the ModelKit manifest: its config and every layer, by digest (cosign v3 form)',
  files: 'every file kit unpack writes, by path and sha256 (OpenSSF model signing v1.0)',
  provenance: 'where it came from: the Git commit, the repository and the builder (SLSA v1 provenance)',
};

/**
 * Checks a ModelKit's signatures against a public key: of each kind (the manifest's signature,
 * the files, the provenance) one referrer that is a Sigstore bundle signed by this key must hold.
 * Every candidate is checked; one that does not hold (a changed bundle, a statement about another
 * manifest, other files or another commit, a referrer that cannot be read) is listed in
 * `rejected` and does not undo a good one: anyone with push access to the registry can attach
 * referrers. Bundles of other keys are left alone. Which referrers are bundles is decided from
 * their own manifests, never from an index's labels. Everything read is hostile: sizes are
 * bounded and every digest is checked.
 */
export async function verifyModelKitSignatures(input: VerifyInput): Promise<SignaturesResult> {
  const { subject, key } = input;
  const desc = subject.desc;
  const commit = input.commit ?? subject.manifest.annotations?.['org.opencontainers.image.revision'];
  const checks = new Map<SignatureKind, SignatureCheck>(SIGNATURE_KINDS.map((k) => [k.kind, { kind: k.kind, ok: false, covers: COVERS[k.kind], good: [], rejected: [] }]));
  const reject = (kind: SignatureKind, problem: string) => checks.get(kind)!.rejected.push(problem);
  let otherKeys = 0;
  let lineage: SignaturesResult['lineage'];
  let expectedFiles: Map<string, string> | undefined;
  let expectedRoot: string | undefined;
  const filesOf = async () => {
    if (!expectedFiles) {
      const { files } = await modelKitFiles(subject.manifest, subject.config, subject.kitfile, input.layers, input.known);
      const st = omsStatement('', files);
      expectedRoot = st.subject[0]!.digest.sha256;
      expectedFiles = new Map((st.predicate.resources as Array<{ name: string; digest: string }>).map((r) => [r.name, r.digest]));
    }
    return { files: expectedFiles, root: expectedRoot! };
  };
  for (const r of await bundleReferrers(input.store, desc)) {
    const where = `referrer ${r.desc.digest.slice(7, 19)}`;
    const claimed = SIGNATURE_KINDS.find((k) => k.predicateType === r.annotations[PREDICATE_ANNOTATION])?.kind;
    let bundle: Buffer;
    try {
      if (r.problem) throw new MkError('ESIGNATURE', r.problem);
      bundle = await readBundle(input.store, r);
    } catch (e) {
      reject(claimed ?? 'signature', `${where}: ${(e as Error).message}`);
      continue;
    }
    const opened = await openBundle(bundle, key);
    if (!opened.ok) {
      if (opened.otherKey) otherKeys++;
      else reject(claimed ?? 'signature', `${where}: ${opened.problem}`);
      continue;
    }
    const st = opened.statement;
    const kind = SIGNATURE_KINDS.find((k) => k.predicateType === st.predicateType)?.kind;
    if (!kind) continue; // another statement (an SBOM...): not one of mk's three
    const problem = kind === 'signature' ? checkManifestStatement(st, desc) : kind === 'provenance' ? checkProvenance(st, desc, subject, commit) : await checkFiles(st, await filesOf());
    if (problem) reject(kind, `${where}: ${problem}`);
    else {
      checks.get(kind)!.good.push(r.desc.digest);
      if (kind === 'provenance' && !lineage) {
        const st2 = provenanceStages(st);
        if (st2.length) lineage = st2;
      }
    }
  }
  for (const c of checks.values()) {
    c.ok = c.good.length > 0;
    if (!c.ok) c.problem = c.rejected[0] ?? (otherKeys ? 'signed with another key only' : 'not signed');
  }
  let layers: SignaturesResult['layers'];
  if (input.checkLayers) {
    layers = { checked: 0, bad: [] };
    for (const d of [subject.manifest.config as Descriptor, ...(subject.manifest.layers as Descriptor[])]) {
      layers.checked++;
      try {
        for await (const _ of verifying(await input.store.fetch(d), d, `blob ${d.digest}`)) void _;
      } catch (e) {
        layers.bad.push({ digest: d.digest, problem: (e as Error).message });
      }
    }
  }
  const list = [...checks.values()];
  return { digest: desc.digest, key: key.path, ok: list.every((c) => c.ok) && !layers?.bad.length, checks: list, layers, otherKeys, ...(lineage ? { lineage } : {}) };
}

function subjectDigests(st: InTotoStatement): string[] {
  return st.subject.map((s) => s?.digest?.sha256).filter((d): d is string => typeof d === 'string');
}

function checkManifestStatement(st: InTotoStatement, desc: Descriptor): string | undefined {
  const ds = subjectDigests(st);
  if (!ds.includes(desc.digest.slice(7))) return `it signs ${ds.map((d) => `sha256:${d.slice(0, 12)}`).join(', ') || 'nothing'}, not this manifest (${desc.digest.slice(0, 19)})`;
  return undefined;
}

function checkProvenance(st: InTotoStatement, desc: Descriptor, subject: SignedSubject, commit: string | undefined): string | undefined {
  const ds = new Set(subjectDigests(st));
  if (!ds.has(desc.digest.slice(7))) return `the provenance is about another manifest, not ${desc.digest.slice(0, 19)}`;
  const missing = (subject.manifest.layers as Descriptor[]).filter((l) => !ds.has(l.digest.slice(7)));
  if (missing.length) return `the provenance does not name layer ${missing[0]!.digest.slice(0, 19)}`;
  const c = provenanceCommit(st);
  if (!c) return 'the provenance names no Git commit';
  if (!commit) return 'the ModelKit names no commit to compare the provenance with';
  if (c !== commit) return `the provenance is for commit ${c.slice(0, 12)}, not ${commit.slice(0, 12)}`;
  return undefined;
}

async function checkFiles(st: InTotoStatement, expected: { files: Map<string, string>; root: string }): Promise<string | undefined> {
  const resources = (st.predicate as { resources?: unknown }).resources;
  if (!Array.isArray(resources)) return 'the model signature lists no files';
  const got = new Map<string, string>();
  for (const r of resources as Array<{ name?: unknown; digest?: unknown; algorithm?: unknown }>) {
    if (typeof r?.name !== 'string' || typeof r.digest !== 'string' || r.algorithm !== 'sha256') return 'the model signature lists a file without a sha256 digest';
    got.set(r.name, r.digest);
  }
  for (const [path, d] of expected.files) {
    const g = got.get(path);
    if (g === undefined) return `the model signature does not list ${path}`;
    if (g !== d) return `${path} differs from the signed file (sha256 ${d.slice(0, 12)}, signed ${g.slice(0, 12)})`;
  }
  for (const path of got.keys()) if (!expected.files.has(path)) return `the model signature lists ${path}, which the ModelKit does not hold`;
  if (st.subject[0]?.digest?.sha256 !== expected.root) return "the model signature's root digest does not match its files";
  return undefined;
}
