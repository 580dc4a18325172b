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
    throw new RegistryReferenceError(
      `invalid repository name '${name}'`,
      'use lowercase letters, digits and . _ - separators, with / between path components',
    );
  }
}

export function checkTag(tag: string): void {
  if (!isValidTag(tag)) {
    throw new RegistryReferenceError(`invalid tag '${tag}'`, 'a tag is 1-128 characters of [A-Za-z0-9_.-] and cannot start with . or -');
  }
}

export function checkHost(host: string): void {
  if (!HOST.test(host)) throw new RegistryReferenceError(`invalid registry host '${host}'`, 'write it as host or host:port');
}

/**
 * Parses `oci://host[:port]/repository[:tag][@digest]` (the `oci://` prefix is optional).
 * User information (`user:pass@`) is refused, and never echoed back.
 */
export function parseRegistryReference(input: string): RegistryReference {
  let s = input.trim();
  if (s.startsWith('oci://')) s = s.slice(6);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    throw new RegistryReferenceError(`unsupported scheme in '${s.replace(/\/\/[^/]*@/, '//…@')}'`, 'registry remotes are written oci://host[:port]/repository');
  }
  const slash = s.indexOf('/');
  if (slash <= 0) throw new RegistryReferenceError(`'${input.replace(/\/\/[^/]*@/, '//…@')}' has no repository`, 'write oci://host[:port]/repository');
  const host = s.slice(0, slash);
  if (host.includes('@')) {
    throw new RegistryReferenceError('credentials in a registry URL are not supported', "log in with 'mk login <host>' or set MK_REGISTRY_USERNAME and MK_REGISTRY_PASSWORD");
  }
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

/** True for localhost, 127.0.0.0/8 and ::1 (with or without a port). */
export function isLoopbackHost(host: string): boolean {
  const name = hostName(host).toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || name === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(name);
  return false;
}

/** True for loopback, RFC 1918, link-local and unique-local addresses (not names). */
export function isPrivateAddress(host: string): boolean {
  const name = hostName(host).toLowerCase();
  if (isLoopbackHost(name)) return true;
  if (isIP(name) === 4) {
    const [a, b] = name.split('.').map(Number) as [number, number];
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || a === 0;
  }
  if (isIP(name) === 6) return /^(fc|fd|fe8|fe9|fea|feb)/.test(name);
  return false;
}
