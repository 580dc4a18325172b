import { RepoContext } from '../repo/context.js';
import { addRemote, listRemotes, removeRemote, setDefaultRemote, type AddedRemote, type RemoteListing } from '../remote/remotes.js';

export type { AddedRemote, RemoteListing };

/**
 * Adds a remote (the first becomes the default): the config file it was written to, the URL
 * as stored (a relative path: relative to the repository root) and warnings to show.
 */
export async function remoteAdd(
  name: string,
  url: string,
  opts: { cwd?: string; local?: boolean; insecure?: boolean; makeDefault?: boolean; create?: boolean; paths?: string[] } = {},
): Promise<AddedRemote> {
  return addRemote(RepoContext.open(opts.cwd), name, url, opts);
}

/** The configured remotes (credentials typed into a URL are masked). */
export function remoteList(opts: { cwd?: string } = {}): RemoteListing[] {
  return listRemotes(RepoContext.open(opts.cwd));
}

export async function remoteRemove(name: string, opts: { cwd?: string; local?: boolean } = {}): Promise<{ file: string }> {
  return { file: await removeRemote(RepoContext.open(opts.cwd), name, opts) };
}

export async function remoteDefault(name: string, opts: { cwd?: string; local?: boolean } = {}): Promise<{ file: string }> {
  return { file: await setDefaultRemote(RepoContext.open(opts.cwd), name, opts) };
}
