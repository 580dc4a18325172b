import { posix } from 'node:path';
import { yamlLib } from '../util/yaml-lazy.js';
import { readSourceFile, type Source } from './source.js';

/**
 * The params and metrics files the stages of a pipeline (`dvc.yaml` at the root) name, so that
 * `mk exp show` shows them without their being listed in .mk/config.yaml: each stage's
 * `params` (a key names `params.yaml` of the stage's folder; `{file: [keys]}` that file) and
 * `metrics`. Paths with `${...}` in them are left out (they need the pipeline's interpolation);
 * a pipeline that cannot be read names none.
 */
export async function stageFilesAt(src: Source): Promise<{ params: string[]; metrics: string[] }> {
  const out = { params: new Set<string>(), metrics: new Set<string>() };
  const bytes = await readSourceFile(src, 'dvc.yaml', 4 << 20).catch(() => undefined);
  if (!bytes) return { params: [], metrics: [] };
  let doc: unknown;
  try {
    const d = yamlLib().parseDocument(Buffer.from(bytes).toString('utf8'), { prettyErrors: false });
    if (d.errors.length) return { params: [], metrics: [] };
    doc = d.toJSON();
  } catch {
    return { params: [], metrics: [] };
  }
  const stages = (doc as { stages?: unknown })?.stages;
  if (!stages || typeof stages !== 'object') return { params: [], metrics: [] };
  const inRepo = (dir: string, p: string) => {
    if (p.includes('${')) return undefined;
    const n = posix.normalize(posix.join(dir, p));
    return n === '.' || n.startsWith('../') || n.startsWith('/') ? undefined : n;
  };
  for (const raw of Object.values(stages as Record<string, unknown>)) {
    if (!raw || typeof raw !== 'object') continue;
    const s = ((raw as { do?: unknown }).do ?? raw) as { wdir?: unknown; params?: unknown; metrics?: unknown };
    const dir = typeof s.wdir === 'string' && !s.wdir.includes('${') ? s.wdir : '.';
    for (const p of Array.isArray(s.params) ? s.params : []) {
      const files = typeof p === 'string' ? ['params.yaml'] : p && typeof p === 'object' ? Object.keys(p) : [];
      for (const f of files) {
        const r = inRepo(dir, f);
        if (r) out.params.add(r);
      }
    }
    for (const m of Array.isArray(s.metrics) ? s.metrics : []) {
      const files = typeof m === 'string' ? [m] : m && typeof m === 'object' ? Object.keys(m) : [];
      for (const f of files) {
        const r = inRepo(dir, f);
        if (r) out.metrics.add(r);
      }
    }
  }
  return { params: [...out.params].sort(), metrics: [...out.metrics].sort() };
}
