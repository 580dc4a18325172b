import ignore from 'ignore';

/**
 * `track:` patterns in .mk/config.yaml follow .gitignore rules exactly (the `ignore` package,
 * which eslint and others use for that): without a slash a pattern matches a name at any
 * depth (`*.safetensors`); with one, the path from the root (`data/raw/**`); a trailing slash
 * names a folder (`data/raw/`), which then matches everything under it; `!` negates.
 */
export function matcher(patterns: string[]): (path: string) => boolean {
  const ig = ignore().add(patterns);
  return (path) => ig.ignores(path);
}

/** For patterns that end in '/', the folder (an ancestor of `path`) that one of them names, if any: the whole folder is one artifact. */
export function dirMatcher(patterns: string[]): (path: string) => string | undefined {
  const dirs = patterns.map((p) => p.trim()).filter((p) => p.endsWith('/') && !p.startsWith('#'));
  const ig = ignore().add(dirs);
  return (path) => {
    if (dirs.length === 0) return undefined;
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (ig.ignores(d + '/')) return d;
    }
    return undefined;
  };
}
