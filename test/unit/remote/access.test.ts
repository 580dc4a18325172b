/**
 * Access per dataset (src/remote/access.ts): which registry answers make data withheld, the one
 * line a command prints, strict access (flag, MK_STRICT_ACCESS, access.strict), and the record of
 * what a clone could not read (.git/mk/no-access.json), which must survive a hostile or broken
 * file and stay apart from the signature gate's withheld.json.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deniedReason, enforceAccess, readWithheld, recordWithheld, strictAccess, withheldFor, withheldLine, withheldOf, type Withheld } from '../../../src/remote/access.js';
import { RegistryAuthError, RegistryError, RegistryNotFoundError } from '../../../src/stores/registry/errors.js';
import { isMkError, MkError } from '../../../src/errors/index.js';
import { DEFAULT_CONFIG, type RemoteConfig } from '../../../src/repo/config.js';
import { readWithheld as readSignatureWithheld, updateWithheld } from '../../../src/repo/withheld.js';

const clinical: RemoteConfig = { name: 'clinical', url: 'oci://registry.example.com/team/clinical', paths: ['data/clinical/**'] };
const w = (path: string, reason = '403 DENIED', repository = 'registry.example.com/team/clinical'): Withheld => ({ path, remote: 'clinical', repository, reason });

describe('what a registry answer means', () => {
  it('401 and 403 from the registry are a refusal, with its OCI code', () => {
    expect(deniedReason(new RegistryAuthError('no', { status: 403, ociCode: 'DENIED' }))).toBe('403 DENIED');
    expect(deniedReason(new RegistryAuthError('no', { status: 401, ociCode: 'UNAUTHORIZED' }))).toBe('401 UNAUTHORIZED');
    expect(deniedReason(new RegistryAuthError('no', { status: 401 }))).toBe('401 UNAUTHORIZED');
    expect(deniedReason(new RegistryAuthError('no', { status: 403 }))).toBe('403 FORBIDDEN');
  });

  it('anything else is not: a missing blob, a server error, no credentials at all, a bug', () => {
    expect(deniedReason(new RegistryNotFoundError('gone'))).toBeUndefined();
    expect(deniedReason(new RegistryError('boom', { status: 500 }))).toBeUndefined();
    expect(deniedReason(new RegistryAuthError('asked for credentials and had none'))).toBeUndefined();
    expect(deniedReason(new MkError('EAUTH', 'no status'))).toBeUndefined();
    expect(deniedReason(new Error('403'))).toBeUndefined();
    expect(deniedReason(undefined)).toBeUndefined();
  });
});

describe('the one line', () => {
  it('names the paths (sorted), the repository and the reason', () => {
    expect(withheldLine(withheldOf(clinical, '/repo', 'data/clinical', '403 DENIED'))).toBe('withheld data/clinical: no read access to registry.example.com/team/clinical (403 DENIED)');
    expect(withheldLine([w('models/private/a.bin'), w('data/clinical'), w('data/clinical')])).toBe(
      'withheld data/clinical, models/private/a.bin: no read access to registry.example.com/team/clinical (403 DENIED)',
    );
  });

  it('many paths are counted, not listed; two repositories stay one line', () => {
    const line = withheldLine([w('d/1'), w('d/2'), w('d/3'), w('d/4'), w('d/5'), w('x', '401 UNAUTHORIZED', 'r.example.com/other')]);
    expect(line).not.toContain('\n');
    expect(line).toBe('withheld d/1, d/2, d/3 and 2 more: no read access to registry.example.com/team/clinical (403 DENIED); withheld x: no read access to r.example.com/other (401 UNAUTHORIZED)');
  });
});

describe('strict access', () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.MK_STRICT_ACCESS;
    delete process.env.MK_STRICT_ACCESS;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.MK_STRICT_ACCESS;
    else process.env.MK_STRICT_ACCESS = saved;
  });

  it('the flag wins over MK_STRICT_ACCESS, which wins over access.strict', () => {
    const strictConfig = { config: { ...DEFAULT_CONFIG, strictAccess: true } };
    const lax = { config: DEFAULT_CONFIG };
    expect(strictAccess(lax)).toBe(false);
    expect(strictAccess(strictConfig)).toBe(true);
    process.env.MK_STRICT_ACCESS = '0';
    expect(strictAccess(strictConfig)).toBe(false);
    process.env.MK_STRICT_ACCESS = 'false';
    expect(strictAccess(strictConfig)).toBe(false);
    process.env.MK_STRICT_ACCESS = '1';
    expect(strictAccess(lax)).toBe(true);
    expect(strictAccess(lax, false)).toBe(false);
    delete process.env.MK_STRICT_ACCESS;
    expect(strictAccess(lax, true)).toBe(true);
    expect(strictAccess(undefined)).toBe(false);
  });

  it('makes withheld data EWITHHELD, the same one line, exit 1; nothing withheld is never an error', () => {
    const strictConfig = { config: { ...DEFAULT_CONFIG, strictAccess: true } };
    expect(() => enforceAccess(strictConfig, [])).not.toThrow();
    expect(() => enforceAccess({ config: DEFAULT_CONFIG }, [w('data/clinical')])).not.toThrow();
    try {
      enforceAccess(strictConfig, [w('data/clinical')]);
      expect.unreachable();
    } catch (e) {
      expect(isMkError(e, 'EWITHHELD')).toBe(true);
      expect((e as MkError).message).toBe('withheld data/clinical: no read access to registry.example.com/team/clinical (403 DENIED)');
      expect((e as MkError).exitCode).toBe(1);
    }
  });
});

describe('the record of what a clone could not read', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mk-access-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('remembers what was withheld and forgets what could be read since', () => {
    recordWithheld(dir, [w('data/clinical'), w('models/private/a.bin')]);
    expect([...readWithheld(dir).keys()]).toEqual(['data/clinical', 'models/private/a.bin']);
    recordWithheld(dir, [], ['data/clinical']);
    expect([...readWithheld(dir).keys()]).toEqual(['models/private/a.bin']);
  });

  it('says withheld only while the artifact is routed to the remote that withheld it', () => {
    recordWithheld(dir, [w('data/clinical')]);
    const rec = readWithheld(dir);
    expect(withheldFor(rec, 'data/clinical', clinical)?.reason).toBe('403 DENIED');
    expect(withheldFor(rec, 'data/clinical', { ...clinical, name: 'genomics' })).toBeUndefined();
    expect(withheldFor(rec, 'data/clinical', undefined)).toBeUndefined();
  });

  it('a broken or hostile file is an empty record, never a crash', () => {
    for (const text of ['{', '{"data/clinical": {"digest": "x", "reason": "y"}}', '[1, null, {"path": 3}]', '[{"path":"a","remote":"r","repository":"h/r"}]']) {
      writeFileSync(join(dir, 'no-access.json'), text);
      expect(readWithheld(dir).size).toBe(0);
    }
  });

  it("is kept apart from the signature gate's record: each keeps its entries when the other writes", () => {
    updateWithheld(dir, { 'models/m.bin': { digest: 'sha256:' + 'a'.repeat(64), reason: 'not signed' } }, []);
    recordWithheld(dir, [w('data/clinical')]);
    expect(Object.keys(readSignatureWithheld(dir))).toEqual(['models/m.bin']);
    expect([...readWithheld(dir).keys()]).toEqual(['data/clinical']);
    expect(JSON.parse(readFileSync(join(dir, 'no-access.json'), 'utf8'))).toHaveLength(1);
  });
});
