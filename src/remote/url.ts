import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors/index.js';

export type RemoteUrl = { type: 'layout'; path: string } | { type: 'registry'; host: string; repository: string };

const REPO = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;

/**
 * `oci://host[:port]/path` is an OCI registry; a path or `file://` URL is a local OCI image
 * layout (relative paths are relative to the repository root).
 */
export function parseRemoteUrl(url: string, root: string): RemoteUrl {
  if (url.startsWith('oci://')) {
    const rest = url.slice('oci://'.length).replace(/\/+$/, '');
    const slash = rest.indexOf('/');
    if (slash <= 0) throw new UsageError(`remote URL '${url}' has no repository path`, 'write it as oci://host[:port]/team/project');
    const host = rest.slice(0, slash);
    const repository = rest.slice(slash + 1);
    if (!REPO.test(repository)) throw new UsageError(`'${repository}' is not a valid OCI repository name`, 'use lowercase letters, digits and . _ - separators, with / between parts');
    if (!/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host)) throw new UsageError(`'${host}' is not a valid registry host`);
    return { type: 'registry', host, repository };
  }
  if (url.startsWith('file://')) return { type: 'layout', path: fileURLToPath(url) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new UsageError(`unsupported remote URL '${url}'`, 'use oci://host/repo for a registry, or a path / file:// URL for a local OCI layout');
  return { type: 'layout', path: isAbsolute(url) ? url : resolve(root, url) };
}
