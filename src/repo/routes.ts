import { ConfigError, MkError } from '../errors/index.js';

/** What routing reads of a remote's settings (config.ts's RemoteConfig). */
interface RoutedRemote {
  name: string;
  url: string;
  paths?: string[];
}

/** What routing reads of a configuration (config.ts's MkConfig). */
interface Routing<R extends RoutedRemote> {
  remotes: R[];
  defaultRemote?: string;
}

/**
 * Remotes by path: a remote with `paths:` receives the tracked artifacts those patterns match
 * (its own registry repository, so its permissions, audit and retention apply to that data
 * alone); every other artifact goes to the default remote.
 *
 * A pattern is a path from the repository root, `/`-separated; `*` matches any characters of
 * one segment but `/`, `?` one such character, and a whole `**` segment any number of
 * segments. A pattern names what it matches and everything inside it: `data/clinical`,
 * `data/clinical/` and `data/clinical/**` all send the folder `data/clinical` (and any artifact
 * under it) to that remote. Other glob syntax (`[...]`, `{...}`, `!`, `\`) is refused, so that
 * two remotes' patterns can be checked exactly for overlap.
 */

const REFUSED = /[[\]{}!\\]/;

/** A pattern as written in the config, checked and normalised (no leading `./` or `/`, no trailing `/`). */
export function parseRoutePattern(v: unknown, file: string, key: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(file, `${key}: expected a path pattern such as data/clinical/**, got ${JSON.stringify(v)}`);
  const p = v.trim().replace(/^\.\//, '').replace(/^\/+/, '').replace(/\/+$/, '');
  if (REFUSED.test(p)) throw new ConfigError(file, `${key}: '${v}' uses glob syntax mk does not route by ([...], {...}, !, \\): use *, ? and **`);
  const segs = p.split('/');
  if (p === '' || segs.some((s) => s === '' || s === '.' || s === '..')) throw new ConfigError(file, `${key}: '${v}' must be a path inside the repository (no '..', no empty parts)`);
  if (segs[0] === '.git' || segs[0] === '**') {
    if (segs[0] === '.git') throw new ConfigError(file, `${key}: '${v}' names .git, which holds no tracked data`);
    if (segs.every((s) => s === '**')) throw new ConfigError(file, `${key}: '${v}' matches every path: that is the default remote's job (set default_remote instead)`);
  }
  return p;
}

/** The segments a pattern matches: itself and everything inside it. */
function effective(pattern: string): string[] {
  const segs = pattern.split('/');
  return segs[segs.length - 1] === '**' ? segs : [...segs, '**'];
}

/** Whether one segment glob (`*`, `?`, literals) matches a literal segment. */
function segmentMatches(glob: string, seg: string): boolean {
  const memo = new Map<number, boolean>();
  const at = (i: number, j: number): boolean => {
    const k = i * (seg.length + 1) + j;
    const known = memo.get(k);
    if (known !== undefined) return known;
    let r: boolean;
    if (i === glob.length) r = j === seg.length;
    else if (glob[i] === '*') r = at(i + 1, j) || (j < seg.length && at(i, j + 1));
    else r = j < seg.length && (glob[i] === '?' || glob[i] === seg[j]) && at(i + 1, j + 1);
    memo.set(k, r);
    return r;
  };
  return at(0, 0);
}

/**
 * Whether some sequence matches both patterns `a` and `b`, where `star` marks an element that
 * stands for any run of elements and `meet` says whether two other elements can match one.
 */
function patternsIntersect<T>(a: ArrayLike<T>, b: ArrayLike<T>, star: T, meet: (x: T, y: T) => boolean): boolean {
  const memo = new Map<number, boolean>();
  const at = (i: number, j: number): boolean => {
    const k = i * (b.length + 1) + j;
    const known = memo.get(k);
    if (known !== undefined) return known;
    let r: boolean;
    if (i === a.length && j === b.length) r = true;
    else if (i < a.length && a[i] === star) r = at(i + 1, j) || (j < b.length && at(i, j + 1));
    else if (j < b.length && b[j] === star) r = at(i, j + 1) || (i < a.length && at(i + 1, j));
    else if (i === a.length || j === b.length) r = false;
    else r = meet(a[i]!, b[j]!) && at(i + 1, j + 1);
    memo.set(k, r);
    return r;
  };
  return at(0, 0);
}

/** Whether some segment matches both segment globs. */
function segmentsIntersect(a: string, b: string): boolean {
  return patternsIntersect(a, b, '*', (x, y) => x === '?' || y === '?' || x === y);
}

/** Whether some path matches both segment lists (each segment a glob, or `**`). */
function pathsIntersect(a: string[], b: string[]): boolean {
  return patternsIntersect(a, b, '**', segmentsIntersect);
}

/** Whether a path matches a segment list. */
function pathMatches(globs: string[], segs: string[]): boolean {
  const memo = new Map<number, boolean>();
  const at = (i: number, j: number): boolean => {
    const k = i * (segs.length + 1) + j;
    const known = memo.get(k);
    if (known !== undefined) return known;
    let r: boolean;
    if (i === globs.length) r = j === segs.length;
    else if (globs[i] === '**') r = at(i + 1, j) || (j < segs.length && at(i, j + 1));
    else r = j < segs.length && segmentMatches(globs[i]!, segs[j]!) && at(i + 1, j + 1);
    memo.set(k, r);
    return r;
  };
  return at(0, 0);
}

/** Whether `pattern` routes `path` (the path itself, or a folder holding it, matches). */
export function routeMatches(pattern: string, path: string): boolean {
  return pathMatches(effective(pattern), path.split('/'));
}

/** Whether some path is routed by both patterns. */
export function patternsOverlap(a: string, b: string): boolean {
  return pathsIntersect(effective(a), effective(b));
}

/** Whether `pattern` routes some path strictly inside folder `dir` (a literal path). */
function routesInside(pattern: string, dir: string): boolean {
  // (A `*` or `?` in the folder's own name reads as a glob here: at worst a folder is refused that could have been routed whole.)
  return pathsIntersect(effective(pattern), [...dir.split('/'), '*', '**']);
}

/** The remotes that have `paths:`, in config order. */
export function routedRemotes<R extends RoutedRemote>(config: Routing<R>): R[] {
  return config.remotes.filter((r) => r.paths?.length);
}

/**
 * Checks the routes of a configuration (after team and local files are merged): patterns of
 * two remotes never route the same path, the default remote has none (it takes every path no
 * route claims), and a routed remote is a registry (its permissions are what keep the data
 * apart). One line each.
 */
export function checkRoutes(config: Routing<RoutedRemote>, file: string): void {
  const routed = routedRemotes(config);
  if (!routed.length) return;
  for (const r of routed) {
    if (!r.url.startsWith('oci://'))
      throw new ConfigError(
        file,
        `remotes.${r.name}.paths: a remote with paths must be a registry repository (oci://host/repository), whose permissions keep that data apart; '${r.name}' is a local layout`,
      );
    if (config.defaultRemote === r.name)
      throw new ConfigError(
        file,
        `remotes.${r.name}.paths: '${r.name}' is the default remote, which takes every path no other remote claims: give the paths to another remote, or make another one the default`,
      );
  }
  if (!config.defaultRemote && config.remotes.filter((r) => !r.paths?.length).length !== 1)
    throw new ConfigError(file, `remotes: with paths routed to ${routed.map((r) => `'${r.name}'`).join(', ')}, name the remote that takes every other path with default_remote`);
  for (let i = 0; i < routed.length; i++)
    for (let j = i + 1; j < routed.length; j++)
      for (const a of routed[i]!.paths!)
        for (const b of routed[j]!.paths!)
          if (patternsOverlap(a, b))
            throw new ConfigError(file, `remotes: '${a}' (remote '${routed[i]!.name}') and '${b}' (remote '${routed[j]!.name}') route the same paths; a path goes to one remote: narrow one of them`);
}

/** The routed remote for an artifact path, or undefined (the default remote). */
export function routeOfPath<R extends RoutedRemote>(config: Routing<R>, path: string): R | undefined {
  for (const r of routedRemotes(config)) if (r.paths!.some((p) => routeMatches(p, path))) return r;
  return undefined;
}

/**
 * The routed remote of a tracked artifact, or undefined (the default remote). A folder artifact
 * part of which a route claims (its pattern names something inside it, not the folder) is
 * refused: one artifact goes to one remote, and splitting it would send routed files elsewhere.
 */
export function routeOf<R extends RoutedRemote>(config: Routing<R>, t: { path: string; pointer: { type: 'file' | 'dir' } }): R | undefined {
  const r = routeOfPath(config, t.path);
  if (r || t.pointer.type !== 'dir') return r;
  for (const x of routedRemotes(config)) {
    const p = x.paths!.find((q) => routesInside(q, t.path));
    if (p)
      throw new MkError('EROUTE', `${t.path} is tracked as one folder, but '${p}' routes part of it to remote '${x.name}'`, {
        hint: `track the routed part as a folder of its own ('mk rm ${t.path}', then 'mk add' its parts), or route all of ${t.path}`,
        data: { path: t.path, remote: x.name, pattern: p },
      });
  }
  return undefined;
}
