import type { Descriptor } from '../../content/descriptor.js';
import { isDigest } from '../../content/descriptor.js';
import { MediaType } from '../../content/media-types.js';
import { sha256 } from '../../hashing/digest.js';
import type { ClientRequest, RegistryClient } from './client.js';
import { RegistryDigestError, RegistryError, RegistryNetworkError, RegistryNotFoundError, RegistryProtocolError } from './errors.js';
import { header, jsonObject, type HttpResponse } from './http.js';

export const DockerMediaType = {
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  manifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const OCI_ARTIFACT_MANIFEST = 'application/vnd.oci.artifact.manifest.v1+json';

/** Manifest media types: these live under /manifests/, not /blobs/. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.ociIndex, DockerMediaType.manifest, DockerMediaType.manifestList, OCI_ARTIFACT_MANIFEST];

export function isManifestType(mediaType: string): boolean {
  return MANIFEST_MEDIA_TYPES.includes(mediaType);
}

/** Explicit Accept list (distribution 2.8 answers 404 to a missing or wildcard Accept). */
export function acceptHeader(extra?: string): string {
  const list = extra && !MANIFEST_MEDIA_TYPES.includes(extra) ? [extra, ...MANIFEST_MEDIA_TYPES] : MANIFEST_MEDIA_TYPES;
  return list.join(', ');
}

/** Manifests larger than this are refused when read (oras-go's MaxMetadataBytes). */
export const MAX_MANIFEST_BYTES = 4 << 20;

function mediaTypeOf(res: HttpResponse): string | undefined {
  return header(res.headers, 'content-type')?.split(';')[0]?.trim() || undefined;
}

function refName(reference: string): string {
  return isDigest(reference) ? reference : `tag '${reference}'`;
}

/**
 * HEAD a manifest by tag or digest: its descriptor, or undefined on 404. When the registry
 * gives no Docker-Content-Digest (allowed by the spec), the manifest is fetched and hashed.
 */
export async function headManifest(client: RegistryClient, reference: string, scopes: string[], signal?: AbortSignal): Promise<Descriptor | undefined> {
  const res = await client.request({
    method: 'HEAD',
    path: `manifests/${reference}`,
    headers: { accept: acceptHeader() },
    scopes,
    what: `resolve ${refName(reference)} in ${client.name}`,
    ok: [200, 404],
    signal,
  });
  await res.body.dump().catch(() => undefined);
  if (res.status === 404) return undefined;
  const digest = header(res.headers, 'docker-content-digest');
  const len = header(res.headers, 'content-length');
  const mediaType = mediaTypeOf(res);
  if (digest && isDigest(digest) && len !== undefined && /^\d+$/.test(len) && mediaType) {
    if (isDigest(reference) && digest !== reference) {
      throw new RegistryProtocolError(`resolve ${reference} in ${client.name}: the registry answered with digest ${digest}`);
    }
    return { mediaType, digest, size: Number(len) };
  }
  const got = await getManifest(client, reference, scopes, undefined, signal);
  return got.desc;
}

/**
 * GET a manifest with an explicit Accept list. By digest (or with `expected`), the bytes are
 * verified against the digest; a `mediaType` inside the body must match Content-Type.
 */
export async function getManifest(client: RegistryClient, reference: string, scopes: string[], expected?: Descriptor, signal?: AbortSignal): Promise<{ desc: Descriptor; bytes: Buffer }> {
  const what = `fetch manifest ${refName(reference)} from ${client.name}`;
  const want = expected?.digest ?? (isDigest(reference) ? reference : undefined);
  const limit = expected ? expected.size : MAX_MANIFEST_BYTES;
  const tooLarge = () =>
    expected
      ? RegistryDigestError.fromRegistry(`manifest ${expected.digest} from ${client.name}`, `${expected.size} bytes`, `more than ${expected.size} bytes`)
      : new RegistryError(`${what}: the manifest is larger than ${limit} bytes`, { hint: 'manifests over 4 MiB are not supported' });
  const req = { method: 'GET', path: `manifests/${reference}`, headers: { accept: acceptHeader(expected?.mediaType) }, scopes, what, ok: [200], signal } satisfies ClientRequest;
  return client.requestBody(req, limit, tooLarge, (res, bytes) => {
    const digest = sha256(bytes);
    if (want && digest !== want) {
      // Fewer bytes than the descriptor says and no Content-Length to hold them to: cut short on the way (retried).
      if (expected && bytes.length < expected.size && header(res.headers, 'content-length') === undefined) {
        throw new RegistryNetworkError(`${what}: the answer broke off after ${bytes.length} of ${expected.size} bytes`, { retriable: true, hint: CUT_HINT });
      }
      throw RegistryDigestError.fromRegistry(`manifest ${want} from ${client.name}`, want, digest);
    }
    if (expected && bytes.length !== expected.size) throw RegistryDigestError.fromRegistry(`manifest ${expected.digest} from ${client.name}`, `${expected.size} bytes`, `${bytes.length} bytes`);
    // Bytes nobody could verify (a tag) that are not JSON may have been cut short: retried.
    const body = jsonObject(bytes, what, { retriable: !want, hint: want ? BROKEN_HINT : CUT_HINT });
    const headerDigest = header(res.headers, 'docker-content-digest');
    if (!want && headerDigest?.startsWith('sha256:') && headerDigest !== digest) {
      throw RegistryDigestError.fromRegistry(`manifest ${refName(reference)} from ${client.name}`, headerDigest, digest);
    }
    const contentType = mediaTypeOf(res);
    const inside = typeof body.mediaType === 'string' ? body.mediaType : undefined;
    if (inside && contentType && inside !== contentType) {
      throw new RegistryProtocolError(`${what}: Content-Type ${contentType} does not match the manifest's mediaType ${inside}`);
    }
    const mediaType = inside ?? contentType ?? expected?.mediaType ?? MediaType.ociManifest;
    return { desc: { mediaType, digest, size: bytes.length }, bytes };
  });
}

const CUT_HINT = 'the answer was cut short on the way (the registry or a proxy in front of it); it was retried. Check the network and try again';
const BROKEN_HINT = 'the manifest stored in the registry is not valid JSON; push it again from a good copy';

/**
 * PUT a manifest under `reference` (a tag, or its digest) with Content-Type = its media type
 * and exactly the given bytes, which must hash to `desc.digest`.
 */
export async function putManifest(client: RegistryClient, desc: Descriptor, bytes: Uint8Array, reference: string, scopes: string[], signal?: AbortSignal): Promise<void> {
  const what = `push manifest ${desc.digest}${reference === desc.digest ? '' : ` as '${reference}'`} to ${client.name}`;
  const got = sha256(bytes);
  if (got !== desc.digest || bytes.length !== desc.size) {
    throw RegistryDigestError.source(`manifest ${desc.digest}`, `${desc.digest} (${desc.size} bytes)`, `${got} (${bytes.length} bytes)`);
  }
  const res = await client.request({
    method: 'PUT',
    path: `manifests/${reference}`,
    headers: { 'content-type': desc.mediaType, 'content-length': String(bytes.length) },
    body: () => bytes,
    scopes,
    what,
    ok: [201],
    signal,
  });
  await res.body.dump().catch(() => undefined);
  const echoed = header(res.headers, 'docker-content-digest');
  if (echoed && echoed.startsWith('sha256:') && echoed !== desc.digest) {
    throw new RegistryProtocolError(`${what}: the registry stored it as ${echoed}`);
  }
}

/** DELETE a manifest by digest (distribution 2.8 cannot delete by tag; every tag on it goes too). */
export async function deleteManifest(client: RegistryClient, digest: string, scopes: string[], signal?: AbortSignal): Promise<void> {
  const res = await client.request({ method: 'DELETE', path: `manifests/${digest}`, scopes, what: `delete manifest ${digest} from ${client.name}`, ok: [202, 200], signal });
  await res.body.dump().catch(() => undefined);
}

export function notFound(client: RegistryClient, reference: string): RegistryNotFoundError {
  return new RegistryNotFoundError(`${refName(reference)} is not in ${client.name}`);
}
