import { lstatSync, readFileSync } from 'node:fs';
import { blobId } from './blob-id.js';
import { abs } from '../repo/paths.js';
import { git } from './run.js';

/**
 * Changes the index in one step (one `git update-index`, under one index.lock): the entries
 * at or under `remove` leave it and the work-tree files `add` enter it. A process killed
 * before that step leaves the index as it was, never with data unstaged and its pointer not
 * yet staged. Follows GIT_INDEX_FILE (a hook's temporary index) like any git command.
 */
export async function updateIndex(root: string, remove: string[], add: string[]): Promise<void> {
  if (remove.length === 0 && add.length === 0) return;
  const lines: string[] = [];
  const adding = new Set(add);
  if (remove.length) {
    const inIndex = (await git(root, ['--literal-pathspecs', 'ls-files', '-z', '--cached', '--', ...remove])).split('\0').filter(Boolean);
    for (const p of new Set(inIndex)) if (!adding.has(p)) lines.push(`0 ${'0'.repeat(40)}\t${p}`);
  }
  if (add.length) {
    const oids = (await git(root, ['hash-object', '-w', '--no-filters', '--stdin-paths'], { input: add.join('\n') + '\n' })).split('\n').filter(Boolean);
    add.forEach((p, i) => {
      const exec = (lstatSync(abs(root, p)).mode & 0o111) !== 0;
      lines.push(`${exec ? '100755' : '100644'} ${oids[i]}\t${p}`);
    });
  }
  if (lines.length) await git(root, ['update-index', '-z', '--index-info'], { input: lines.join('\0') + '\0' });
}

/**
 * Files' contents as the index holds them (what the next commit records); a path not in the
 * index is absent from the map. Two git calls, however many paths.
 */
export async function indexTexts(root: string, paths: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (paths.length === 0) return out;
  const want = new Set(paths);
  const oids = new Map<string, string>();
  for (const l of (await git(root, ['--literal-pathspecs', 'ls-files', '-s', '-z', '--', ...want])).split('\0')) {
    const tab = l.indexOf('\t');
    if (tab < 0) continue;
    const [, oid, stage] = l.slice(0, tab).split(' ');
    const path = l.slice(tab + 1);
    if (stage === '0' && want.has(path)) oids.set(path, oid!);
  }
  if (oids.size === 0) return out;
  // A work-tree file whose blob id is the index's holds the index's text: read it there (a
  // regular file only, never through a symlink) and ask git only for the others.
  for (const [path, oid] of oids) {
    const p = abs(root, path);
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st?.isFile() || st.size > 1 << 20) continue;
    const bytes = readFileSync(p);
    if (blobId(bytes, oid.length) === oid) {
      out.set(path, bytes.toString('utf8'));
      oids.delete(path);
    }
  }
  if (oids.size === 0) return out;
  const list = [...oids];
  const batch = await git(root, ['cat-file', '--batch'], { input: list.map(([, oid]) => oid).join('\n') + '\n' });
  // "<oid> blob <size>\n<content>\n" per object, in order.
  let at = 0;
  const buf = Buffer.from(batch, 'utf8');
  for (const [path] of list) {
    const nl = buf.indexOf(10, at);
    const size = Number(buf.subarray(at, nl).toString('utf8').split(' ')[2]);
    out.set(path, buf.subarray(nl + 1, nl + 1 + size).toString('utf8'));
    at = nl + 1 + size + 1;
  }
  return out;
}

/**
 * Stages pointer texts for files that go through mk's Git filter, without reading the work
 * tree (`hash-object --no-filters`: the text itself is the blob). One `update-index` step.
 */
export async function stagePointerTexts(root: string, entries: Array<{ path: string; text: string; exec?: boolean }>): Promise<Map<string, string>> {
  const oids = new Map<string, string>();
  if (!entries.length) return oids;
  const lines: string[] = [];
  for (const e of entries) {
    const oid = (await git(root, ['hash-object', '-w', '--no-filters', '--stdin'], { input: e.text })).trim();
    oids.set(e.path, oid);
    lines.push(`${e.exec ? '100755' : '100644'} ${oid}\t${e.path}`);
  }
  await git(root, ['update-index', '-z', '--index-info'], { input: lines.join('\0') + '\0' });
  return oids;
}

/** Lets git re-read the stat data of changed work-tree files (filtered files are cleaned again: mk's stat cache spares the hash). */
export async function refreshIndex(root: string): Promise<void> {
  await git(root, ['update-index', '-q', '--refresh'], { okCodes: [1] });
}
