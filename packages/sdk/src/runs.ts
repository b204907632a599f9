// Runs: create, watch live (graphql-ws), wait for the end, cancel, retry, delete, read.
import type { AtelierClient } from './client.ts';
import { persistedHash, persistedQueryExtension, toDocument } from './document.ts';
import { AtelierRequestError, RunTimeoutError } from './errors.ts';
import type {
  CancelRunMutation,
  CreateRunInput,
  CreateRunResultFieldsFragment,
  RunEventsSubscription,
  RunFieldsFragment,
  RunFilter,
  RunStatus,
  RunsQuery,
} from './generated/graphql.ts';
import {
  CancelRunDocument,
  CreateRunDocument,
  DeleteRunDocument,
  RetryRunDocument,
  RunDocument,
  RunEventsDocument as RunEventsSource,
  RunsDocument as RunsSource,
} from './generated/graphql.ts';
import type { DeleteResult } from './media.ts';
import { mutate, query } from './request.ts';
import { subscriptionIterator } from './subscription.ts';

/** Typed document of the `Runs` query (for urql hooks and custom clients). */
export const RunsDocument = /* @__PURE__ */ toDocument(RunsSource);

/** Typed document of the `RunEvents` subscription (for urql hooks and custom clients). */
export const RunEventsDocument = /* @__PURE__ */ toDocument(RunEventsSource);

// Sent with its text and its persisted hash: a server that knows the hash runs its own copy
// (and may refuse other documents), one that does not runs the text.
const RUN_EVENTS = {
  query: RunEventsSource.toString(),
  extensions: persistedQueryExtension(persistedHash(RunEventsSource)),
};

/** A run as the SDK selects it: status, progress, stages, inputs, outputs, error. */
export type Run = RunFieldsFragment;

/** One stage of a run (TRANSLATE, STYLE, OPTIMIZE, GENERATE). */
export type RunStage = RunFieldsFragment['stages'][number];

/**
 * One event of `runEvents`: `SNAPSHOT` first, then `STAGE_STARTED`, `STAGE_PROGRESS`,
 * `STAGE_FINISHED`, `PREVIEW`, `OUTPUT`, and `RUN_FINISHED` last. `run` is the whole run
 * after the event; `sequence` grows with every change.
 */
export type RunEvent = RunEventsSubscription['runEvents'];

/**
 * What `createRun` and `retryRun` return: `CreateRunSuccess { run }`, `ValidationError
 * { field }` or `NotFoundError { entity id }`. Narrow on `__typename`.
 */
export type CreateRunResult = CreateRunResultFieldsFragment;

/** What `cancelRun` returns: `CancelRunSuccess { run }`, `RunNotActiveError { status }` or `NotFoundError`. */
export type CancelRunResult = CancelRunMutation['cancelRun'];

/** Statuses after which a run never changes again. */
export const FINISHED_RUN_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>([
  'SUCCEEDED',
  'FAILED',
  'CANCELED',
]);

/**
 * Validates and queues a run. Refusals come back typed (`ValidationError` with the
 * offending `field`, `NotFoundError` for unknown media); nothing is created then.
 *
 * @example
 * ```ts
 * const result = await createRun(client, { mode: 'TEXT_TO_IMAGE', model: 'flux1-dev', prompt: 'a fox' });
 * if (result.__typename === 'CreateRunSuccess') console.log(result.run.id);
 * else if (result.__typename === 'ValidationError') console.error(result.field, result.message);
 * ```
 */
export async function createRun(
  client: AtelierClient,
  input: CreateRunInput,
): Promise<CreateRunResult> {
  return (await mutate(client, 'createRun', CreateRunDocument, { input })).createRun;
}

/** Options of {@link retryRun}. */
export interface RetryRunOptions {
  /** Draw a new seed (default true); false repeats the run exactly. */
  newSeed?: boolean;
}

/** Creates a new run with the same input as run `id` (its `retryOf` points back). */
export async function retryRun(
  client: AtelierClient,
  id: string,
  options: RetryRunOptions = {},
): Promise<CreateRunResult> {
  const variables = { id, newSeed: options.newSeed ?? null };
  return (await mutate(client, 'retryRun', RetryRunDocument, variables)).retryRun;
}

/** Cancels a queued or running run; a finished one gives `RunNotActiveError`. */
export async function cancelRun(client: AtelierClient, id: string): Promise<CancelRunResult> {
  return (await mutate(client, 'cancelRun', CancelRunDocument, { id })).cancelRun;
}

/** Deletes a run and its outputs. */
export async function deleteRun(client: AtelierClient, id: string): Promise<DeleteResult> {
  return (await mutate(client, 'deleteRun', DeleteRunDocument, { id })).deleteRun;
}

/** Reads one run (always from the server, never the cache); null when unknown or not yours. */
export async function getRun(client: AtelierClient, id: string): Promise<Run | null> {
  return (await query(client, 'run', RunDocument, { id })).run;
}

/** Options of {@link watchRun}. */
export interface WatchRunOptions {
  /** Stops watching: the iterator rejects with the signal's reason and unsubscribes. */
  signal?: AbortSignal;
}

/**
 * Watches a run live over graphql-ws. Yields the SNAPSHOT first, then every event with a
 * larger `sequence` than the last one yielded (older or repeated ones are dropped), and
 * ends after `RUN_FINISHED`, or right after the SNAPSHOT when the run had already
 * finished. When the socket drops, the client reconnects and resubscribes; the server's
 * fresh SNAPSHOT is yielded only if something changed meanwhile. Breaking out of the loop
 * unsubscribes. Transport and GraphQL errors reject with {@link AtelierRequestError}.
 *
 * @example
 * ```ts
 * for await (const event of watchRun(client, run.id)) {
 *   console.log(event.type, Math.round(event.run.progress * 100), '%');
 * }
 * ```
 */
export function watchRun(
  client: AtelierClient,
  runId: string,
  options: WatchRunOptions = {},
): AsyncIterable<RunEvent> {
  return { [Symbol.asyncIterator]: () => runEventIterator(client, runId, options.signal) };
}

function runEventIterator(
  client: AtelierClient,
  runId: string,
  signal: AbortSignal | undefined,
): AsyncIterator<RunEvent> {
  let lastSequence = Number.NEGATIVE_INFINITY;
  return subscriptionIterator<RunEventsSubscription, RunEvent>(client, {
    request: { ...RUN_EVENTS, variables: { id: runId }, operationName: 'RunEvents' },
    label: 'runEvents',
    select: (data) => data.runEvents,
    verdict: (event) => {
      if (event.sequence <= lastSequence) return 'drop';
      lastSequence = event.sequence;
      const finished =
        event.type === 'RUN_FINISHED' ||
        (event.type === 'SNAPSHOT' && FINISHED_RUN_STATUSES.has(event.run.status));
      return finished ? 'last' : 'yield';
    },
    ...(signal ? { signal } : {}),
  });
}

/** Options of {@link waitForRun}. */
export interface WaitForRunOptions {
  /** Gives up after this many milliseconds with a {@link RunTimeoutError}. */
  timeoutMs?: number;
  /** Gives up when aborted, rejecting with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Waits until a run has finished (SUCCEEDED, FAILED or CANCELED) and returns it; check
 * `run.status` and `run.error`. Rejects with {@link RunTimeoutError} after `timeoutMs`
 * and with the signal's reason on abort; the subscription is closed either way.
 *
 * @example
 * ```ts
 * const run = await waitForRun(client, id, { timeoutMs: 120_000 });
 * if (run.status === 'SUCCEEDED') for (const output of run.outputs) console.log(output.url);
 * ```
 */
export async function waitForRun(
  client: AtelierClient,
  runId: string,
  options: WaitForRunOptions = {},
): Promise<Run> {
  const { signal, timeoutMs } = options;
  signal?.throwIfAborted();
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => controller.abort(new RunTimeoutError(runId, timeoutMs)), timeoutMs);
  try {
    let last: Run | undefined;
    for await (const event of watchRun(client, runId, { signal: controller.signal })) {
      last = event.run;
    }
    if (!last || !FINISHED_RUN_STATUSES.has(last.status)) {
      throw new AtelierRequestError(`runEvents ended before run ${runId} finished`);
    }
    return last;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Typed document of the `Runs` query (for urql hooks and custom clients). */

/** Options of {@link listRuns}. */
export interface ListRunsOptions {
  /** Page size (at most 100). */
  first?: number;
  /** Cursor to continue after (`pageInfo.endCursor` of the previous page). */
  after?: string | null;
  /** Only runs of these modes, model keys and/or statuses. */
  filter?: RunFilter;
}

/** One page of your runs, newest first: the runs and where the next page starts. */
export interface RunsPage {
  /** The runs of the page, newest first. */
  runs: Run[];
  /** `hasNextPage`, and `endCursor` to pass as `after` for the next page. */
  pageInfo: RunsQuery['runs']['pageInfo'];
}

/** Turns the `runs` connection into a {@link RunsPage}. */
export function toRunsPage(connection: RunsQuery['runs']): RunsPage {
  return { runs: connection.edges.map((edge) => edge.node), pageInfo: connection.pageInfo };
}

/**
 * Lists your runs, newest first, one page at a time (always from the server).
 *
 * @example
 * ```ts
 * const { runs, pageInfo } = await listRuns(client, { first: 20, filter: { status: ['QUEUED', 'RUNNING'] } });
 * if (pageInfo.hasNextPage) await listRuns(client, { first: 20, after: pageInfo.endCursor });
 * ```
 */
export async function listRuns(
  client: AtelierClient,
  options: ListRunsOptions = {},
): Promise<RunsPage> {
  const data = await query(client, 'runs', RunsDocument, {
    first: options.first ?? null,
    after: options.after ?? null,
    filter: options.filter ?? null,
  });
  return toRunsPage(data.runs);
}
