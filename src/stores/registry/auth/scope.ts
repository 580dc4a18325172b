/**
 * Token scopes (distribution docs/spec/auth/scope.md): `type:name:action[,action]`. The name
 * may itself contain a colon (a registry host with a port), so the type is everything up
 * to the first colon and the actions everything after the last.
 */
export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

export function repositoryScope(repository: string, ...actions: string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

export function parseScope(s: string): Scope | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return {
    type: s.slice(0, first),
    name: s.slice(first + 1, last),
    actions: s
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

/** Merges scopes on the same resource (actions united), in a stable order. */
export function mergeScopes(scopes: Iterable<string>): string[] {
  const byResource = new Map<string, Set<string>>();
  const others = new Set<string>();
  for (const s of scopes) {
    for (const one of s.split(' ').filter(Boolean)) {
      const p = parseScope(one);
      if (!p) {
        others.add(one);
        continue;
      }
      const key = `${p.type}:${p.name}`;
      const set = byResource.get(key) ?? new Set<string>();
      for (const a of p.actions) set.add(a);
      byResource.set(key, set);
    }
  }
  const out = [...byResource].map(([k, acts]) => `${k}:${[...acts].sort().join(',')}`);
  return [...out, ...others].sort();
}
