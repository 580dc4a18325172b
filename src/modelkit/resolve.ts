import { existsSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import type { Descriptor } from '../content/descriptor.js';
import type { Fetcher, Target } from '../content/storage.js';
import { MkError } from '../errors/index.js';
import { resolveCommit } from '../git/run.js';
import { defaultRemoteHost, openRemote, registrySettings, remoteOnHost } from '../remote/remotes.js';
import { parseRemoteUrl } from '../remote/url.js';
import { RepoContext } from '../repo/context.js';
import { overlay } from '../stores/overlay.js';
import { openLayoutStore, openRegistryStore } from '../stores/open.js';
import { buildModelKit, type BuiltModelKit } from './builder.js';

export interface ResolvedModelKit {
  reference: string;
  /** Where to read it from (for a revision: the built manifest in front of the cache). */
  target: Fetcher & { location: string };
  /** The store that holds it under a tag (not for a revision, which is built on the spot). */
  store?: Target;
  /** The tag it was named by, if any. */
  tag?: string;
  desc: Descriptor;
  /** Set when the reference named a commit of the current repository. */
  commit?: string;
  built?: BuiltModelKit;
  /**
   * The registry host the user chose for this command (named in the reference, or the remote's):
   * the one host environment credentials may go to. ModelKits this one references get it as
   * it is, never their own host.
   */
  envHost?: string;
}

export function tryRepo(cwd?: string): RepoContext | undefined {
  try {
    return RepoContext.open(cwd);
  } catch {
    return undefined;
  }
}

/** An OCI image layout named by `oci:<path>`, read only: a folder that is not there is one line, never an empty store. */
export function existingLayout(path: string): ReturnType<typeof openLayoutStore> {
  if (!existsSync(join(path, 'oci-layout'))) {
    throw new MkError('ENOTFOUND', existsSync(path) ? `${path} is not an OCI image layout (no oci-layout file)` : `${path} does not exist (not mounted?)`, {
      hint: 'name the folder of an OCI image layout (it holds oci-layout, index.json and blobs/)',
    });
  }
  return openLayoutStore(path);
}

/**
 * Resolves a ModelKit reference:
 * - a revision of the current repository (built from the commit, into the cache);
 * - `<remote>:<tag>` for a configured mk remote (e.g. origin:main);
 * - `oci:<path>[:tag]` for an OCI image layout on disk;
 * - `[oci://]host[:port]/repository[:tag|@digest]` for a registry.
 */
export async function resolveModelKit(ref: string, opts: { cwd?: string } = {}): Promise<ResolvedModelKit> {
  const ctx = tryRepo(opts.cwd);
  if (ref.startsWith('oci:') && !ref.startsWith('oci://')) {
    const m = /^oci:(.*?)(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127})|@(sha256:[a-f0-9]{64}))?$/.exec(ref);
    const store = existingLayout(resolvePath(opts.cwd ?? process.cwd(), m![1]!));
    const tag = m![2] ?? m![3];
    const envHost = defaultRemoteHost(ctx);
    if (!tag) {
      const tags = await store.tags();
      if (tags.length !== 1) throw new MkError('EREF', `${ref}: name a tag (${tags.length} in the layout: ${tags.slice(0, 5).join(', ')})`);
      return { reference: ref, target: store, store, tag: tags[0], desc: await store.resolve(tags[0]!), envHost };
    }
    return { reference: ref, target: store, store, tag: m![2], desc: await store.resolve(tag), envHost };
  }
  if (ctx) {
    const colon = ref.indexOf(':');
    if (colon > 0 && !ref.includes('/')) {
      const name = ref.slice(0, colon);
      const rc = ctx.config.remotes.find((r) => r.name === name);
      if (rc) {
        const target = await openRemote(ctx, rc);
        const u = parseRemoteUrl(rc.url, ctx.root);
        return { reference: ref, target, store: target, tag: ref.slice(colon + 1), desc: await target.resolve(ref.slice(colon + 1)), envHost: u.type === 'registry' ? u.host : undefined };
      }
    }
    if (!ref.includes('/') || !/[.:]/.test(ref.split('/')[0]!)) {
      let commit: string | undefined;
      try {
        commit = await resolveCommit(ctx.root, ref);
      } catch {
        /* not a revision */
      }
      if (commit) {
        const built = await buildModelKit(ctx, commit);
        return { reference: ref, target: { ...overlay(built.store, ctx.cache), location: ctx.cacheDir }, desc: built.manifest, commit, built, envHost: defaultRemoteHost(ctx) };
      }
    }
  }
  return resolveRegistryModelKit(ref, ctx, (host) => host);
}

/**
 * A registry reference (`[oci://]host[:port]/repository[:tag|@digest]`), with the settings of a
 * remote on that host. `envHost` says which host environment credentials belong to: the
 * reference's own when the user typed it, the command's when a ModelKit named it.
 */
export async function resolveRegistryModelKit(ref: string, ctx: RepoContext | undefined, envHost: (refHost: string) => string | undefined): Promise<ResolvedModelKit> {
  const { findUserinfo, parseRegistryReference } = await import('../stores/registry/index.js');
  let r;
  try {
    r = parseRegistryReference(ref.replace(/^oci:\/\//, ''));
  } catch (e) {
    if (findUserinfo(ref)) throw e; // it says so, with the credentials masked
    throw new MkError('EREF', `'${ref}' is not a revision of this repository, a remote:tag, oci:<path>[:tag] or a registry reference (host/repository:tag)`, { cause: e });
  }
  const chosen = envHost(r.host);
  const target = await openRegistryStore({ ...registrySettings(ctx && remoteOnHost(ctx, r.host), r.host, r.repository), envCredentialsHost: chosen });
  const tag = (r as { tag?: string }).tag ?? ((r as { digest?: string }).digest ? undefined : 'latest');
  const reference = (r as { digest?: string }).digest ?? tag!;
  return { reference: ref, target, store: target, tag, desc: await target.resolve(reference), envHost: chosen };
}
