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
