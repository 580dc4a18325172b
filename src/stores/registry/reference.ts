import { isIP } from 'node:net';
import { isDigest } from '../../content/descriptor.js';
import { RegistryReferenceError } from './errors.js';

/** `oci://host[:port]/repo/path[:tag][@sha256:…]`, parsed. */
export interface RegistryReference {
  /** host[:port], as written (IPv6 in brackets). */
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const HOST = /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?)(?::[0-9]{1,5})?$/;

export function isValidRepository(name: string): boolean {
  return name.length <= 255 && REPOSITORY.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

export function checkRepository(name: string): void {
  if (!isValidRepository(name)) {
    throw new RegistryReferenceError(`invalid repository name '${name}'`, 'use lowercase letters, digits and . _ - separators, with / between path components');
  }
}

export function checkTag(tag: string): void {
  if (!isValidTag(tag)) {
    throw new RegistryReferenceError(`invalid tag '${tag}'`, 'a tag is 1-128 characters of [A-Za-z0-9_.-] and cannot start with . or -');
  }
}

/** host or host:port that a URL can be made of (a port up to 65535, a real IPv6 address). */
export function isValidHost(host: string): boolean {
  return HOST.test(host) && canonicalHostName(host) !== undefined;
}

export function checkHost(host: string): void {
  if (findUserinfo(host)) throw credentialsInUrl(host);
  if (!isValidHost(host)) throw new RegistryReferenceError(`invalid registry host '${host}'`, 'write it as host or host:port');
}

/**
 * Parses `oci://host[:port]/repository[:tag][@digest]` (the `oci://` prefix is optional).
 * User information (`user:pass@`) is refused, and never echoed back.
 */
export function parseRegistryReference(input: string): RegistryReference {
  let s = input.trim();
  if (findUserinfo(s)) throw credentialsInUrl(s);
  if (s.startsWith('oci://')) s = s.slice(6);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    throw new RegistryReferenceError(`unsupported scheme in '${s}'`, 'registry remotes are written oci://host[:port]/repository');
  }
  const slash = s.indexOf('/');
  if (slash <= 0) throw new RegistryReferenceError(`'${input.trim()}' has no repository`, 'write oci://host[:port]/repository');
  const host = s.slice(0, slash);
  checkHost(host);
  let rest = s.slice(slash + 1);
  const out: RegistryReference = { host, repository: '' };
  const at = rest.indexOf('@');
  if (at >= 0) {
    const digest = rest.slice(at + 1);
    if (!isDigest(digest)) throw new RegistryReferenceError(`invalid digest '${digest}'`, 'digests are written sha256:<64 lowercase hex>');
    out.digest = digest;
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon >= 0 && !rest.slice(colon).includes('/')) {
    const tag = rest.slice(colon + 1);
    checkTag(tag);
    out.tag = tag;
    rest = rest.slice(0, colon);
  }
  checkRepository(rest);
  out.repository = rest;
  return out;
}

/** The host name without port or brackets. */
export function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const i = host.lastIndexOf(':');
  return i >= 0 && host.indexOf(':') === i ? host.slice(0, i) : host;
}

// --- credentials written into a URL ------------------------------------------------------

/** An `@` that starts a digest (`repo@sha256:…`) rather than ending user information. */
const DIGEST_AT = /^sha(256|384|512):[0-9a-fA-F]/;

/**
 * The user information (`user:password@`) in a URL or reference as a user may type it,
 * with or without a scheme: what comes before the last `@` that does not start a digest,
 * when that `@` is in the authority (before the first `/`) or is followed by `host/…` (a
 * password with a `/` in it). Undefined when there is none.
 */
export function findUserinfo(input: string): { start: number; end: number; userinfo: string } | undefined {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(input);
  const start = scheme ? scheme[0].length : 0;
  for (let at = input.lastIndexOf('@'); at >= start; at = input.lastIndexOf('@', at - 1)) {
    const after = input.slice(at + 1);
    if (DIGEST_AT.test(after)) continue;
    const slash = input.indexOf('/', start);
    if (slash < 0 || at < slash || after.includes('/')) return { start, end: at, userinfo: input.slice(start, at) };
  }
  return undefined;
}

/** The input with its user information hidden: `user:***@`, or `***@` when there is no `:` (a token). */
export function redactUserinfo(input: string): string {
  const u = findUserinfo(input);
  if (!u) return input;
  const colon = u.userinfo.indexOf(':');
  const shown = colon > 0 ? `${u.userinfo.slice(0, colon)}:***` : '***';
  return input.slice(0, u.start) + shown + input.slice(u.end);
}

/** The refusal of a URL or reference that holds credentials; it shows the URL with them hidden. */
export function credentialsInUrl(input: string): RegistryReferenceError {
  const u = findUserinfo(input);
  const rest = u ? input.slice(u.end + 1) : input;
  const host = rest.split('/')[0] ?? '';
  const login = HOST.test(host) ? host : '<host>';
  return new RegistryReferenceError(
    `'${redactUserinfo(input)}' holds credentials; mk does not take credentials in a URL`,
    `remove them from the URL, then run 'mk login ${login}' or set MK_REGISTRY_USERNAME and MK_REGISTRY_PASSWORD`,
  );
}

// --- address classes ---------------------------------------------------------------------

/**
 * The host name as WHATWG URL parsing leaves it (what undici connects to): lowercase,
 * IPv4 in dotted decimal whatever form it was written in (`0x7f.1`, `2130706433`,
 * `0177.0.0.1`, `127.1` are all `127.0.0.1`), IPv6 compressed and without brackets, a
 * name without its trailing dot. Undefined when it is not a usable host.
 */
export function canonicalHostName(host: string): string | undefined {
  let h = host;
  if (!h.startsWith('[') && isIP(h) === 6) h = `[${h}]`;
  let name: string;
  try {
    const u = new URL(`http://${h}/`);
    if (u.username || u.password || u.pathname !== '/' || u.search || u.hash) return undefined;
    name = u.hostname;
  } catch {
    return undefined;
  }
  if (name.startsWith('[')) return name.slice(1, -1);
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** True when two host[:port] strings name the same host (ports are not compared). */
export function sameHostName(a: string, b: string): boolean {
  const x = canonicalHostName(a);
  return x !== undefined && x === canonicalHostName(b);
}

function ipv4Kind(a: number, b: number, c: number, d: number): string | undefined {
  if (a === 127) return 'loopback';
  if (a === 0) return 'unspecified';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 100 && b >= 64 && b <= 127) return 'shared (CGNAT)';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a === 255 && b === 255 && c === 255 && d === 255) return 'broadcast';
  if (a >= 240) return 'reserved';
  if ((a === 192 && b === 0 && (c === 0 || c === 2)) || (a === 198 && (b === 18 || b === 19)) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return 'reserved';
  return undefined;
}

/** The eight 16-bit groups of a compressed IPv6 address (as canonicalHostName gives it). */
function ipv6Groups(name: string): number[] | undefined {
  const [head, tail, extra] = name.split('::');
  if (extra !== undefined) return undefined;
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

function ipv6Kind(name: string): string | undefined {
  const g = ipv6Groups(name);
  if (!g) return 'reserved';
  const v4 = (hi: number, lo: number) => ipv4Kind(hi >> 8, hi & 0xff, lo >> 8, lo & 0xff);
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(7) && g[7] === 1) return 'loopback';
  if (zeros(8)) return 'unspecified';
  // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d: the IPv4 address decides.
  if (zeros(5) && (g[5] === 0xffff || g[5] === 0)) return v4(g[6]!, g[7]!);
  // NAT64 64:ff9b::/96 embeds an IPv4 address; 64:ff9b:1::/48 is for local use.
  if (g[0] === 0x64 && g[1] === 0xff9b) return g[2] === 1 ? 'private' : g.slice(2, 6).every((x) => x === 0) ? v4(g[6]!, g[7]!) : undefined;
  // 6to4 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD.
  if (g[0] === 0x2002) return v4(g[1]!, g[2]!);
  const first = g[0]!;
  if ((first & 0xfe00) === 0xfc00) return 'private'; // fc00::/7 unique local
  if ((first & 0xffc0) === 0xfe80) return 'link-local'; // fe80::/10
  if ((first & 0xffc0) === 0xfec0) return 'private'; // fec0::/10 site-local (deprecated)
  if ((first & 0xff00) === 0xff00) return 'multicast';
  if (first === 0x2001 && g[1] === 0x0db8) return 'reserved'; // documentation
  if (first === 0x0100 && g.slice(1, 4).every((x) => x === 0)) return 'reserved'; // 100::/64 discard
  return undefined;
}

/** Names that only resolve inside a machine or a network (RFC 6761, RFC 6762, RFC 8375, ICANN .internal). */
function nameKind(name: string): string | undefined {
  if (name === 'localhost' || name.endsWith('.localhost')) return 'loopback';
  if (/(^|\.)(local|internal|home\.arpa)$/.test(name)) return 'private';
  return undefined;
}

/**
 * Why a host (host[:port], in any form a URL accepts) is not a public address: 'loopback',
 * 'private', 'link-local', 'shared (CGNAT)', 'unspecified', 'multicast', 'broadcast',
 * 'reserved'; undefined for a public address or an ordinary DNS name (names are not
 * resolved here). A host that is not a usable URL host counts as 'reserved'.
 */
export function privateAddressKind(host: string): string | undefined {
  const name = canonicalHostName(host);
  if (name === undefined) return 'reserved';
  if (isIP(name) === 4) {
    const [a, b, c, d] = name.split('.').map(Number) as [number, number, number, number];
    return ipv4Kind(a, b, c, d);
  }
  if (isIP(name) === 6) return ipv6Kind(name);
  return nameKind(name);
}

/** True for localhost names, 127.0.0.0/8, ::1, and IPv6 forms of 127.0.0.0/8 (with or without a port). */
export function isLoopbackHost(host: string): boolean {
  return privateAddressKind(host) === 'loopback';
}

/** True for any address that is not public (see privateAddressKind); ordinary DNS names are not. */
export function isPrivateAddress(host: string): boolean {
  return privateAddressKind(host) !== undefined;
}
