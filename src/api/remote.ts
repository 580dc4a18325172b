import { RepoContext } from '../repo/context.js';
import { addRemote, listRemotes, removeRemote, setDefaultRemote, type RemoteListing } from '../remote/remotes.js';

export type { RemoteListing };

/** Adds a remote (the first becomes the default); returns the config file it was written to. */
export async function remoteAdd(name: string, url: string, opts: { cwd?: string; local?: boolean; insecure?: boolean; makeDefault?: boolean } = {}): Promise<{ file: string }> {
  return { file: await addRemote(RepoContext.open(opts.cwd), name, url, opts) };
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
