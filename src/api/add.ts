import { KINDS } from '../formats/pointer.js';
import { UsageError } from '../errors/index.js';
import { record, type AddOptions, type AddedArtifact } from '../worktree/record.js';

export type { AddOptions, AddedArtifact };

/** `mk add`: tracks files or folders (stores their bytes in the cache, writes and stages their pointers). */
export async function add(paths: string[], opts: AddOptions = {}): Promise<AddedArtifact[]> {
  if (paths.length === 0) throw new UsageError('nothing to add', "name the files or directories to track, e.g. 'mk add data/'");
  if (opts.kind && !KINDS.includes(opts.kind)) throw new UsageError(`unknown kind '${opts.kind}' (one of ${KINDS.join(', ')})`);
  return record(paths, opts);
}
