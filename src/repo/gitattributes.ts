import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnsafePathError } from '../errors/index.js';
import { matcher } from '../util/glob.js';
import { writeFileAtomic } from '../util/fs.js';

/**
 * The root `.gitattributes` block that sends files through mk's Git filter. mk owns the
 * lines between the two markers: one per `track:` file pattern (folder patterns, with a
 * trailing slash, stay folder artifacts with pointer files) and one per file tracked by its
 * exact path (`mk add <file>`, the size threshold, `mk migrate`). Lines outside the block
 * are the user's and are kept as they are.
 */
export const ATTRIBUTES_FILE = '.gitattributes';
export const FILTER_ATTRS = 'filter=mk diff=mk merge=mk -text';
const BEGIN = '# mk: files kept by mk through its Git filter (see mk README "Git integration")';
const END = '# mk: end';

/** The `track:` patterns that name files (not folders). */
export function filePatterns(track: string[]): string[] {
  return track.map((p) => p.trim()).filter((p) => p && !p.startsWith('#') && !p.startsWith('!') && !p.endsWith('/') && !/\s/.test(p));
}

/**
 * The `track:` patterns that cannot become a .gitattributes line, each with the one line that
 * says why and what to write instead. They are left out of mk's block, so the user is told.
 */
export function unwritablePatterns(track: string[]): string[] {
  const out: string[] = [];
  for (const raw of track) {
    const p = raw.trim();
    if (!p || p.startsWith('#') || p.endsWith('/')) continue;
    if (p.startsWith('!'))
      out.push(
        `track: pattern '${p}' cannot be written into .gitattributes, which has no negative patterns: files it would exclude still go through mk's Git filter when another pattern names them; name what to track instead`,
      );
    else if (/\s/.test(p))
      out.push(
        `track: pattern '${p}' holds white space, which a .gitattributes pattern cannot: the files it names are not kept through mk's Git filter; write '?' for each space ('${p.replace(/\s/g, '?')}')`,
      );
  }
  return out;
}

/** The text of the root .gitattributes (undefined when there is none or it is not a regular file). */
export function readAttributes(root: string): string | undefined {
  const file = join(root, ATTRIBUTES_FILE);
  try {
    if (!lstatSync(file).isFile()) return undefined;
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** True when the repository keeps files through mk's filter (its .gitattributes has mk's block). */
export function usesFilter(text: string | undefined): boolean {
  return !!text && text.split(/\r?\n/).includes(BEGIN);
}

/** A .gitattributes pattern that matches exactly `rel` from the root. */
export function exactPattern(rel: string): string {
  if (/[\n\r]/.test(rel)) throw new UnsafePathError(rel, 'its name has a line break, which a .gitattributes line cannot hold; rename it');
  // Glob characters are escaped; white space, which would end the pattern (Git reads the pattern up
  // to the first blank), becomes '?' (any one character: a few more names, never fewer).
  return '/' + rel.replace(/[\\*?[\]]/g, (c) => '\\' + c).replace(/[\s"]/g, '?');
}

interface Parsed {
  before: string[];
  block: string[];
  after: string[];
}

function parse(text: string): Parsed {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const b = lines.indexOf(BEGIN);
  if (b < 0) return { before: lines, block: [], after: [] };
  let e = lines.indexOf(END, b + 1);
  if (e < 0) e = lines.length;
  return { before: lines.slice(0, b), block: lines.slice(b + 1, e), after: lines.slice(e + 1) };
}

function patternOf(line: string): string | undefined {
  const t = line.trim();
  if (!t || t.startsWith('#')) return undefined;
  return t.split(/\s+/)[0];
}

/**
 * Rewrites mk's block: the file patterns of `track`, the exact paths already in the block
 * (minus `drop`) and `addPaths`. Returns true if the file changed.
 */
export async function syncAttributes(root: string, track: string[], opts: { addPaths?: string[]; dropPaths?: string[] } = {}): Promise<boolean> {
  const text = readAttributes(root) ?? '';
  const { before, block, after } = parse(text);
  const drop = new Set((opts.dropPaths ?? []).map(exactPattern));
  const exact = block
    .map(patternOf)
    .filter((p): p is string => !!p && p.startsWith('/') && !drop.has(p))
    .concat((opts.addPaths ?? []).map(exactPattern));
  const patterns = [...new Set([...filePatterns(track), ...exact])];
  const out = [...before, BEGIN, ...patterns.map((p) => `${p} ${FILTER_ATTRS}`), END, ...after];
  const next = out.join('\n') + '\n';
  if (next === text) return false;
  await writeFileAtomic(join(root, ATTRIBUTES_FILE), next);
  return true;
}

/** Removes mk's block (the repository goes back to pointer files). Returns true if it changed. */
export async function removeAttributesBlock(root: string): Promise<boolean> {
  const text = readAttributes(root);
  if (!usesFilter(text)) return false;
  const { before, after } = parse(text!);
  await writeFileAtomic(join(root, ATTRIBUTES_FILE), [...before, ...after].join('\n') + (before.length + after.length ? '\n' : ''));
  return true;
}

/**
 * Whether a .gitattributes text gives `path` the attribute `filter=mk` (the last matching line
 * that sets `filter` in any way wins, as in git). Only the root file is read: mk's lines live
 * there, and a `filter` set in a nested .gitattributes is not seen (README "Git integration").
 */
export function filterMatcher(text: string | undefined): (path: string) => boolean {
  if (!text) return () => false;
  const rules: Array<{ test: (p: string) => boolean; mk: boolean }> = [];
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [pattern, ...attrs] = t.split(/\s+/);
    if (!pattern || pattern.startsWith('!')) continue;
    const f = attrs.filter((a) => a === 'filter' || a === '-filter' || a === '!filter' || a.startsWith('filter=')).pop();
    if (!f) continue;
    // gitattributes patterns follow .gitignore rules for files (no negation, no folders).
    const m = matcher([pattern]);
    rules.push({ test: (p) => m(p), mk: f === 'filter=mk' });
  }
  if (!rules.length) return () => false;
  return (path) => {
    for (let i = rules.length - 1; i >= 0; i--) if (rules[i]!.test(path)) return rules[i]!.mk;
    return false;
  };
}

/** The matcher of the root .gitattributes of the work tree. */
export function workspaceFilterMatcher(root: string): (path: string) => boolean {
  return filterMatcher(readAttributes(root));
}

/** A .gitattributes line cut into its leading blanks, its pattern (quotes kept) and the rest. */
function splitAttributesLine(line: string): { lead: string; pattern: string; rest: string } | undefined {
  const lead = /^\s*/.exec(line)![0];
  if (line[lead.length] === '#' || lead.length === line.length) return undefined;
  let end: number;
  if (line[lead.length] === '"') {
    end = lead.length + 1;
    while (end < line.length && line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
    end++;
  } else {
    end = line.slice(lead.length).search(/\s/);
    end = end < 0 ? line.length : lead.length + end;
  }
  return { lead, pattern: line.slice(lead.length, end), rest: line.slice(end) };
}

const LFS_ATTR = /(^|\s)(filter|diff|merge)=lfs(?=\s|$)/g;
const HAS_LFS_ATTR = /(^|\s)(filter|diff|merge)=lfs(?=\s|$)/;

/**
 * A .gitattributes text with Git LFS's attributes (`filter=lfs`, `diff=lfs`, `merge=lfs`) given
 * to mk instead, everything else byte for byte; undefined when the text names no LFS attribute.
 * Only attributes are touched, never a pattern.
 */
export function lfsAttributesToMk(text: string): string | undefined {
  let changed = false;
  const out = text.split('\n').map((line) => {
    const l = splitAttributesLine(line);
    if (!l) return line;
    const attrs = l.rest.replace(LFS_ATTR, (_m, sp: string, key: string) => `${sp}${key}=mk`);
    if (attrs === l.rest) return line;
    changed = true;
    return l.lead + l.pattern + attrs;
  });
  return changed ? out.join('\n') : undefined;
}

/** A pattern of the .gitattributes in folder `dir`, as a pattern of the root file that matches the same paths. */
function rootPattern(pattern: string, dir: string): string {
  const quoted = pattern.startsWith('"') && pattern.endsWith('"') && pattern.length > 1;
  const p = quoted ? pattern.slice(1, -1) : pattern;
  // A slash at the start or in the middle ties the pattern to the file's folder; else it matches at any depth below it.
  const tied = p.replace(/\/+$/, '').includes('/');
  const out = `${exactPattern(dir)}/${tied ? p.replace(/^\//, '') : `**/${p}`}`;
  return quoted ? `"${out}"` : out;
}

const MOVED_NOTE = '# Git LFS lines of folders below, moved here by mk migrate --from-lfs (mk reads the root .gitattributes only)';
const LEFT_NOTE = '# Git LFS lines moved to the root .gitattributes by mk migrate --from-lfs';

/**
 * The .gitattributes files of a tree (path -> text) as `mk migrate --from-lfs` leaves them:
 * LFS's attributes name mk instead, and because mk reads only the root file, a line of a nested
 * file that sets them moves to the root, its pattern rewritten to match the same paths from
 * there (other attributes of the line stay where they were too). Returns the files that change
 * (the root one may be new).
 */
export function attributesFromLfs(files: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  const moved: string[] = [];
  for (const [path, text] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (path === ATTRIBUTES_FILE) continue;
    const dir = path.slice(0, -ATTRIBUTES_FILE.length - 1);
    let changed = false;
    const lines: string[] = [];
    for (const line of text.split('\n')) {
      const l = splitAttributesLine(line);
      if (!l || !HAS_LFS_ATTR.test(l.rest)) {
        lines.push(line);
        continue;
      }
      changed = true;
      moved.push(`${rootPattern(l.pattern, dir)} ${l.rest.trim().replace(LFS_ATTR, (_m, sp: string, key: string) => `${sp}${key}=mk`)}`);
      const kept = l.rest.replace(LFS_ATTR, '').trim();
      if (kept) lines.push(`${l.lead}${l.pattern} ${kept}`);
    }
    if (!changed) continue;
    if (!lines.includes(LEFT_NOTE)) lines.unshift(LEFT_NOTE);
    out.set(path, lines.join('\n'));
  }
  const rootText = files.get(ATTRIBUTES_FILE);
  let root = rootText === undefined ? undefined : lfsAttributesToMk(rootText);
  const newLines = moved.filter((m) => !(root ?? rootText ?? '').split('\n').includes(m));
  if (newLines.length) {
    const base = root ?? rootText ?? '';
    root = `${base}${base && !base.endsWith('\n') ? '\n' : ''}${MOVED_NOTE}\n${newLines.join('\n')}\n`;
  }
  if (root !== undefined) out.set(ATTRIBUTES_FILE, root);
  return out;
}
