import { MkError } from '../errors/index.js';

/** A pipeline file (dvc.yaml, dvc.lock, a params or vars file) mk cannot use as it is. */
export class PipelineError extends MkError {
  constructor(message: string, hint?: string, data: Record<string, unknown> = {}) {
    super('EPIPELINE', message, { hint, data });
  }
}

/** A stage's command failed: mk stops there (exit 1, as every ESTAGE; the command's status is in the message and data). */
export class StageFailedError extends MkError {
  constructor(stage: string, status: number | null, signal: string | null, cmd: string) {
    const how = signal ? `was killed by ${signal}` : `exited with status ${status}`;
    super('ESTAGE', `stage '${stage}' failed: '${cmd.length > 120 ? cmd.slice(0, 117) + '...' : cmd}' ${how}`, {
      hint: 'the stages before it are recorded in dvc.lock; fix the failure and run mk repro again',
      data: { stage, status, signal },
    });
  }
}
