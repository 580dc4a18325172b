import { createHash } from 'node:crypto';

/** Git's object id of a blob holding `content` (SHA-1 or SHA-256, by the length of the repository's ids: 40 or 64). */
export function blobId(content: string | Buffer, hexLen: number): string {
  const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  return createHash(hexLen === 64 ? 'sha256' : 'sha1')
    .update(`blob ${body.length}\0`)
    .update(body)
    .digest('hex');
}
