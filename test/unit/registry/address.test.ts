/**
 * The address classifier behind the token realm rule: every way of writing a loopback,
 * private, link-local or otherwise non-public address that a URL accepts (WHATWG URL, as
 * undici parses it, turns `0x7f.1`, `2130706433`, `0177.0.0.1` and `127.1` into 127.0.0.1
 * and `[::ffff:127.0.0.1]` into `[::ffff:7f00:1]`) is recognised; public addresses and
 * ordinary names are not.
 */
import { describe, expect, it } from 'vitest';
import { canonicalHostName, isLoopbackHost, isPrivateAddress, privateAddressKind, sameHostName } from '../../../src/stores/registry/reference.js';

/** host → expected kind (undefined = public). Each is also tried with a port. */
const CASES: Array<[string, string | undefined]> = [
  // IPv4 loopback, in every form a URL accepts
  ['127.0.0.1', 'loopback'],
  ['127.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['0x7f.1', 'loopback'],
  ['0x7f000001', 'loopback'],
  ['2130706433', 'loopback'],
  ['0177.0.0.1', 'loopback'],
  ['017700000001', 'loopback'],
  ['127.0.0.1.', 'loopback'],
  ['%31%32%37.0.0.1', 'loopback'],
  // names
  ['localhost', 'loopback'],
  ['LOCALHOST', 'loopback'],
  ['localhost.', 'loopback'],
  ['api.localhost', 'loopback'],
  ['api.localhost.', 'loopback'],
  ['printer.local', 'private'],
  ['metadata.google.internal', 'private'],
  ['nas.home.arpa', 'private'],
  ['registry.example.com', undefined],
  ['localhost.example.com', undefined],
  ['internal.example.com', undefined],
  // IPv6
  ['[::1]', 'loopback'],
  ['[0:0:0:0:0:0:0:1]', 'loopback'],
  ['[::]', 'unspecified'],
  ['[::ffff:127.0.0.1]', 'loopback'],
  ['[::ffff:7f00:1]', 'loopback'],
  ['[::127.0.0.1]', 'loopback'],
  ['[::ffff:10.1.2.3]', 'private'],
  ['[::ffff:169.254.169.254]', 'link-local'],
  ['[::ffff:8.8.8.8]', undefined],
  ['[64:ff9b::127.0.0.1]', 'loopback'],
  ['[64:ff9b::a9fe:a9fe]', 'link-local'],
  ['[64:ff9b:1::1]', 'private'],
  ['[2002:7f00:1::]', 'loopback'],
  ['[2002:a00:1::1]', 'private'],
  ['[fc00::]', 'private'],
  ['[fd12:3456::1]', 'private'],
  ['[fe80::]', 'link-local'],
  ['[fe80::1]', 'link-local'],
  ['[febf::1]', 'link-local'],
  ['[fec0::1]', 'private'],
  ['[ff02::1]', 'multicast'],
  ['[2001:db8::1]', 'reserved'],
  ['[2606:4700::1111]', undefined],
  ['[2a00:1450::1]', undefined],
  // IPv4 ranges
  ['0.0.0.0', 'unspecified'],
  ['0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['012.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.15.255.255', undefined],
  ['172.32.0.0', undefined],
  ['192.168.1.1', 'private'],
  ['0xc0a80101', 'private'],
  ['169.254.169.254', 'link-local'],
  ['2852039166', 'link-local'],
  ['100.64.0.1', 'shared (CGNAT)'],
  ['100.127.255.255', 'shared (CGNAT)'],
  ['100.63.255.255', undefined],
  ['100.128.0.0', undefined],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['8.8.8.8', undefined],
  ['1.1.1.1', undefined],
  ['93.184.216.34', undefined],
  ['11.0.0.1', undefined],
];

describe('privateAddressKind', () => {
  it.each(CASES)('%s is %s', (host, kind) => {
    expect(privateAddressKind(host)).toBe(kind);
    expect(privateAddressKind(`${host}:5000`)).toBe(kind);
    expect(isPrivateAddress(host)).toBe(kind !== undefined);
    expect(isLoopbackHost(host)).toBe(kind === 'loopback');
  });

  it('agrees with what a realm URL holds after WHATWG parsing', () => {
    for (const [host, kind] of CASES) {
      const url = new URL(`http://${host}:5000/token`);
      expect(privateAddressKind(url.host), `${host} → ${url.host}`).toBe(kind);
    }
  });

  it('counts a host that is not a usable URL host as non-public', () => {
    expect(privateAddressKind('[fe80::1%25eth0]')).toBe('reserved');
    expect(privateAddressKind('a b')).toBe('reserved');
  });
});

describe('host names', () => {
  it('are compared as a URL would connect to them, ports aside', () => {
    expect(canonicalHostName('0x7f.1:5000')).toBe('127.0.0.1');
    expect(canonicalHostName('[0:0::1]')).toBe('::1');
    expect(canonicalHostName('::1')).toBe('::1');
    expect(canonicalHostName('Registry.Example.COM.')).toBe('registry.example.com');
    expect(canonicalHostName('127.0.0.1:99999')).toBeUndefined();
    expect(sameHostName('127.0.0.1:5000', '2130706433:6000')).toBe(true);
    expect(sameHostName('localhost:5000', 'LOCALHOST.:5001')).toBe(true);
    expect(sameHostName('localhost:5000', '127.0.0.1:5000')).toBe(false);
    expect(sameHostName('[::1]:5000', '[::ffff:7f00:1]:5000')).toBe(false);
  });
});
