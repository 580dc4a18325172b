import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseDocument } from 'yaml';
import type { Target } from '../content/storage.js';
import { ConfigError, MkError, UsageError } from '../errors/index.js';
import type { RemoteConfig } from '../repo/config.js';
import { RepoContext, TEAM_CONFIG } from '../repo/context.js';
import { openLayoutStore, openRegistryStore, type RegistrySettings } from '../stores/open.js';
import { writeFileAtomic } from '../util/fs.js';
import { parseRemoteUrl } from './url.js';
import { redactUserinfo } from '../stores/registry/reference.js';
import { git } from '../git/run.js';
import { checkRoutes, parseRoutePattern, routeOf } from '../repo/routes.js';

/** The remote called `name`, or the default remote. */
export function remoteConfig(ctx: RepoContext, name?: string): RemoteConfig {
  const remotes = ctx.config.remotes;
  if (name) {
    const r = remotes.find((x) => x.name === name);
    if (!r) throw new UsageError(`no remote named '${name}'`, remotes.length ? `known remotes: ${remotes.map((x) => x.name).join(', ')}` : "add one with 'mk remote add <name> <url>'");
    return r;
  }
  if (ctx.config.defaultRemote) return remoteConfig(ctx, ctx.config.defaultRemote);
  // Remotes by path take only their paths: the one remote without paths takes the rest.
  const general = remotes.filter((r) => !r.paths?.length);
  if (general.length === 1) return general[0]!;
  if (remotes.length === 0) throw new MkError('ENOREMOTE', 'no mk remote is configured', { hint: "add one with 'mk remote add origin <oci://host/repo | path>'" });
  throw new UsageError('several remotes and no default', "name one with -r, or set one with 'mk remote default <name>'");
}

/**
 * The remote that holds an artifact's data (remotes by path): the remote its path is routed
 * to, else the one called `name`, else the default remote.
 */
export function remoteOfArtifact(ctx: RepoContext, t: { path: string; pointer: { type: 'file' | 'dir' } }, name?: string): RemoteConfig {
  return routeOf(ctx.config, t) ?? remoteConfig(ctx, name);
}

export interface RemoteListing {
  name: string;
  /** The URL, with any credentials someone typed into the config replaced by *** (they are never printed). */
  url: string;
  insecure?: boolean;
  default: boolean;
  /** A remote by path: the patterns of the tracked paths it receives. */
  paths?: string[];
}

/** The configured remotes, for display. */
export function listRemotes(ctx: RepoContext): RemoteListing[] {
  const general = ctx.config.remotes.filter((r) => !r.paths?.length);
  const def = ctx.config.defaultRemote ?? (general.length === 1 ? general[0]!.name : undefined);
  return ctx.config.remotes.map((r) => ({
    name: r.name,
    url: redactUserinfo(r.url),
    ...(r.insecure ? { insecure: true } : {}),
    default: r.name === def,
    ...(r.paths?.length ? { paths: r.paths } : {}),
  }));
}

/**
 * Opens the store behind a remote. A layout folder must exist and be an OCI image layout,
 * unless `create` (a push, a copy to it): a read of a folder that is not there (a share that
 * is not mounted) fails in one line instead of answering "nothing there". `readOnly` is the
 * default (kept for callers that say so).
 */
export async function openRemote(ctx: RepoContext, rc: RemoteConfig, opts: { readOnly?: boolean; create?: boolean } = {}): Promise<Target> {
  const u = parseRemoteUrl(rc.url, ctx.root);
  if (u.type === 'layout') return openLayout(u.path, rc.name, !opts.create || opts.readOnly);
  // The remote is the registry the user chose: environment credentials may go to it.
  return openRegistryStore({ ...registrySettings(rc, u.host, u.repository), mountFrom: mountSources(ctx, rc, u.host, u.repository), envCredentialsHost: u.host });
}

/**
 * The repositories of the same registry a push to this remote mounts blobs from before
 * uploading them (cross-repository mount): the remote's `mount_from`, then the repositories of
 * the project's other remotes on that host (remotes by path excepted), which hold what was pushed there.
 */
function mountSources(ctx: RepoContext, rc: RemoteConfig, host: string, repository: string): string[] {
  const out = [...(rc.mountFrom ?? [])];
  for (const other of ctx.config.remotes) {
    // Not from a remote by path: its repository has permissions of its own (a user who may push
    // here may not read there, and a registry refuses a mount from where one may not read).
    if (other.name === rc.name || other.paths?.length || !other.url.startsWith(`oci://${host}/`)) continue;
    try {
      const o = parseRemoteUrl(other.url, ctx.root);
      if (o.type === 'registry' && o.host === host) out.push(o.repository);
    } catch {
      /* a malformed URL is reported when that remote is used */
    }
  }
  return [...new Set(out)].filter((r) => r !== repository);
}

/** The store settings a remote's config gives a registry (its own repository, or another one on the same host). */
export function registrySettings(rc: RemoteConfig | undefined, host: string, repository: string): RegistrySettings {
  return { host, repository, insecure: rc?.insecure, caFile: rc?.ca, concurrency: rc?.concurrency, upload: rc?.upload };
}

/**
 * The registry host of the remote a command uses by default (for environment credentials when
 * the command names no registry of its own), if it is a registry.
 */
export function defaultRemoteHost(ctx: RepoContext | undefined): string | undefined {
  if (!ctx) return undefined;
  try {
    const u = parseRemoteUrl(remoteConfig(ctx).url, ctx.root);
    return u.type === 'registry' ? u.host : undefined;
  } catch {
    return undefined;
  }
}

/** The configured remote on a registry host, if any (its TLS and transfer settings apply to any repository there). */
export function remoteOnHost(ctx: RepoContext, host: string): RemoteConfig | undefined {
  return ctx.config.remotes.find((r) => r.url.startsWith(`oci://${host}/`));
}

/**
 * A local OCI image layout used as a remote. A folder that holds something else is refused
 * before anything is written into it (a typo must not fill someone's home folder with blobs).
 * `readOnly` (a read): the folder must be a layout already; a missing or empty folder is most
 * likely a share that is not mounted, and must not read as "never pushed there". Otherwise
 * (a write) a missing or empty folder becomes a new layout.
 */
export function openLayout(path: string, name: string, readOnly = false): Target {
  let entries: string[] | undefined;
  try {
    if (!statSync(path).isDirectory())
      throw new MkError('ENOTLAYOUT', `remote '${name}' (${path}) is not a folder`, { hint: 'point the remote at an OCI image layout folder, or at a new or empty one' });
    entries = readdirSync(path);
  } catch (e) {
    if (e instanceof MkError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (readOnly && !entries?.includes('oci-layout')) {
    const hint = "check the path ('mk remote list'); a push creates the layout, as 'mk remote add --create' does";
    if (!entries) throw new MkError('ENOREMOTESTORE', `remote '${name}' at ${path} does not exist (not mounted?)`, { hint });
    if (entries.length === 0) throw new MkError('ENOREMOTESTORE', `remote '${name}' at ${path} is an empty folder, not an OCI image layout (not mounted? never pushed to?)`, { hint });
  }
  const store = openLayoutStore(path);
  if (entries?.includes('oci-layout')) {
    let version: unknown;
    try {
      version = (JSON.parse(readFileSync(join(path, 'oci-layout'), 'utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    } catch {
      /* reported below */
    }
    if (typeof version !== 'string' || !version.startsWith('1.'))
      throw new MkError('ENOTLAYOUT', `remote '${name}' (${path}): its oci-layout file is not an OCI image layout version 1`, {
        hint: 'point the remote at an OCI image layout folder, or at a new or empty one',
      });
    return readOnly ? store : openLayoutStore(path, { create: true });
  }
  if (entries && entries.length > 0) {
    throw new MkError('ENOTLAYOUT', `remote '${name}' (${path}) is a folder that is not an OCI image layout (no oci-layout file) and is not empty; nothing was written to it`, {
      hint: 'point the remote at an existing OCI image layout, or at a new or empty folder',
    });
  }
  return readOnly ? store : openLayoutStore(path, { create: true });
}

/** Edits the team config (or the local one), keeping the user's comments and layout. */
async function editConfig(ctx: RepoContext, local: boolean, edit: (doc: ReturnType<typeof parseDocument>) => void): Promise<string> {
  const file = local ? ctx.localConfigPath : join(ctx.root, TEAM_CONFIG);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = 'version: 1\n';
  }
  const doc = parseDocument(text);
  if (doc.errors.length) throw new ConfigError(file, doc.errors[0]!.message.split('\n')[0]!);
  edit(doc);
  await writeFileAtomic(file, doc.toString());
  if (!local) await git(ctx.root, ['add', '--', TEAM_CONFIG]).catch(() => undefined);
  return file;
}

export interface AddedRemote {
  /** The config file written. */
  file: string;
  /** The URL as stored: a relative layout path is relative to the repository root. */
  url: string;
  warnings: string[];
}

/**
 * Adds a remote. A relative layout path is taken from `cwd` (as the user typed it) and stored
 * relative to the repository root, which is what every later read resolves it against (from
 * any folder, in any clone). An absolute path is kept, with a warning when it goes into the
 * committed config (a teammate's machine may not have it). `create`: the layout folder is
 * created now (an empty layout); otherwise only a push creates it.
 */
export async function addRemote(
  ctx: RepoContext,
  name: string,
  url: string,
  opts: { cwd?: string; local?: boolean; insecure?: boolean; makeDefault?: boolean; create?: boolean; paths?: string[] } = {},
): Promise<AddedRemote> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new UsageError(`'${name}' is not a valid remote name`, 'use letters, digits, . _ -');
  const cwd = opts.cwd ?? process.cwd();
  const stored = layoutPathToStore(ctx.root, cwd, url);
  const u = parseRemoteUrl(stored, ctx.root);
  if (ctx.config.remotes.some((r) => r.name === name)) throw new UsageError(`remote '${name}' already exists`, `remove it first with 'mk remote remove ${name}'`);
  if (opts.create && u.type !== 'layout') throw new UsageError('--create is for a local OCI layout (a path), not a registry', 'a registry repository comes into being with the first push');
  const paths = opts.paths?.length ? opts.paths.map((p, i) => parseRoutePattern(p, '--path', `--path[${i}]`)) : undefined;
  if (paths && opts.makeDefault) throw new UsageError('a remote with --path takes only those paths; it cannot be the default remote', 'add it without --default');
  if (paths) {
    // The whole configuration, as it would be: overlaps with other remotes' paths, a default for everything else.
    const first = ctx.config.remotes.length === 0;
    const next = { remotes: [...ctx.config.remotes, { name, url: stored, paths }], defaultRemote: ctx.config.defaultRemote };
    if (first)
      throw new UsageError(`'${name}' would be the only remote: add the remote that takes every other path first`, "e.g. 'mk remote add origin oci://host/team/project', then this one with --path");
    if (!next.defaultRemote) {
      const general = ctx.config.remotes.filter((r) => !r.paths?.length);
      if (general.length === 1) next.defaultRemote = general[0]!.name;
    }
    checkRoutes(next, TEAM_CONFIG);
  }
  const warnings: string[] = [];
  if (u.type === 'layout' && !opts.local && (isAbsolute(stored) || stored.startsWith('file://')))
    warnings.push(`the absolute path ${u.path} is committed in ${TEAM_CONFIG} for everyone: it must exist on every machine (use --local for this clone only, or a path relative to the repository)`);
  if (opts.create && u.type === 'layout') openLayout(u.path, name, false);
  const first = ctx.config.remotes.length === 0;
  const file = await editConfig(ctx, !!opts.local, (doc) => {
    doc.setIn(['remotes', name], { url: stored, ...(opts.insecure ? { insecure: true } : {}), ...(paths ? { paths } : {}) });
    if (first || opts.makeDefault) doc.set('default_remote', name);
    // Routing needs the remote that takes every other path to be named.
    else if (paths && !doc.get('default_remote')) doc.set('default_remote', remoteConfig(ctx).name);
  });
  return { file, url: stored, warnings };
}

/** A relative layout path typed in `cwd`, as stored: relative to the repository root ('.' for the root itself). */
function layoutPathToStore(root: string, cwd: string, url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || isAbsolute(url)) return url;
  const rel = relative(root, resolve(cwd, url)).split(sep).join('/');
  return rel === '' ? '.' : rel;
}

export async function removeRemote(ctx: RepoContext, name: string, opts: { local?: boolean } = {}): Promise<string> {
  remoteConfig(ctx, name);
  return editConfig(ctx, !!opts.local, (doc) => {
    if (!doc.hasIn(['remotes', name]))
      throw new UsageError(`remote '${name}' is not defined in ${opts.local ? 'the local config' : TEAM_CONFIG}`, opts.local ? undefined : 'it may be a local remote: add --local');
    doc.deleteIn(['remotes', name]);
    if (doc.get('default_remote') === name) doc.delete('default_remote');
  });
}

export async function setDefaultRemote(ctx: RepoContext, name: string, opts: { local?: boolean } = {}): Promise<string> {
  remoteConfig(ctx, name);
  return editConfig(ctx, !!opts.local, (doc) => doc.set('default_remote', name));
}
