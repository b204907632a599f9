// Expected failures of credit checks (no GraphQL here).
import { AtelierError } from '../domain-errors.ts';

/** The account's balance does not cover what the run costs; nothing was written. */
export class InsufficientCreditsError extends AtelierError {
  readonly code = 'INSUFFICIENT_CREDITS';
  constructor(
    readonly needed: number,
    readonly balance: number,
  ) {
    super(`This run costs ${needed} credits; the balance is ${balance}.`);
    this.name = 'InsufficientCreditsError';
  }
}
