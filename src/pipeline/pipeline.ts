import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ignore from 'ignore';
import { git } from '../git/run.js';
import { buildDag, type Dag } from './dag.js';
import { PipelineError } from './errors.js';
import { readLock, type LockFile } from './lock.js';
import { Md5Hasher, readSmall } from './md5.js';
import { parsePipeline, PIPELINE_FILE, type Stage } from './stages.js';
import { MAX_PIPELINE_FILE } from './values.js';

/** The stages of a work tree: every dvc.yaml (the root one, and any below it that Git sees), parsed and linked. */
export interface Pipeline {
  root: string;
  files: string[];
  stages: Stage[];
  dag: Dag;
}

/**
 * The pipeline files of the work tree: `dvc.yaml` at the root and in any folder below that
 * Git tracks or would track (ignored folders, such as tracked data, are not searched).
 */
export async function pipelineFiles(root: string): Promise<string[]> {
  const out = await git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', PIPELINE_FILE, `*/${PIPELINE_FILE}`]);
  const files = [...new Set(out.split('\0').filter((f) => f === PIPELINE_FILE || f.endsWith(`/${PIPELINE_FILE}`)))];
  return files.sort((a, b) => (a === PIPELINE_FILE ? -1 : b === PIPELINE_FILE ? 1 : a < b ? -1 : a > b ? 1 : 0));
}

/** Reads repository files for the pipeline's `vars` and params (undefined: not a regular file). */
export function workTreeReader(root: string): (rel: string) => Uint8Array | undefined {
  return (rel) => (rel === '..' || rel.startsWith('../') ? undefined : readSmall(join(root, ...rel.split('/')), MAX_PIPELINE_FILE));
}

/** Loads the pipeline of a work tree; undefined when it has no pipeline file. */
export async function loadPipeline(root: string): Promise<Pipeline | undefined> {
  const files = await pipelineFiles(root);
  if (!files.length) return undefined;
  const read = workTreeReader(root);
  const stages: Stage[] = [];
  for (const file of files) {
    const bytes = read(file);
    if (!bytes) continue;
    stages.push(...parsePipeline({ file, text: Buffer.from(bytes).toString('utf8'), read }));
  }
  return { root, files, stages, dag: buildDag(stages) };
}

/** Like loadPipeline, but a work tree without a pipeline file is an error. */
export async function requirePipeline(root: string): Promise<Pipeline> {
  const p = await loadPipeline(root);
  if (!p) throw new PipelineError(`no ${PIPELINE_FILE} in this repository`, `describe the stages in ${PIPELINE_FILE} (docs/guides/pipelines.md)`);
  return p;
}

/** The lock files of a pipeline, read once each. */
export class Locks {
  private readonly map = new Map<string, LockFile>();
  constructor(private readonly root: string) {}

  of(stage: Stage): LockFile {
    let lf = this.map.get(stage.lockFile);
    if (!lf) {
      lf = readLock(join(this.root, ...stage.lockFile.split('/')), stage.lockFile);
      this.map.set(stage.lockFile, lf);
    }
    return lf;
  }
}

/** The md5 hasher of a work tree, leaving out what the root .dvcignore names (as DVC does). */
export function hasherFor(root: string, stateDir: string): Md5Hasher {
  let text = '';
  try {
    text = readFileSync(join(root, '.dvcignore'), 'utf8');
  } catch {
    /* none */
  }
  if (!text.trim()) return new Md5Hasher(root, stateDir);
  const ig = ignore().add(text);
  return new Md5Hasher(root, stateDir, (rel) => ig.ignores(rel), createHash('sha256').update(text).digest('hex'));
}
