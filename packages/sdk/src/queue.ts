// The queue, live: counts, workers, and where your runs stand (the queueUpdated subscription).
import type { AtelierClient } from './client.ts';
import { persistedHash, persistedQueryExtension, toDocument } from './document.ts';
import type { QueueUpdatedSubscription } from './generated/graphql.ts';
import { QueueUpdatedDocument as QueueUpdatedSource } from './generated/graphql.ts';
import { subscriptionIterator } from './subscription.ts';

// Sent with its text and its persisted hash: a server that knows the hash runs its own copy
// (and may refuse other documents), one that does not runs the text.
const QUEUE_UPDATED = {
  query: QueueUpdatedSource.toString(),
  extensions: persistedQueryExtension(persistedHash(QueueUpdatedSource)),
};

/** Typed document of the `QueueUpdated` subscription (for urql hooks and custom clients). */
export const QueueUpdatedDocument = /* @__PURE__ */ toDocument(QueueUpdatedSource);

/**
 * The state of the queue: runs `queued` and `running` (all owners), the `workers` (`sandbox`
 * is true for the bundled stand-in), and `viewerRuns`: your queued and running runs in queue
 * order, each with its `position` (1 = next; null while running).
 */
export type QueueStatus = QueueUpdatedSubscription['queueUpdated'];

/** A ComfyUI worker of the pool, as {@link QueueStatus} lists it. */
export type QueueWorker = QueueStatus['workers'][number];

/** One of your active runs and its place in the queue, as {@link QueueStatus} lists it. */
export type QueuedRun = QueueStatus['viewerRuns'][number];

/** Options of {@link watchQueue}. */
export interface WatchQueueOptions {
  /** Stops watching: the iterator rejects with the signal's reason and unsubscribes. */
  signal?: AbortSignal;
}

/**
 * Watches the queue live over graphql-ws: yields the current {@link QueueStatus} first, then
 * a new one after every change (the server sends at most two a second). It never ends by
 * itself: break out of the loop or abort the signal to unsubscribe. When the socket drops,
 * the client reconnects and the server sends the current state again. Transport and
 * GraphQL errors reject with {@link AtelierRequestError}.
 *
 * @example
 * ```ts
 * for await (const queue of watchQueue(client, { signal })) {
 *   const mine = queue.viewerRuns.find((q) => q.run.id === runId);
 *   console.log(queue.queued, 'waiting;', mine?.position ?? 'running or done');
 * }
 * ```
 */
export function watchQueue(
  client: AtelierClient,
  options: WatchQueueOptions = {},
): AsyncIterable<QueueStatus> {
  return { [Symbol.asyncIterator]: () => queueIterator(client, options.signal) };
}

function queueIterator(
  client: AtelierClient,
  signal: AbortSignal | undefined,
): AsyncIterator<QueueStatus> {
  return subscriptionIterator<QueueUpdatedSubscription, QueueStatus>(client, {
    request: { ...QUEUE_UPDATED, operationName: 'QueueUpdated' },
    label: 'queueUpdated',
    select: (data) => data.queueUpdated,
    ...(signal ? { signal } : {}),
  });
}
