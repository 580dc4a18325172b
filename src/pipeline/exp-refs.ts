import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MkError, UsageError } from '../errors/index.js';
import { git } from '../git/run.js';
import { applyParamSets, type ParamSet } from './exp-params.js';

/**
 * Experiments as Git refs (mk's own namespace, so DVC's `refs/exps` stays DVC's):
 *
 * - `refs/mk/exps-queue/<name>`: a queued experiment, a commit whose tree is the work tree it was
 *   queued from (tracked files, `git stash create`) with its params set, and whose parent is the
 *   baseline (HEAD then);
 * - `refs/mk/exps-running/<name>`: the same commit while a runner has it (taken atomically);
 * - `refs/mk/exps/<name>`: the result, a commit on the baseline with the pipeline's outputs,
 *   dvc.lock and metrics; `refs/mk/exps-failed/<name>`: the queued commit of a failed run.
 *
 * Each commit says what it is in its message: `mk exp <name>: <sets>`, with the trailers
 * `Mk-Exp: <name>` and `Mk-Exp-Set: <set>` (one per `-S`). Share them with
 * `git push origin 'refs/mk/exps/*'`.
 */
export const EXP_NAMESPACE = 'refs/mk/';
/** Where an experiment is: finished, queued, taken by a runner, or failed. */
export type ExpStatus = 'done' | 'queued' | 'running' | 'failed';
const PREFIX: Readonly<Record<ExpStatus, string>> = { done: 'refs/mk/exps/', queued: 'refs/mk/exps-queue/', running: 'refs/mk/exps-running/', failed: 'refs/mk/exps-failed/' };

export interface Experiment {
  name: string;
  status: ExpStatus;
  /** The result commit (done), else the queued commit. */
  commit: string;
  baseline: string;
  /** The params set for it, as given (`train.lr=0.2`). */
  sets: string[];
  /** When its commit was made (ISO 8601). */
  created: string;
  /** When it was queued (ISO 8601): experiments are listed in that order. */
  queuedAt: string;
}

export function expRef(status: ExpStatus, name: string): string {
  return PREFIX[status] + name;
}

/** Names are what `mk exp apply` is given: letters, digits, '.', '_' and '-', one ref component. */
export function checkExpName(name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/.test(name) || name.endsWith('.lock') || name.includes('..'))
    throw new UsageError(`'${name}' is not a valid experiment name`, "letters, digits, '.', '_' and '-' (not starting with '.' or '-')");
  return name;
}

const SEP = '\x1f';
const END = '\x1e';

/** Every experiment of the repository, oldest first. */
export async function listExperiments(root: string): Promise<Experiment[]> {
  const out = await git(root, ['for-each-ref', `--format=%(refname)${SEP}%(objectname)${SEP}%(committerdate:iso-strict)${SEP}%(parent)${SEP}%(contents)${END}`, 'refs/mk/']);
  const list: Experiment[] = [];
  for (const rec of out.split(END)) {
    const [ref, commit, created, parents, message] = rec.replace(/^\n/, '').split(SEP);
    if (!ref || !commit) continue;
    const status = (Object.keys(PREFIX) as ExpStatus[]).find((s) => ref.startsWith(PREFIX[s]) && !ref.slice(PREFIX[s].length).includes('/'));
    if (!status) continue;
    list.push({
      name: ref.slice(PREFIX[status].length),
      status,
      commit,
      baseline: (parents ?? '').split(' ')[0] ?? '',
      sets: [...(message ?? '').matchAll(/^Mk-Exp-Set: (.*)$/gm)].map((m) => m[1]!),
      created: created ?? '',
      queuedAt: /^Mk-Exp-Queued: (.*)$/m.exec(message ?? '')?.[1] ?? created ?? '',
    });
  }
  return list.sort((a, b) => (a.queuedAt < b.queuedAt ? -1 : a.queuedAt > b.queuedAt ? 1 : a.name < b.name ? -1 : 1));
}

/** A name no experiment has: `exp-` and 6 hex digits, unless `wanted` (then it must be free). */
export async function newExpName(root: string, wanted?: string): Promise<string> {
  const taken = new Set((await listExperiments(root)).map((e) => e.name));
  if (wanted !== undefined) {
    checkExpName(wanted);
    if (taken.has(wanted)) throw new UsageError(`an experiment named '${wanted}' exists already`, `choose another name, or remove it first: 'mk exp remove ${wanted}'`);
    return wanted;
  }
  for (;;) {
    const n = `exp-${randomBytes(3).toString('hex')}`;
    if (!taken.has(n)) return n;
  }
}

export function expMessage(name: string, sets: string[], queuedAt: string, what = 'mk exp'): string {
  return `${what} ${name}${sets.length ? `: ${sets.join(', ')}` : ''}\n\nMk-Exp: ${name}\n${sets.map((s) => `Mk-Exp-Set: ${s}\n`).join('')}Mk-Exp-Queued: ${queuedAt}\n`;
}

/**
 * Queues an experiment: the work tree's tracked files as they are now (uncommitted changes
 * included) with the params set, as a commit on HEAD under `refs/mk/exps-queue/<name>`. Nothing
 * in the work tree, the index or HEAD changes.
 */
export async function queueExperiment(root: string, name: string, sets: ParamSet[]): Promise<Experiment> {
  const baseline = (await git(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { okCodes: [1] })).trim();
  if (!baseline) throw new MkError('ENOCOMMIT', 'this repository has no commit yet: an experiment starts from one', { hint: "commit the project ('git commit'), then run the experiment" });
  const snapshot = (await git(root, ['stash', 'create'])).trim() || baseline;
  const dir = mkdtempSync(join(tmpdir(), 'mk-exp-'));
  try {
    const env = { ...process.env, GIT_INDEX_FILE: join(dir, 'index') };
    await git(root, ['read-tree', snapshot], { env });
    const byFile = new Map<string, ParamSet[]>();
    for (const s of sets) byFile.set(s.file, [...(byFile.get(s.file) ?? []), s]);
    for (const [file, fileSets] of byFile) {
      const entry = (await git(root, ['ls-files', '-s', '--', file], { env })).trim();
      if (entry && !/^100(644|755) /.test(entry)) throw new UsageError(`-S ${fileSets[0]!.text}: ${file} is not a regular file in Git`);
      const text = entry ? await git(root, ['cat-file', 'blob', entry.split(' ')[1]!]) : undefined;
      const blob = (await git(root, ['hash-object', '-w', '--no-filters', '--stdin'], { input: applyParamSets(file, text, fileSets) })).trim();
      await git(root, ['update-index', '--add', '--cacheinfo', `${entry ? entry.split(' ')[0] : '100644'},${blob},${file}`], { env });
    }
    const tree = (await git(root, ['write-tree'], { env })).trim();
    const texts = sets.map((s) => s.text);
    const queuedAt = new Date().toISOString();
    const commit = (await git(root, ['commit-tree', tree, '-p', baseline, '-F', '-'], { input: expMessage(name, texts, queuedAt, 'mk exp (queued)') })).trim();
    await git(root, ['update-ref', '-m', `mk exp queue ${name}`, expRef('queued', name), commit, '0'.repeat(commit.length)]);
    return { name, status: 'queued', commit, baseline, sets: texts, created: queuedAt, queuedAt };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Moves an experiment's ref from one state to another in one transaction (fails if it moved meanwhile). */
export async function moveExperiment(root: string, name: string, from: ExpStatus, fromCommit: string, to: ExpStatus, toCommit: string): Promise<boolean> {
  try {
    await git(root, ['update-ref', '-m', `mk exp ${to} ${name}`, '--stdin'], { input: `delete ${expRef(from, name)} ${fromCommit}\ncreate ${expRef(to, name)} ${toCommit}\n` });
    return true;
  } catch {
    return false;
  }
}

/** Deletes an experiment's refs, whatever its state. True if there was one. */
export async function deleteExperiment(root: string, name: string): Promise<boolean> {
  const found = (await listExperiments(root)).filter((e) => e.name === name);
  for (const e of found) await git(root, ['update-ref', '-d', expRef(e.status, name), e.commit]);
  return found.length > 0;
}
