/**
 * What a push says about signing one ModelKit: nothing without a key (`kinds` undefined),
 * `signed (signature, files, provenance)` when it attached signatures, `signed already` when this
 * key's signatures were there. One wording for `mk push` and the pre-push hook.
 */
export function signedNote(kinds: string[] | undefined): string {
  if (kinds === undefined) return '';
  return kinds.length ? `, signed (${kinds.join(', ')})` : ', signed already';
}
