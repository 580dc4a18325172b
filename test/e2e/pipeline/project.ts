/**
 * A four-stage ML pipeline for the pipeline stories: prepare (raw CSV → a folder of splits),
 * featurize (splits → a folder of features), train (features + params → model.pkl) and
 * evaluate (model + features → metrics.json, kept by Git). Small Python scripts; each appends
 * its stage's name to the file $TRACE names, so a test can tell which stages really ran.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PREPARE = `import csv, os, sys
os.makedirs('data/prepared', exist_ok=True)
rows = list(csv.reader(open('data/raw.csv')))
head, body = rows[0], rows[1:]
split = float(sys.argv[1])
cut = int(len(body) * split)
for name, part in (('test.csv', body[:cut]), ('train.csv', body[cut:])):
    with open(os.path.join('data/prepared', name), 'w', newline='') as f:
        w = csv.writer(f, lineterminator='\\n')
        w.writerow(head)
        w.writerows(part)
open(os.environ['TRACE'], 'a').write('prepare\\n')
`;

export const FEATURIZE = `import csv, os
os.makedirs('data/features', exist_ok=True)
for name in ('train.csv', 'test.csv'):
    rows = list(csv.reader(open(os.path.join('data/prepared', name))))[1:]
    with open(os.path.join('data/features', name), 'w') as f:
        for r in rows:
            x = [float(v) for v in r[:-1]]
            f.write(','.join(str(v) for v in x + [sum(x), float(r[-1])]) + '\\n')
open(os.environ['TRACE'], 'a').write('featurize\\n')
`;

export const TRAIN = `import json, os, sys
p = {'lr': float(sys.argv[1]), 'epochs': int(sys.argv[2])}
rows = [[float(v) for v in l.split(',')] for l in open('data/features/train.csv')]
w = [0.0] * (len(rows[0]) - 1)
for _ in range(p['epochs']):
    for r in rows:
        pred = sum(a * b for a, b in zip(w, r[:-1]))
        w = [a - p['lr'] * (pred - r[-1]) * b for a, b in zip(w, r[:-1])]
json.dump({'weights': w, 'lr': p['lr']}, open('model.pkl', 'w'))
open(os.environ['TRACE'], 'a').write('train\\n')
`;

export const EVALUATE = `import json, os
m = json.load(open('model.pkl'))
rows = [[float(v) for v in l.split(',')] for l in open('data/features/test.csv')]
err = sum((sum(a * b for a, b in zip(m['weights'], r[:-1])) - r[-1]) ** 2 for r in rows) / len(rows)
json.dump({'mse': round(err, 6)}, open('metrics.json', 'w'))
open(os.environ['TRACE'], 'a').write('evaluate\\n')
`;

export const PIPELINE = `stages:
  prepare:
    cmd: python3 prepare.py \${prepare.split}
    deps:
    - prepare.py
    - data/raw.csv
    params:
    - prepare.split
    outs:
    - data/prepared
  featurize:
    cmd: python3 featurize.py
    deps:
    - featurize.py
    - data/prepared
    outs:
    - data/features
  train:
    cmd: python3 train.py \${train.lr} \${train.epochs}
    deps:
    - train.py
    - data/features
    params:
    - train.lr
    - train.epochs
    outs:
    - model.pkl
  evaluate:
    cmd: python3 evaluate.py
    deps:
    - evaluate.py
    - model.pkl
    - data/features
    metrics:
    - metrics.json:
        cache: false
`;

export const PARAMS = 'prepare:\n  split: 0.25\ntrain:\n  lr: 0.01\n  epochs: 3\n';

/** A raw data file: `n` rows of three features and a target (deterministic for a seed). */
export function rawCsv(n: number, seed: number): string {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648).toFixed(4);
  const lines = ['a,b,c,y'];
  for (let i = 0; i < n; i++) lines.push(`${rnd()},${rnd()},${rnd()},${rnd()}`);
  return lines.join('\n') + '\n';
}

/** Writes the scripts, params, pipeline and raw data into `dir`. */
export function writeProject(dir: string): void {
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'prepare.py'), PREPARE);
  writeFileSync(join(dir, 'featurize.py'), FEATURIZE);
  writeFileSync(join(dir, 'train.py'), TRAIN);
  writeFileSync(join(dir, 'evaluate.py'), EVALUATE);
  writeFileSync(join(dir, 'params.yaml'), PARAMS);
  writeFileSync(join(dir, 'dvc.yaml'), PIPELINE);
  writeFileSync(join(dir, 'data', 'raw.csv'), rawCsv(40, 7));
}

/** Reads the trace (the stages that ran since it was last cleared) and clears it. */
export function takeTrace(file: string): string[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    /* nothing ran */
  }
  writeFileSync(file, '');
  return text.split('\n').filter(Boolean);
}

export function setParam(dir: string, from: string, to: string): void {
  const f = join(dir, 'params.yaml');
  const t = readFileSync(f, 'utf8');
  if (!t.includes(from)) throw new Error(`params.yaml has no '${from}'`);
  writeFileSync(f, t.replace(from, to));
}

export function note(file: string, s: string): void {
  appendFileSync(file, s);
}
