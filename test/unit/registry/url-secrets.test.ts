/**
 * User information in a URL or reference (a password typed into it) is found wherever it can
 * hide and never echoed: references and remote URLs holding it are refused. (The CLI's side:
 * test/e2e/registry/url-secrets.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { parseRemoteUrl } from '../../../src/remote/url.js';
import { findUserinfo, parseRegistryReference, redactUserinfo } from '../../../src/stores/registry/reference.js';

const SECRET = 'url-Secr3t-9f2e';

describe('finding and hiding user information', () => {
  it('finds it with or without a scheme, with @ or / in the password, and not in a digest', () => {
    expect(redactUserinfo('oci://u:p@h/r')).toBe('oci://u:***@h/r');
    expect(redactUserinfo('oci://u:p@ss@h/r')).toBe('oci://u:***@h/r');
    expect(redactUserinfo('oci://u:p/ss@h/r')).toBe('oci://u:***@h/r');
    expect(redactUserinfo('oci://tok@h/r')).toBe('oci://***@h/r');
    expect(redactUserinfo('u:p@h/r:t')).toBe('u:***@h/r:t');
    expect(redactUserinfo('https://u:p@h')).toBe('https://u:***@h');
    const digest = 'sha256:' + 'a'.repeat(64);
    expect(findUserinfo(`h/r@${digest}`)).toBeUndefined();
    expect(findUserinfo(`oci://h:5000/team/r@${digest}`)).toBeUndefined();
    expect(redactUserinfo(`u:p@h/r@${digest}`)).toBe(`u:***@h/r@${digest}`);
    expect(findUserinfo('h/r@notadigest')).toBeUndefined();
  });

  it('parseRegistryReference and parseRemoteUrl refuse it without echoing it', () => {
    for (const input of [`oci://u:${SECRET}@h/r`, `u:${SECRET}@h/r:t`, `u:${SECRET}@h`, `oci://u:x/${SECRET}@h/r`]) {
      expect(() => parseRegistryReference(input), input).toThrow(/holds credentials/);
      try {
        parseRegistryReference(input);
      } catch (e) {
        expect(String((e as Error).message) + (e as { hint?: string }).hint).not.toContain(SECRET);
      }
      expect(() => parseRemoteUrl(input, '/tmp'), input).toThrow(/holds credentials/);
    }
    // A folder with @ in its name is still a path.
    expect(parseRemoteUrl('./data@2024/layout', '/tmp')).toEqual({ type: 'layout', path: '/tmp/data@2024/layout' });
  });
});
