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

/** The account already has as many QUEUED runs as MAX_QUEUED_RUNS_PER_ACCOUNT allows. */
export class QueueLimitError extends AtelierError {
  readonly code = 'QUEUE_LIMIT_REACHED';
  constructor(readonly limit: number) {
    super(`You already have ${limit} queued runs, the most allowed; wait for some to start.`);
    this.name = 'QueueLimitError';
  }
}
