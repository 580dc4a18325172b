/**
 * gitignore-style patterns for `track:` in .mk/config.yaml: a pattern without a slash
 * matches the file name at any depth (`*.safetensors`); with a slash it matches the path
 * from the repository root (`data/raw/**`). `*` and `?` stay within one path segment,
 * `**` spans segments, `[...]` is a character class.
 */
export function globToRegExp(pattern: string): RegExp {
  let p = pattern.trim();
  const anchored = p.includes('/') && !p.endsWith('/') ? true : p.slice(0, -1).includes('/');
  if (p.startsWith('/')) p = p.slice(1);
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.slice(0, -1);
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        const slash = p[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + p.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  const body = dirOnly ? `${re}/.*` : `${re}(?:/.*)?`;
  return new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`);
}

export function matcher(patterns: string[]): (path: string) => boolean {
  const res = patterns.filter((p) => p.trim() && !p.trim().startsWith('#')).map(globToRegExp);
  return (path) => res.some((r) => r.test(path));
}

/** For patterns that end in '/', the directory (an ancestor of `path`) that one of them names, if any. */
export function dirMatcher(patterns: string[]): (path: string) => string | undefined {
  const dirs = patterns.map((p) => p.trim()).filter((p) => p.endsWith('/') && !p.startsWith('#')).map((p) => globToRegExp(p.slice(0, -1)));
  return (path) => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (dirs.some((r) => r.test(d))) return d;
    }
    return undefined;
  };
}
