/**
 * Values as DVC (Python) sees them: floats print as Python prints them (what an interpolated
 * command contains), compare as Python compares them (what decides a changed param), and a
 * YAML `1.0` stays a float through a lock mk writes.
 */
import { describe, expect, it } from 'vitest';
import { parseYamlText, pyEqual, pyFloatRepr, PyFloat, pyStr } from '../../../src/pipeline/values.js';
import { parseLock, serializeLock } from '../../../src/pipeline/lock.js';

describe('pipeline values', () => {
  it("prints floats as Python's repr does (the numbers checked against CPython 3.11)", () => {
    const cases: Array<[number, string]> = [
      [0.1, '0.1'],
      [1e-5, '1e-05'],
      [1e16, '1e+16'],
      [1, '1.0'],
      [100, '100.0'],
      [1e21, '1e+21'],
      [-0.5, '-0.5'],
      [123456789012345680, '1.2345678901234568e+17'],
      [0.0001, '0.0001'],
      [1.5e-7, '1.5e-07'],
      [2.5e16, '2.5e+16'],
      [1e15, '1000000000000000.0'],
    ];
    for (const [x, py] of cases) expect(pyFloatRepr(x), String(x)).toBe(py);
  });

  it('keeps YAML floats apart from ints, and gives interpolation their Python text', () => {
    const v = parseYamlText('a: 1.0\nb: 1\nc: 1e-5\nd: true\ne: null\nf: 0x10\ng: 3.5\n', 't.yaml') as Record<string, unknown>;
    expect(v.a).toBeInstanceOf(PyFloat);
    expect(v.b).toBe(1);
    expect(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((k) => pyStr(v[k] as never))).toEqual(['1.0', '1', '1e-05', 'true', 'None', '16', '3.5']);
  });

  it('compares as Python does: 1 == 1.0 == True, mappings by key, lists in order', () => {
    expect(pyEqual(1, new PyFloat(1))).toBe(true);
    expect(pyEqual(true, 1)).toBe(true);
    expect(pyEqual('1', 1)).toBe(false);
    expect(pyEqual({ a: [1, 2], b: { c: 'x' } }, { b: { c: 'x' }, a: [1, new PyFloat(2)] })).toBe(true);
    expect(pyEqual([1, 2], [2, 1])).toBe(false);
    expect(pyEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(pyEqual(null, 0)).toBe(false);
  });

  it('a lock keeps 1.0 a float and reads back what it wrote', () => {
    const text = "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    params:\n      params.yaml:\n        train.lr: 1.0\n        train.epochs: 3\n";
    const lf = parseLock(text, 'dvc.lock');
    const out = serializeLock(lf);
    expect(out).toContain('train.lr: 1.0\n');
    expect(out).toContain('train.epochs: 3\n');
    expect(serializeLock(parseLock(out, 'dvc.lock'))).toBe(out);
  });
});
