// Run-specific domain errors (no GraphQL here).
import { AtelierError } from '../domain-errors.ts';

/** cancelRun on a run that already finished. */
export class RunNotActiveError extends AtelierError {
  readonly code = 'RUN_NOT_ACTIVE';
  constructor(
    readonly runId: string,
    readonly status: string,
  ) {
    super(`Run ${runId} is ${status.toLowerCase()} and can no longer be canceled.`);
    this.name = 'RunNotActiveError';
  }
}
