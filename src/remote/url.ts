import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors/index.js';
import { credentialsInUrl, findUserinfo, isValidHost, redactUserinfo } from '../stores/registry/reference.js';

export type RemoteUrl = { type: 'layout'; path: string } | { type: 'registry'; host: string; repository: string };

const REPO = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;

/**
 * `oci://host[:port]/path` is an OCI registry; a path or `file://` URL is a local OCI image
 * layout (relative paths are relative to the repository root). A URL with credentials in it
 * (`oci://user:pass@host/…`) is refused, and no message shows them.
 */
export function parseRemoteUrl(url: string, root: string): RemoteUrl {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url);
  const userinfo = findUserinfo(url);
  // Without a scheme only `user:password@host/…` counts: a folder may have an @ in its name.
  if (userinfo && (scheme || (userinfo.userinfo.includes(':') && !userinfo.userinfo.includes('/')))) {
    const e = credentialsInUrl(url);
    throw new UsageError(e.message, url.startsWith('file://') ? 'a local OCI layout is written as a path or file:///absolute/path' : e.hint);
  }
  const shown = redactUserinfo(url);
  if (url.startsWith('oci://')) {
    const rest = url.slice('oci://'.length).replace(/\/+$/, '');
    const slash = rest.indexOf('/');
    if (slash <= 0) throw new UsageError(`remote URL '${shown}' has no repository path`, 'write it as oci://host[:port]/team/project');
    const host = rest.slice(0, slash);
    const repository = rest.slice(slash + 1);
    if (!REPO.test(repository)) throw new UsageError(`'${repository}' is not a valid OCI repository name`, 'use lowercase letters, digits and . _ - separators, with / between parts');
    if (!/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host) || !isValidHost(host)) {
      throw new UsageError(`'${host}' is not a valid registry host`, 'write it as host or host:port (a port is at most 65535)');
    }
    return { type: 'registry', host, repository };
  }
  if (url.startsWith('file://')) {
    try {
      return { type: 'layout', path: fileURLToPath(url) };
    } catch {
      throw new UsageError(`'${shown}' is not a usable file:// URL`, 'write file:///absolute/path (no host), or give a plain path');
    }
  }
  if (scheme) throw new UsageError(`unsupported remote URL '${shown}'`, 'use oci://host/repo for a registry, or a path / file:// URL for a local OCI layout');
  return { type: 'layout', path: isAbsolute(url) ? url : resolve(root, url) };
}
