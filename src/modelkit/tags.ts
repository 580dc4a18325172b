/** Turns a branch or git tag name into a valid OCI tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}), or undefined. */
export function ociTag(name: string): string | undefined {
  let t = name.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[.-]+/, '');
  t = t.slice(0, 128).replace(/[.-]+$/, '');
  return t ? t : undefined;
}

/**
 * The tag of a routed artifact's own ModelKit in its remote's repository (remotes by path):
 * named from the artifact's path and its pointer's digest, so anyone with the commit (with or
 * without access to that repository) names the same ModelKit, and the same data at the same
 * path is one ModelKit whichever commit published it. E.g. `data-clinical-3f2a...` (24 hex).
 */
export function routedTag(path: string, digest: string): string {
  const slug = path
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 100)
    .replace(/[.-]+$/, '');
  return `${slug || 'data'}-${digest.replace(/^sha256:/, '').slice(0, 24)}`;
}
