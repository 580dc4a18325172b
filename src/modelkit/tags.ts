/** Turns a branch or git tag name into a valid OCI tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}), or undefined. */
export function ociTag(name: string): string | undefined {
  let t = name.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[.-]+/, '');
  t = t.slice(0, 128).replace(/[.-]+$/, '');
  return t ? t : undefined;
}
