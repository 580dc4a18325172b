/**
 * `mk exp run -S [<file>:]<key>=<value>`: read as DVC reads it (params.yaml by default, the
 * value as YAML), and applied to YAML (comments kept), JSON (indentation kept) and TOML files.
 */
import { describe, expect, it } from 'vitest';
import { applyParamSets, parseParamSet } from '../../../src/pipeline/exp-params.js';

describe('-S', () => {
  it('reads the file, the dotted key and a YAML value', () => {
    expect(parseParamSet('train.lr=0.2')).toEqual({ file: 'params.yaml', key: 'train.lr', value: 0.2, text: 'train.lr=0.2' });
    expect(parseParamSet('conf/hp.json:model.layers=[64, 32]')).toMatchObject({ file: 'conf/hp.json', key: 'model.layers', value: [64, 32] });
    expect(parseParamSet('opt=adam').value).toBe('adam');
    expect(parseParamSet('flag=true').value).toBe(true);
    expect(parseParamSet('name=a=b').value).toBe('a=b');
    for (const bad of ['train.lr', '=1', 'a..b=1', '../x.yaml:a=1', '.git/x.yaml:a=1', 'params.py:a=1']) expect(() => parseParamSet(bad), bad).toThrow();
  });

  it('sets YAML keeping its comments, adds a key that is not there, and indexes lists', () => {
    const text = '# training\ntrain:\n  lr: 0.1 # learning rate\n  layers: [8, 4]\nseed: 1\n';
    const out = applyParamSets('params.yaml', text, [parseParamSet('train.lr=0.3'), parseParamSet('train.layers.1=16'), parseParamSet('train.momentum=0.9')]);
    expect(out).toContain('# training');
    expect(out).toMatch(/lr: 0\.3 # learning rate/);
    expect(out).toMatch(/layers: \[ 8, 16 \]/);
    expect(out).toMatch(/momentum: 0\.9/);
    expect(out).toMatch(/^seed: 1$/m);
    expect(applyParamSets('new.yaml', undefined, [parseParamSet('new.yaml:a.b=2')])).toBe('a:\n  b: 2\n');
  });

  it('sets JSON keeping its indentation, and TOML', () => {
    expect(applyParamSets('p.json', '{\n    "train": {"lr": 0.1}\n}\n', [parseParamSet('p.json:train.lr=0.5')])).toBe('{\n    "train": {\n        "lr": 0.5\n    }\n}\n');
    expect(applyParamSets('p.toml', '[train]\nlr = 0.1\n', [parseParamSet('p.toml:train.lr=0.5')])).toMatch(/\[train\]\nlr = 0\.5/);
    expect(() => applyParamSets('p.json', '{oops', [parseParamSet('p.json:a=1')])).toThrow(/not valid JSON/);
  });
});
