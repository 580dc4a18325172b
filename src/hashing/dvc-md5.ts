import { createHash, type Hash } from 'node:crypto';

/**
 * DVC's md5 of a file, computed beside mk's sha256 in the same pass (`mk migrate --from-dvc`
 * checks every byte it takes over against what DVC recorded).
 *
 * DVC 3 hashes the raw bytes. DVC 2 recorded "md5-dos2unix": a file that looks like text (its
 * first 512 bytes hold no NUL and at most 30% bytes outside printable ASCII and \n\r\t\f\b)
 * is hashed with each CRLF read as LF, replaced within 1 MiB chunks (a CRLF split across two
 * chunks stays). DVC 2 decided text or binary once per file; dvc-data 3, which still reads
 * 2.x caches, decides per chunk. For a legacy record all three md5s are computed and any
 * one that matches is DVC's own hash of these bytes.
 */
const CHUNK = 1 << 20;
const PROBE = 512;

function isTextBlock(b: Uint8Array): boolean {
  if (b.length === 0) return true;
  let other = 0;
  for (const c of b) {
    if (c === 0) return false;
    if (!((c >= 32 && c < 127) || c === 10 || c === 13 || c === 9 || c === 12 || c === 8)) other++;
  }
  return other / b.length <= 0.3;
}

function dos2unix(b: Buffer): Buffer {
  if (b.indexOf(13) < 0) return b;
  const out = Buffer.allocUnsafe(b.length);
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10) continue;
    out[n++] = b[i]!;
  }
  return out.subarray(0, n);
}

export interface DvcMd5Result {
  /** md5 of the raw bytes (DVC 3). */
  md5: string;
  /** DVC 2's md5-dos2unix, decided once per file (legacy records only). */
  dos2unixFile?: string;
  /** dvc-data 3's reading of md5-dos2unix, decided per 1 MiB chunk (legacy records only). */
  dos2unixChunk?: string;
}

export class DvcMd5 {
  private readonly raw: Hash = createHash('md5');
  private readonly file?: Hash;
  private readonly chunked?: Hash;
  private fileIsText?: boolean;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(legacy: boolean) {
    if (legacy) {
      this.file = createHash('md5');
      this.chunked = createHash('md5');
    }
  }

  update(data: Uint8Array): void {
    this.raw.update(data);
    if (!this.file) return;
    // Re-cut into DVC's 1 MiB chunks: what is replaced depends on where chunks end.
    let buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    while (buf.length) {
      const take = Math.min(CHUNK - this.pendingBytes, buf.length);
      this.pending.push(Buffer.from(buf.subarray(0, take)));
      this.pendingBytes += take;
      buf = buf.subarray(take);
      if (this.pendingBytes === CHUNK) this.flushChunk();
    }
  }

  private flushChunk(): void {
    if (this.pendingBytes === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.fileIsText ??= isTextBlock(chunk.subarray(0, PROBE));
    const converted = dos2unix(chunk);
    this.file!.update(this.fileIsText ? converted : chunk);
    this.chunked!.update(isTextBlock(chunk.subarray(0, PROBE)) ? converted : chunk);
  }

  digest(): DvcMd5Result {
    const r: DvcMd5Result = { md5: this.raw.digest('hex') };
    if (this.file) {
      this.flushChunk();
      r.dos2unixFile = this.file.digest('hex');
      r.dos2unixChunk = this.chunked!.digest('hex');
    }
    return r;
  }
}

/** Whether `r` is DVC's hash of the bytes it was computed over, for a record of `md5`. */
export function dvcMatches(r: DvcMd5Result, md5: string): boolean {
  return r.md5 === md5 || r.dos2unixFile === md5 || r.dos2unixChunk === md5;
}
