// Typed pub/sub for subscriptions and for messages between processes. Payloads carry ids and
// a sequence number; subscribers re-read state from the database. In-process by default;
// with REDIS_URL the same topics go through Redis (@graphql-yoga/redis-event-target), so a
// client connected to one replica sees events of a run executed by another process, and a
// cancel reaches the process that executes the run.
import { setMaxListeners } from 'node:events';
import type { TypedEventTarget } from '@graphql-yoga/typed-event-target';
import { createPubSub } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import type { StageKind } from './generated/prisma/enums.ts';
import type { Logger } from './log.ts';
import { loadRedis } from './redis.ts';

export type RunEventType =
  | 'SNAPSHOT'
  | 'STAGE_STARTED'
  | 'STAGE_PROGRESS'
  | 'STAGE_FINISHED'
  | 'PREVIEW'
  | 'OUTPUT'
  | 'RUN_FINISHED';

export interface PreviewPayload {
  mimeType: string;
  /** data: URL of the image, small enough to ship in an event. */
  dataUrl: string;
  nodeId: string | null;
}

export interface RunEventPayload {
  runId: string;
  sequence: number;
  type: RunEventType;
  stage: StageKind | null;
  preview: PreviewPayload | null;
  /** For OUTPUT: the Media created. */
  mediaId: string | null;
  /**
   * The run's sequence after the statement that wrote this event (the last event written with
   * it): a read that starts once this event arrived sees at least that (shared-reads.ts).
   */
  written?: number;
  /** When it was published (ms since the epoch), for the delivery lag metric. */
  publishedAt?: number;
}

export interface QueueChangedPayload {
  at: number;
  /** A run entered the queue since the last message (schedulers that found it empty look again). */
  queued?: boolean;
}

/** A request to stop a running run, for whichever process executes it. */
export interface CancelPayload {
  runId: string;
}

type Topics = {
  /** `run:<id>`: every change of one run. */
  run: [runId: string, payload: RunEventPayload];
  /** Anything that changes queue counts, positions or workers. */
  queue: [payload: QueueChangedPayload];
  /** cancelRun of a run that may execute in another process. */
  cancel: [payload: CancelPayload];
  /** An API key was revoked: every replica drops its cached key lookups. */
  keys: [payload: { revokedAt: number }];
};

export type PubSub = ReturnType<typeof createPubSub<Topics>>;

/** In-process pub/sub, or one on `eventTarget` (see connectRedisEventTarget). */
export function createAtelierPubSub(eventTarget?: TypedEventTarget<CustomEvent>): PubSub {
  if (eventTarget) return createPubSub<Topics>({ eventTarget });
  // Every subscriber of a run listens on its topic: a thousand listeners on one run is
  // normal here, not a leak (Node warns past ten by default).
  const local = new EventTarget();
  setMaxListeners(0, local);
  return createPubSub<Topics>({ eventTarget: local as TypedEventTarget<CustomEvent> });
}

/**
 * An event target on Redis pub/sub: two connections (a subscribed connection can do nothing
 * else), channels named `<prefix>:<topic>` so several installations (or tests) can share
 * one Redis. `close()` disconnects both.
 */
export async function connectRedisEventTarget(
  redis: { url: string; prefix: string },
  log: Logger,
): Promise<{
  eventTarget: TypedEventTarget<CustomEvent>;
  /** The publishing connection, for other plain commands (the rate limiter). */
  client: Redis;
  close(): Promise<void>;
}> {
  const [Redis, { createRedisEventTarget }] = await Promise.all([
    loadRedis(),
    import('@graphql-yoga/redis-event-target'),
  ]);
  const connect = (role: string) => {
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: null });
    // ioredis reconnects by itself; an error event only needs to be seen, not to crash.
    client.on('error', (error) => log.warn('redis connection error', { role, error }));
    return client;
  };
  const publishClient = connect('publish');
  const subscribeClient = connect('subscribe');
  await Promise.all([publishClient.connect(), subscribeClient.connect()]);
  // The event target fires publish/subscribe/unsubscribe without awaiting them; a failure
  // (Redis gone, or the client already closed on shutdown) must be logged, not left as an
  // unhandled rejection.
  const settle =
    (command: string) =>
    (error: unknown): void =>
      log.warn('redis pub/sub command failed', { command, error });
  const inner = createRedisEventTarget({
    publishClient: {
      publish: (channel: string, message: string) =>
        publishClient.publish(channel, message).catch(settle('publish')),
    } as unknown as Redis,
    subscribeClient: {
      on: (event: 'message', listener: (channel: string, message: string) => void) =>
        subscribeClient.on(event, listener),
      subscribe: (channel: string) => subscribeClient.subscribe(channel).catch(settle('subscribe')),
      unsubscribe: (channel: string) =>
        subscribeClient.unsubscribe(channel).catch(settle('unsubscribe')),
    } as unknown as Redis,
  });
  const channel = (topic: string) => `${redis.prefix}:${topic}`;
  // Events arrive under the prefixed channel; listeners expect the plain topic name.
  const forwards = new Map<string, Map<unknown, (event: CustomEvent) => void>>();
  const eventTarget: TypedEventTarget<CustomEvent> = {
    addEventListener(topic, listener) {
      if (!listener) return;
      const callback = 'handleEvent' in listener ? listener.handleEvent.bind(listener) : listener;
      const forward = (event: CustomEvent) =>
        (callback as (event: CustomEvent) => void)(
          new CustomEvent(topic, { detail: event.detail }),
        );
      const byListener = forwards.get(topic) ?? new Map();
      forwards.set(topic, byListener);
      byListener.set(listener, forward);
      inner.addEventListener(channel(topic), forward);
    },
    removeEventListener(topic, listener) {
      const forward = forwards.get(topic)?.get(listener);
      if (!forward) return;
      forwards.get(topic)?.delete(listener);
      inner.removeEventListener(channel(topic), forward);
    },
    dispatchEvent(event) {
      return inner.dispatchEvent(new CustomEvent(channel(event.type), { detail: event.detail }));
    },
  };
  return {
    eventTarget,
    client: publishClient,
    async close() {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    },
  };
}
