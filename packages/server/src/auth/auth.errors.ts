// Expected failures of authentication and authorization (no GraphQL here).
import { AtelierError } from '../domain-errors.ts';

/** The request carries no valid credentials (missing where required, unknown or revoked). */
export class UnauthenticatedError extends AtelierError {
  readonly code = 'UNAUTHENTICATED';
  constructor(message: string) {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}

/** The credentials are valid but lack the scope the operation needs. */
export class ForbiddenError extends AtelierError {
  readonly code = 'FORBIDDEN';
  constructor(message = 'This operation needs an admin key.') {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** Too many requests for one key in the current minute. */
export class RateLimitedError extends AtelierError {
  readonly code = 'RATE_LIMITED';
  constructor(
    readonly limitPerMinute: number,
    readonly retryAfterSeconds: number,
  ) {
    super(
      `Rate limit of ${limitPerMinute} requests per minute reached; retry in ${retryAfterSeconds} s.`,
    );
    this.name = 'RateLimitedError';
  }
}
