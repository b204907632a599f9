// Domain errors with stable codes. Services throw these (never GraphQLError); the schema
// turns each into a typed union member implementing the `Error` interface.

/** Base class of every expected failure; `code` is stable and machine-readable. */
export abstract class AtelierError extends Error {
  abstract readonly code: string;
}

/** Something the caller referred to does not exist (or is not theirs). */
export class NotFoundError extends AtelierError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${id} was not found.`);
    this.name = 'NotFoundError';
  }
}

/** An argument failed validation; `field` names it (dotted path for nested input). */
export class ValidationError extends AtelierError {
  readonly code = 'VALIDATION_FAILED';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ValidationError';
  }
}
