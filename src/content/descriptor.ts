import { invariant } from '../errors/invariant.js';

/** An OCI content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  data?: string;
  urls?: string[];
}

export function isDigest(s: unknown): s is string {
  if (typeof s !== 'string' || s.length !== 71 || !s.startsWith('sha256:')) return false;
  for (let i = 7; i < 71; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** The hex part of a sha256 digest, checked. */
export function digestHex(digest: string): string {
  invariant(isDigest(digest), `a sha256 digest, not ${digest}`);
  return digest.slice(7);
}

export function shortDigest(digest: string): string {
  return digest.startsWith('sha256:') ? digest.slice(7, 19) : digest;
}

/** A minimal descriptor (mediaType, digest, size) with no optional fields, for comparisons. */
export function plain(desc: Descriptor): Descriptor {
  return { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
}
