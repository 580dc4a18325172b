/**
 * Run cache entries are content-addressed and checked before use: the key is the sha256 of
 * the inputs (the same inputs give the same key whatever their order), and an entry read from
 * anywhere is refused when it claims another key, when its inputs do not give its key, or
 * when its outputs are malformed.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, entryBytes, parseEntry, runKey, type RunEntry } from '../../../src/pipeline/run-cache.js';
import { PyFloat } from '../../../src/pipeline/values.js';

const inputs = {
  cmd: 'python train.py',
  deps: [
    { path: 'data', md5: 'b'.repeat(32) + '.dir' },
    { path: 'train.py', md5: 'a'.repeat(32) },
  ],
  params: { 'params.yaml': { 'train.lr': new PyFloat(1) } },
};
const key = runKey(inputs);
const entry: RunEntry = {
  version: 1,
  key,
  stage: 'train',
  inputs,
  outs: [
    { path: 'model.pkl', md5: 'c'.repeat(32), size: 6, cache: true, pointer: { type: 'file', digest: 'sha256:' + 'd'.repeat(64), size: 6 } },
    { path: 'metrics.json', md5: 'e'.repeat(32), size: 2, cache: false, blob: { digest: 'sha256:' + 'f'.repeat(64), size: 2 } },
  ],
};

describe('run cache entries', () => {
  it('a key is the digest of the inputs, in any order', () => {
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(runKey({ ...inputs, deps: [...inputs.deps].reverse() })).toBe(key);
    expect(runKey({ ...inputs, params: { 'params.yaml': { 'train.lr': 1 } } })).not.toBe(key); // 1.0 and 1 print differently in a command
    expect(runKey({ ...inputs, cmd: 'python train.py --x' })).not.toBe(key);
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
  });

  it('an entry reads back as written', () => {
    const back = parseEntry(entryBytes(entry), key);
    expect(back).toEqual(entry);
  });

  const tamper = (f: (o: Record<string, any>) => void) => {
    const o = JSON.parse(entryBytes(entry).toString()) as Record<string, any>;
    f(o);
    return Buffer.from(JSON.stringify(o));
  };
  const refusals: Array<[string, Buffer, string, RegExp]> = [
    ['served under another key', entryBytes(entry), '0'.repeat(64), /another key/],
    ['inputs that do not give its key', tamper((o) => (o.inputs.cmd = 'rm -rf /')), key, /do not give its key/],
    ['an output without a digest', tamper((o) => delete o.outs[0].pointer.digest), key, /no valid pointer/],
    ['an output with a bad md5', tamper((o) => (o.outs[1].md5 = 'nope')), key, /malformed/],
    ['not JSON', Buffer.from('{'), key, /not JSON/],
    ['too large', Buffer.alloc(2 << 20, 32), key, /too large/],
  ];
  for (const [what, bytes, k, msg] of refusals)
    it(`refuses an entry with ${what}`, () => {
      const r = parseEntry(bytes, k);
      expect(typeof r).toBe('string');
      expect(r as string).toMatch(msg);
    });
});
