import { mergedFlat, mergedNested, readValues } from './collect.js';
import { declaredAt } from './source.js';
import type { FlatValues } from './values.js';

/** Manifest annotations that carry a ModelKit's params and metrics (flat keys, JSON). */
export const PARAMS_ANNOTATION = 'vnd.mk.experiment.params';
export const METRICS_ANNOTATION = 'vnd.mk.experiment.metrics';

/** Each annotation holds at most this much JSON (registries cap the whole manifest at 4 MiB). */
const MAX_ANNOTATION = 256 * 1024;

export interface CommitExperiment {
  /** The params files merged, nested as written: the Kitfile's `model.parameters`. */
  params: Record<string, unknown>;
  /** Flat annotation values (sorted keys, JSON text); absent when the commit declares none. */
  annotations: Record<string, string>;
}

function sortedJson(v: FlatValues): string {
  const o: FlatValues = {};
  for (const k of Object.keys(v).sort()) o[k] = v[k]!;
  return JSON.stringify(o);
}

/**
 * What a commit's ModelKit carries about its experiment, from the commit alone: the files
 * its own `.mk/config.yaml` declares, read from its tree (a file missing or unreadable at the
 * commit is left out). Same commit, same result.
 */
export async function commitExperiment(gitDir: string, commit: string): Promise<CommitExperiment> {
  const src = { kind: 'commit' as const, gitDir, commit };
  const keys = await declaredAt(src);
  const annotations: Record<string, string> = {};
  let params: Record<string, unknown> = {};
  if (keys.params.length) {
    const files = await readValues(src, keys.params);
    params = mergedNested(files);
    if (files.some((f) => f.status === 'ok')) annotations[PARAMS_ANNOTATION] = sortedJson(mergedFlat(files));
  }
  if (keys.metrics.length) {
    const files = await readValues(src, keys.metrics);
    if (files.some((f) => f.status === 'ok')) annotations[METRICS_ANNOTATION] = sortedJson(mergedFlat(files));
  }
  for (const [k, v] of Object.entries(annotations)) if (v.length > MAX_ANNOTATION) delete annotations[k];
  return { params, annotations };
}

/** Flat values from an annotation written by `commitExperiment` (anything else: empty). */
export function valuesFromAnnotation(text: string | undefined): FlatValues {
  if (!text || text.length > MAX_ANNOTATION * 4) return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    const out: FlatValues = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === null || typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
    }
    return out;
  } catch {
    return {};
  }
}
