import { join } from 'node:path';
import { reproduce, type ReproEvent, type ReproResult, type StageOutcome } from '../pipeline/repro.js';
import { RepoContext } from '../repo/context.js';
import { acquireLock } from '../util/lockfile.js';
import { defaultRemote, pipelineWorkspace } from '../pipeline/workspace.js';

export type { ReproEvent, ReproResult, StageOutcome };

export interface ReproOptions {
  cwd?: string;
  /** Stage addresses (`train`, `train@a`, `sub/dvc.yaml:train`), group names or pipeline files; default: every stage. */
  targets?: string[];
  force?: boolean;
  dry?: boolean;
  single?: boolean;
  downstream?: boolean;
  /** Use the run cache (default true): this clone's, then the remote's. */
  runCache?: boolean;
  /** The remote whose run cache to read (default: the default remote). */
  remote?: string;
  /** Stage outputs' pointers and the lock with git (default true). */
  stage?: boolean;
  /** Where the commands' output goes (default: inherited; 'stderr' keeps stdout for --json). */
  output?: 'inherit' | 'stderr' | 'ignore';
  env?: NodeJS.ProcessEnv;
  onEvent?: (e: ReproEvent) => void;
  signal?: AbortSignal;
}

/**
 * `mk repro [<stage>...]`: runs the stale stages of dvc.yaml in dependency order, restores
 * from the run cache what was computed before, records outputs with mk and writes dvc.lock.
 * One repro at a time per work tree (other mk commands go on meanwhile).
 */
export async function repro(opts: ReproOptions = {}): Promise<ReproResult> {
  const ctx = RepoContext.open(opts.cwd);
  const lock = await acquireLock(join(ctx.stateDir, 'repro.lock'));
  try {
    return await reproduce({
      root: ctx.root,
      stateDir: ctx.stateDir,
      mkDir: ctx.mkDir,
      cache: ctx.cache,
      targets: opts.targets,
      force: opts.force,
      dry: opts.dry,
      single: opts.single,
      downstream: opts.downstream,
      runCache: opts.runCache,
      remote: defaultRemote(ctx, opts.remote),
      workspace: pipelineWorkspace(ctx, { stage: opts.stage }),
      stage: opts.stage,
      output: opts.output,
      env: opts.env,
      onEvent: opts.onEvent,
      signal: opts.signal,
    });
  } finally {
    lock.release();
  }
}
