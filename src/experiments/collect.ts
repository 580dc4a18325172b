import { flatten, mergeNested, parseValuesFile, type FlatValues } from './values.js';
import { readSourceFile, type Source } from './source.js';

/** One declared params or metrics file at one source. */
export interface FileValues {
  path: string;
  /** `missing`: not at this revision; `invalid`: there, but not a mapping of values (see `problem`). */
  status: 'ok' | 'missing' | 'invalid';
  values: FlatValues;
  nested: Record<string, unknown>;
  problem?: string;
}

/** Reads each file at the source; a missing or unreadable file is reported, not thrown. */
export async function readValues(src: Source, paths: string[]): Promise<FileValues[]> {
  const out: FileValues[] = [];
  for (const path of paths) {
    try {
      const bytes = await readSourceFile(src, path);
      if (!bytes) {
        out.push({ path, status: 'missing', values: {}, nested: {} });
        continue;
      }
      const nested = parseValuesFile(bytes, path);
      out.push({ path, status: 'ok', values: flatten(nested), nested });
    } catch (e) {
      out.push({ path, status: 'invalid', values: {}, nested: {}, problem: (e as Error).message });
    }
  }
  return out;
}

/** All files' values merged (later files win), nested: what a ModelKit's `model.parameters` holds. */
export function mergedNested(files: FileValues[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of files) if (f.status === 'ok') mergeNested(out, JSON.parse(JSON.stringify(f.nested)) as Record<string, unknown>);
  return out;
}

/** All files' values merged, flat: `train.lr` -> 0.01. */
export function mergedFlat(files: FileValues[]): FlatValues {
  return flatten(mergedNested(files));
}
