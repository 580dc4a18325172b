/**
 * Git LFS pointers (git-lfs docs/spec.md), read for `mk migrate --from-lfs`:
 *
 *     version https://git-lfs.github.com/spec/v1
 *     oid sha256:<64 hex>
 *     size <bytes>
 *
 * One `key value` per line, LF-terminated, `version` first, the other keys sorted, the whole
 * pointer under 1024 bytes. Only sha256 oids exist. Anything else is not a pointer (a file
 * that merely looks like one stays what it is).
 */
export const LFS_POINTER_MAX = 1024;

const VERSIONS = new Set(['https://git-lfs.github.com/spec/v1', 'https://hawser.github.com/spec/v1']);

export interface LfsPointer {
  /** The sha256 of the content, hex: the same digest mk names the bytes by. */
  oid: string;
  size: number;
}

/** The pointer in `bytes`, or undefined when they are not one. */
export function parseLfsPointer(bytes: Uint8Array): LfsPointer | undefined {
  if (bytes.length === 0 || bytes.length >= LFS_POINTER_MAX) return undefined;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  if (!text.startsWith('version ') || !text.endsWith('\n')) return undefined;
  const lines = text.slice(0, -1).split('\n');
  const fields = new Map<string, string>();
  let last = '';
  for (const [i, line] of lines.entries()) {
    const sp = line.indexOf(' ');
    if (sp <= 0) return undefined;
    const key = line.slice(0, sp);
    if (!/^[a-z0-9.-]+$/.test(key) || fields.has(key)) return undefined;
    if (i > 0 && (key === 'version' || key < last)) return undefined;
    if (i > 0) last = key;
    fields.set(key, line.slice(sp + 1));
  }
  if (!VERSIONS.has(fields.get('version') ?? '')) return undefined;
  const oid = /^sha256:([0-9a-f]{64})$/.exec(fields.get('oid') ?? '')?.[1];
  const size = fields.get('size') ?? '';
  if (!oid || !/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size))) return undefined;
  return { oid, size: Number(size) };
}
