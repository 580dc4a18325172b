/**
 * The repositories the fault trials work on: built once per category from one base (a
 * dataset of small files, a large model file, a small tracked file a user edits, code),
 * with seeded contents so a failing trial replays with the same bytes.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { put, randomBytesFrom, rng } from '../../support/files.js';
import { copyRepo } from '../../support/repo.js';
import { gitOk, mkOk } from './support.js';

/** Files of the dataset `ds/` (3-12 KiB each: ~2.2 MiB, two or three packs). */
export const DS_FILES = 300;
/** The large model file: over raw_threshold, and large enough for a kill to land mid-write. */
export const BIG = 16 * 1024 * 1024;
/** What the trials compare: the tracked data. `other.bin` is the file users edit. */
export const DATA = ['ds', 'weights.bin', 'other.bin'];
export const MOVING = ['ds', 'weights.bin'];

export const dsName = (i: number) => `ds/s${i % 7}/f${String(i).padStart(3, '0')}.bin`;

export function writeSmall(root: string, rand: () => number, i: number): void {
  put(join(root, dsName(i)), randomBytesFrom(rand, 3000 + Math.floor(rand() * 9000)));
}

/** Rewrites `k` files of ds/ picked at random. */
export function changeDs(root: string, rand: () => number, k: number): void {
  for (let j = 0; j < k; j++) writeSmall(root, rand, Math.floor(rand() * DS_FILES));
}

export function writeBig(root: string, rand: () => number, name = 'weights.bin', size = BIG): void {
  put(join(root, name), randomBytesFrom(rand, size));
}

/**
 * A second version of every moving artifact: every file of ds/ rewritten, ten removed, ten
 * added in a new folder, a new weights.bin. Not committed.
 */
export function versionB(root: string, rand: () => number): void {
  for (let i = 0; i < DS_FILES; i++) writeSmall(root, rand, i);
  for (let i = 0; i < 10; i++) rmSync(join(root, dsName(i)));
  for (let i = 0; i < 10; i++) put(join(root, `ds/new/g${i}.bin`), randomBytesFrom(rand, 5000 + i * 100));
  writeBig(root, rand);
}

/** git init, identity, `mk init`, version A of the data tracked and committed (no hooks). */
export async function buildBase(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await gitOk(dir, ['init', '-q', '-b', 'main']);
  await gitOk(dir, ['config', 'user.name', 'Test']);
  await gitOk(dir, ['config', 'user.email', 'test@example.com']);
  await gitOk(dir, ['config', 'commit.gpgsign', 'false']);
  await mkOk(dir, ['init', '--no-filter']);
  const rand = rng(20240611);
  for (let i = 0; i < DS_FILES; i++) writeSmall(dir, rand, i);
  writeBig(dir, rand);
  put(join(dir, 'other.bin'), randomBytesFrom(rand, 4096));
  put(join(dir, 'train.py'), 'print("train")\n');
  await mkOk(dir, ['add', 'ds', 'weights.bin', 'other.bin']);
  await gitOk(dir, ['add', '-A']);
  await gitOk(dir, ['commit', '-qm', 'A']);
}

/** A working copy of a template repository (its own temporary directory). */
export function copy(template: string): { dir: string; cleanup: () => void } {
  return copyRepo(template);
}

export function head(dir: string, rev = 'HEAD'): Promise<string> {
  return gitOk(dir, ['rev-parse', rev]).then((s) => s.trim());
}

/** The text of a file at a revision (a pointer, usually). */
export function show(dir: string, rev: string, path: string): Promise<string> {
  return gitOk(dir, ['show', `${rev}:${path}`]);
}
