// Errors the SDK throws. Expected failures (union members such as ValidationError) are
// returned as typed values instead; only transport and GraphQL errors, timeouts and
// unfinished waits throw.
import type { CombinedError } from '@urql/core';

/** One GraphQL error as the server sent it (message, path, extensions). */
export interface AtelierGraphQLError {
  /** Human-readable message (masked to "Unexpected error." for unexpected server failures). */
  message: string;
  /** Path of the failing field, when the error belongs to one. */
  path?: readonly (string | number)[] | undefined;
  /** Extra data, e.g. `code` for protocol errors. */
  extensions?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * A request failed at the transport or GraphQL level: network failure, HTTP error,
 * socket closed for good, or `errors` in the response. Expected failures never end up here.
 */
export class AtelierRequestError extends Error {
  override readonly name = 'AtelierRequestError';
  /** The GraphQL errors of the response (empty for pure network failures). */
  readonly graphQLErrors: readonly AtelierGraphQLError[];
  /** The underlying network error or socket close event, when there was one. */
  readonly networkError: unknown;

  constructor(
    message: string,
    options: { graphQLErrors?: readonly AtelierGraphQLError[]; networkError?: unknown } = {},
  ) {
    super(
      message,
      options.networkError instanceof Error ? { cause: options.networkError } : undefined,
    );
    this.graphQLErrors = options.graphQLErrors ?? [];
    this.networkError = options.networkError;
  }

  /** Wraps an urql `CombinedError`. */
  static fromCombined(operation: string, error: CombinedError): AtelierRequestError {
    return new AtelierRequestError(`${operation} failed: ${error.message}`, {
      graphQLErrors: error.graphQLErrors.map(toPlainError),
      networkError: error.networkError,
    });
  }

  /** Wraps what a graphql-ws sink reports: GraphQL errors, an Error, or a socket close event. */
  static fromSocket(operation: string, error: unknown): AtelierRequestError {
    if (Array.isArray(error)) {
      const graphQLErrors = error.map(toPlainError);
      return new AtelierRequestError(
        `${operation} failed: ${graphQLErrors.map((e) => e.message).join('; ')}`,
        { graphQLErrors },
      );
    }
    if (error instanceof Error) {
      return new AtelierRequestError(`${operation} failed: ${error.message}`, {
        networkError: error,
      });
    }
    const close = error as { code?: unknown; reason?: unknown } | null;
    const detail =
      close && typeof close.code === 'number'
        ? `socket closed (${close.code}${close.reason ? ` ${String(close.reason)}` : ''})`
        : String(error);
    return new AtelierRequestError(`${operation} failed: ${detail}`, { networkError: error });
  }
}

/** `waitForRun` gave up: the run did not finish within `timeoutMs`. */
export class RunTimeoutError extends Error {
  override readonly name = 'RunTimeoutError';
  /** Global id of the run that was awaited. */
  readonly runId: string;
  /** The timeout that expired, in milliseconds. */
  readonly timeoutMs: number;

  constructor(runId: string, timeoutMs: number) {
    super(`Run ${runId} did not finish within ${timeoutMs} ms`);
    this.runId = runId;
    this.timeoutMs = timeoutMs;
  }
}

function toPlainError(error: {
  message: string;
  path?: readonly (string | number)[] | undefined;
  extensions?: unknown;
}): AtelierGraphQLError {
  return {
    message: error.message,
    path: error.path,
    extensions: (error.extensions ?? undefined) as AtelierGraphQLError['extensions'],
  };
}
