import { isMap, isSeq, parseDocument, YAMLMap, YAMLSeq } from 'yaml';
import type { Kind } from './pointer.js';
import { cleanPath, kitEntries, parseKitfile } from './kitfile.js';

export interface SyncArtifact {
  path: string;
  kind: Kind;
  description?: string;
}

/** The Kitfile mk writes at `mk init` when the project has none. */
export function defaultKitfile(projectName: string): string {
  const name =
    projectName
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '') || 'project';
  return [
    '# KitOps Kitfile: what goes into the ModelKit mk publishes for each commit.',
    '# mk adds an entry for each artifact you track; edit freely, mk keeps what you write.',
    'manifestVersion: 1.0.0',
    'package:',
    `  name: ${name}`,
    'code:',
    '  - path: .',
    "    description: the project's source at this commit",
    '',
  ].join('\n');
}

function sectionFor(kind: Kind): 'model' | 'datasets' | 'code' | 'docs' {
  return kind === 'model' ? 'model' : kind === 'dataset' ? 'datasets' : kind;
}

/**
 * Adds a Kitfile entry for each tracked artifact that no entry names yet (by path), and
 * removes the entries of artifacts that are no longer tracked (only entries whose path is
 * in `untracked`). Comments, order and everything else the user wrote are kept.
 * Returns the new text, or undefined when nothing changed.
 */
export function syncKitfile(text: string, artifacts: SyncArtifact[], untracked: string[] = [], file = 'Kitfile'): string | undefined {
  const kf = parseKitfile(text, file);
  const used = new Set(kitEntries(kf).map((e) => cleanPath(e.entry.path)));
  const doc = parseDocument(text);
  let changed = false;
  for (const a of artifacts) {
    if (used.has(a.path)) continue;
    const name = a.path.split('/').pop()!;
    const entry: Record<string, string> = {};
    const section = sectionFor(a.kind);
    if (section !== 'code' && section !== 'docs') entry.name = name;
    entry.path = a.path;
    if (a.description) entry.description = a.description;
    if (section === 'model') {
      if (!doc.has('model')) doc.set('model', doc.createNode(entry));
      else {
        const model = doc.get('model') as YAMLMap;
        if (!model.has('parts')) model.set('parts', doc.createNode([]));
        (model.get('parts') as YAMLSeq).add(doc.createNode({ name, path: a.path }));
      }
    } else {
      if (!doc.has(section)) doc.set(section, doc.createNode([]));
      const seq = doc.get(section);
      if (!isSeq(seq)) continue;
      seq.add(doc.createNode(entry));
    }
    used.add(a.path);
    changed = true;
  }
  const gone = new Set(untracked);
  if (gone.size) {
    for (const section of ['datasets', 'code', 'docs']) {
      const seq = doc.get(section);
      if (!isSeq(seq)) continue;
      const keep = seq.items.filter((it) => !(isMap(it) && gone.has(cleanPath(String(it.get('path'))))));
      if (keep.length !== seq.items.length) {
        seq.items = keep;
        changed = true;
      }
    }
    const model = doc.get('model');
    if (isMap(model)) {
      const parts = model.get('parts');
      if (isSeq(parts)) {
        const keep = parts.items.filter((it) => !(isMap(it) && gone.has(cleanPath(String(it.get('path'))))));
        if (keep.length !== parts.items.length) {
          parts.items = keep;
          changed = true;
        }
      }
      if (model.has('path') && gone.has(cleanPath(String(model.get('path'))))) {
        const partsNow = model.get('parts');
        if (isSeq(partsNow) && partsNow.items.length > 0 && isMap(partsNow.items[0])) {
          // The first part becomes the model.
          const first = partsNow.items.shift() as YAMLMap;
          model.set('name', first.get('name') ?? model.get('name'));
          model.set('path', first.get('path'));
          if (partsNow.items.length === 0) model.delete('parts');
        } else doc.delete('model');
        changed = true;
      }
    }
  }
  if (!changed) return undefined;
  const out = doc.toString();
  parseKitfile(out, file); // still valid
  return out;
}

/**
 * Renames the path of the Kitfile entries that name `from` (model, model parts, datasets,
 * code, docs) to `to`; an entry name that was the old file name follows. Comments, order and
 * every other field are kept. Returns the new text, or undefined when no entry names `from`.
 */
export function renameKitfilePath(text: string, from: string, to: string, file = 'Kitfile'): string | undefined {
  parseKitfile(text, file);
  const doc = parseDocument(text);
  let changed = false;
  const oldName = from.split('/').pop()!;
  const newName = to.split('/').pop()!;
  const visit = (it: unknown) => {
    if (!isMap(it) || cleanPath(String(it.get('path'))) !== from) return;
    it.set('path', to);
    if (it.get('name') === oldName) it.set('name', newName);
    changed = true;
  };
  const model = doc.get('model');
  if (isMap(model)) {
    visit(model);
    const parts = model.get('parts');
    if (isSeq(parts)) parts.items.forEach(visit);
  }
  for (const section of ['datasets', 'code', 'docs']) {
    const seq = doc.get(section);
    if (isSeq(seq)) seq.items.forEach(visit);
  }
  if (!changed) return undefined;
  const out = doc.toString();
  parseKitfile(out, file); // still valid
  return out;
}
