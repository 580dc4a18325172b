/**
 * Remotes by path (`remotes.<name>.paths`): which artifact goes to which remote, the pattern
 * rules, and the configurations refused in one line (overlapping routes, a routed default, a
 * routed layout, a folder split between two remotes). Pure: no repository, no registry.
 */
import { describe, expect, it } from 'vitest';
import { applyConfig, DEFAULT_CONFIG, type MkConfig } from '../../../src/repo/config.js';
import { patternsOverlap, routeMatches, routeOf, routeOfPath } from '../../../src/repo/routes.js';
import { routedTag } from '../../../src/modelkit/tags.js';
import { isMkError } from '../../../src/errors/index.js';

const config = (raw: Record<string, unknown>): MkConfig => applyConfig(DEFAULT_CONFIG, raw, '.mk/config.yaml');

const refusal = (raw: Record<string, unknown>, base: MkConfig = DEFAULT_CONFIG): string => {
  try {
    applyConfig(base, raw, '.mk/config.yaml');
  } catch (e) {
    expect(isMkError(e, 'ECONFIG')).toBe(true);
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    return m;
  }
  throw new Error('the config was accepted');
};

const team = {
  remotes: {
    origin: 'oci://registry.example.com/team/proj',
    clinical: { url: 'oci://registry.example.com/team/clinical', paths: ['data/clinical/**'] },
    genomics: { url: 'oci://registry.example.com/team/genomics', paths: 'data/genomics' },
  },
  default_remote: 'origin',
};

describe('route patterns', () => {
  it('a pattern routes what it names and everything inside it: a folder, its files, deeper folders', () => {
    for (const p of ['data/clinical', 'data/clinical/', './data/clinical/**', '/data/clinical']) {
      const c = config({ ...team, remotes: { ...team.remotes, clinical: { url: 'oci://registry.example.com/team/clinical', paths: [p] } } });
      expect(routeOfPath(c, 'data/clinical')?.name, p).toBe('clinical');
      expect(routeOfPath(c, 'data/clinical/2024/a.csv')?.name, p).toBe('clinical');
      expect(routeOfPath(c, 'data/clinical-old'), p).toBeUndefined();
      expect(routeOfPath(c, 'data'), p).toBeUndefined();
    }
  });

  it('*, ? and ** follow segments: * never crosses a slash', () => {
    expect(routeMatches('data/*/private', 'data/a/private')).toBe(true);
    expect(routeMatches('data/*/private', 'data/a/b/private')).toBe(false);
    expect(routeMatches('data/**/private', 'data/a/b/private/x.csv')).toBe(true);
    expect(routeMatches('models/*.safetensors', 'models/big.safetensors')).toBe(true);
    expect(routeMatches('models/*.safetensors', 'models/sub/big.safetensors')).toBe(false);
    expect(routeMatches('data/v?', 'data/v1')).toBe(true);
    expect(routeMatches('data/v?', 'data/v10')).toBe(false);
  });

  it('overlap is exact: patterns that can route one path overlap, others do not', () => {
    expect(patternsOverlap('data/**', 'data/genomics')).toBe(true);
    expect(patternsOverlap('data/*/clinical', 'data/eu/**')).toBe(true);
    expect(patternsOverlap('data/clinical', 'data/clinical-old')).toBe(false);
    expect(patternsOverlap('data/*.csv', 'data/*.parquet')).toBe(false);
    expect(patternsOverlap('data/a*', 'data/*b')).toBe(true);
    expect(patternsOverlap('data/**/secret', 'models/**')).toBe(false);
    expect(patternsOverlap('**/secret', 'public/**')).toBe(true);
    // Everything inside counts: a file pattern also routes a folder that happens to have that name.
    expect(patternsOverlap('**/secret', 'public/*.csv')).toBe(true);
  });

  it('an artifact goes to the remote its path is routed to, else to the default remote', () => {
    const c = config(team);
    expect(routeOf(c, { path: 'data/clinical', pointer: { type: 'dir' } })?.name).toBe('clinical');
    expect(routeOf(c, { path: 'data/genomics/run1', pointer: { type: 'dir' } })?.name).toBe('genomics');
    expect(routeOf(c, { path: 'data/public', pointer: { type: 'dir' } })).toBeUndefined();
    expect(routeOf(c, { path: 'models/m.safetensors', pointer: { type: 'file' } })).toBeUndefined();
  });

  it('a folder artifact a route claims only part of is refused in one line (one artifact goes to one remote)', () => {
    const c = config(team);
    let e: unknown;
    try {
      routeOf(c, { path: 'data', pointer: { type: 'dir' } });
    } catch (x) {
      e = x;
    }
    expect(isMkError(e, 'EROUTE')).toBe(true);
    expect((e as Error).message).toMatch(/^data is tracked as one folder, but 'data\/clinical\/\*\*' routes part of it to remote 'clinical'$/);
    // A file of that name is not a folder: nothing of it is elsewhere.
    expect(routeOf(c, { path: 'data', pointer: { type: 'file' } })).toBeUndefined();
  });

  it('the tag of a routed artifact depends on its path and digest alone, and is a valid OCI tag', () => {
    const d = `sha256:${'ab'.repeat(32)}`;
    expect(routedTag('data/clinical', d)).toBe(`data-clinical-${'ab'.repeat(12)}`);
    expect(routedTag('data/clinical', d)).toBe(routedTag('data/clinical', d));
    expect(routedTag('data/other', d)).not.toBe(routedTag('data/clinical', d));
    for (const p of ['.hidden/data', 'x'.repeat(300), 'données/été 2024', '-a']) expect(routedTag(p, d)).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/);
  });
});

describe('configurations refused in one line', () => {
  it('two remotes whose patterns route the same paths', () => {
    const m = refusal({ ...team, remotes: { ...team.remotes, genomics: { url: 'oci://registry.example.com/team/genomics', paths: ['data/**'] } } });
    expect(m).toBe(".mk/config.yaml: remotes: 'data/clinical/**' (remote 'clinical') and 'data/**' (remote 'genomics') route the same paths; a path goes to one remote: narrow one of them");
  });

  it('paths on the default remote, on a local layout, or naming every path', () => {
    expect(refusal({ ...team, default_remote: 'clinical' })).toMatch(/'clinical' is the default remote, which takes every path no other remote claims/);
    expect(refusal({ ...team, remotes: { ...team.remotes, genomics: { url: '../store', paths: ['data/genomics'] } } })).toMatch(
      /remotes\.genomics\.paths: a remote with paths must be a registry repository/,
    );
    expect(refusal({ remotes: { origin: 'oci://r.example.com/a', all: { url: 'oci://r.example.com/b', paths: ['**'] } }, default_remote: 'origin' })).toMatch(/matches every path/);
  });

  it('patterns outside the repository, in .git, or with glob syntax that cannot be checked for overlap', () => {
    const one = (p: unknown) => refusal({ remotes: { origin: 'oci://r.example.com/a', x: { url: 'oci://r.example.com/b', paths: [p] } }, default_remote: 'origin' });
    expect(one('../outside')).toMatch(/must be a path inside the repository/);
    expect(one('.git/objects')).toMatch(/names \.git/);
    expect(one('data/[ab]')).toMatch(/glob syntax mk does not route by/);
    expect(one('!data/x')).toMatch(/glob syntax/);
    expect(one(3)).toMatch(/expected a path pattern/);
    expect(refusal({ remotes: { origin: 'oci://r.example.com/a', x: { url: 'oci://r.example.com/b', paths: [] } }, default_remote: 'origin' })).toMatch(/expected a list of path patterns/);
  });

  it('routes without a named default remote, unless exactly one remote takes the rest', () => {
    expect(refusal({ remotes: { a: 'oci://r.example.com/a', b: 'oci://r.example.com/b', x: { url: 'oci://r.example.com/x', paths: ['d'] } } })).toMatch(
      /name the remote that takes every other path with default_remote/,
    );
    const c = config({ remotes: { a: 'oci://r.example.com/a', x: { url: 'oci://r.example.com/x', paths: ['d'] } } });
    expect(routeOfPath(c, 'd/e')?.name).toBe('x');
  });

  it("a local redefinition of a routed remote (another URL) keeps the team's paths: routed data never falls back to the default remote", () => {
    const local = applyConfig(config(team), { remotes: { clinical: 'oci://mirror.example.com/team/clinical' } }, '.git/mk/config.yaml');
    expect(local.remotes.find((r) => r.name === 'clinical')).toEqual({ name: 'clinical', url: 'oci://mirror.example.com/team/clinical', paths: ['data/clinical/**'] });
    expect(routeOfPath(local, 'data/clinical/a.csv')?.name).toBe('clinical');
  });

  it('access.strict is a boolean', () => {
    expect(config({ access: { strict: true } }).strictAccess).toBe(true);
    expect(refusal({ access: { strict: 'yes' } })).toMatch(/access\.strict: expected true or false/);
    expect(refusal({ access: { other: 1 } })).toMatch(/unknown setting 'access\.other'/);
  });
});
