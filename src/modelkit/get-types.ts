/** What `mk get` takes and gives (shared by the repository and the ModelKit paths). */
export interface GetOptions {
  cwd?: string;
  /**
   * The revision to read (default HEAD), or a ModelKit reference (a registry reference,
   * `oci:<layout>[:tag]`, `<remote>:<tag>`): read without Git, also outside any repository.
   */
  rev?: string;
  /** Where the bytes go (default: the last path component, in the current directory). */
  out?: string;
  /** Replace an existing output. */
  force?: boolean;
  /** The remote to download from when the cache lacks a blob (default: the default remote). */
  remote?: string;
  concurrency?: number;
}

export interface GetResult {
  /** Repository-relative path asked for. */
  path: string;
  /** The commit read ('' for a ModelKit that names none). */
  commit: string;
  /** For a ModelKit reference: the reference, and the manifest digest it named. */
  reference?: string;
  digest?: string;
  /** The artifact that holds it. */
  artifact: string;
  /** What was written: a file, or a folder. */
  out: string;
  type: 'file' | 'dir';
  files: number;
  bytes: number;
  /** Blobs downloaded, whole or in part, and the bytes received (only what this path needs). */
  downloaded: number;
  downloadedBytes: number;
  /** Packs read in part (only the wanted files' byte ranges), and the range requests made. */
  packsInPart: number;
  rangeRequests: number;
}
