// Typed pub/sub for subscriptions and for messages between processes. Payloads carry ids and
// a sequence number; subscribers re-read state from the database. In-process by default;
// with REDIS_URL the same topics go through Redis (@graphql-yoga/redis-event-target), so a
// client connected to one replica sees events of a run executed by another process, and a
// cancel reaches the process that executes the run.
import type { TypedEventTarget } from '@graphql-yoga/typed-event-target';
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

/** `subscribe`'s arguments for a topic: the topic, and the id for topics that have one. */
type TopicArgs<K extends keyof Topics> = Topics[K] extends [infer Id, unknown] ? [K, Id] : [K];
/** What a topic's messages carry. */
type PayloadOf<K extends keyof Topics> = Topics[K] extends [unknown, infer P]
  ? P
  : Topics[K] extends [infer P]
    ? P
    : never;

export interface PubSub {
  /** Sends a message to every subscriber of the topic (of every process, with Redis). */
  publish<K extends keyof Topics>(topic: K, ...args: Topics[K]): void;
  /**
   * The topic's messages from now on, in order, until `return()` (which the caller must call,
   * e.g. by ending a for-await, even if it never iterates).
   */
  subscribe<K extends keyof Topics>(...args: TopicArgs<K>): AsyncIterableIterator<PayloadOf<K>>;
  /** How many subscriptions of this process follow the topic now. */
  subscribers<K extends keyof Topics>(...args: TopicArgs<K>): number;
}

/**
 * For a subscription resolver: the events `consume(source)` makes of a pub/sub subscription,
 * where return() (the client completed the operation or went away) ends `source` first. An
 * async generator takes return() only at its next yield, so one waiting on a quiet topic (a
 * run that stays queued, an idle queue) would otherwise keep its subscription, its timers
 * and its periodic database reads until the topic's next message; with its source ended it
 * runs to its end at once.
 */
export function untilReturned<S extends AsyncIterator<unknown>, T>(
  source: S,
  consume: (source: S) => AsyncGenerator<T>,
): AsyncIterableIterator<T> {
  const events = consume(source);
  const self: AsyncIterableIterator<T> = {
    next: () => events.next(),
    async return() {
      await source.return?.();
      return events.return(undefined);
    },
    throw: (error: unknown) => events.throw(error),
    [Symbol.asyncIterator]: () => self,
  };
  return self;
}

/**
 * In-process pub/sub, or one on `eventTarget` (see connectRedisEventTarget).
 *
 * A process listens on the event target once per topic, however many of its subscribers
 * follow that topic, and hands each message to them from a plain set: a thousand subscribers
 * of one run cost one listener (and, with Redis, one channel subscription) and a loop, not a
 * thousand event dispatches. Each subscriber's inbox is an array and the next() calls waiting
 * for it: the cheapest async iterator there is, since every message reaches every one of them.
 */
export function createAtelierPubSub(eventTarget?: TypedEventTarget<CustomEvent>): PubSub {
  const target = eventTarget ?? (new EventTarget() as TypedEventTarget<CustomEvent>);
  const topics = new Map<string, { listener: (event: CustomEvent) => void; inboxes: Set<Inbox> }>();
  const leave = (topic: string, inbox: Inbox) => {
    const entry = topics.get(topic);
    if (!entry?.inboxes.delete(inbox) || entry.inboxes.size) return;
    topics.delete(topic);
    target.removeEventListener(topic, entry.listener as EventListener);
  };
  const topicOf = (key: string, id: unknown) => (id === undefined ? key : `${key}:${id}`);
  return {
    publish(key, ...args) {
      const [first, second] = args as unknown[];
      const payload = second === undefined ? first : second;
      const topic = second === undefined ? key : topicOf(key, first);
      target.dispatchEvent(new CustomEvent(topic, { detail: payload }));
    },
    subscribe(...args) {
      const [key, id] = args as [string, unknown?];
      const topic = topicOf(key, id);
      let entry = topics.get(topic);
      if (!entry) {
        const inboxes = new Set<Inbox>();
        const listener = (event: CustomEvent) => {
          for (const inbox of inboxes) inbox.push(event.detail);
        };
        entry = { listener, inboxes };
        topics.set(topic, entry);
        target.addEventListener(topic, listener as EventListener);
      }
      const inbox = new Inbox(() => leave(topic, inbox));
      entry.inboxes.add(inbox);
      return inbox as AsyncIterableIterator<never>;
    },
    subscribers(...args) {
      const [key, id] = args as [string, unknown?];
      return topics.get(topicOf(key, id))?.inboxes.size ?? 0;
    },
  };
}

/** One subscriber's messages: pushed by the topic's listener, taken by next(). */
class Inbox implements AsyncIterableIterator<unknown> {
  private readonly items: unknown[] = [];
  /** next() calls waiting for an item, oldest first (async iterators may have several). */
  private readonly waiting: ((result: IteratorResult<unknown>) => void)[] = [];
  private ended = false;

  constructor(private readonly onEnd: () => void) {}

  push(item: unknown): void {
    if (this.ended) return;
    const waiting = this.waiting.shift();
    if (waiting) waiting({ value: item, done: false });
    else this.items.push(item);
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.items.length) return Promise.resolve({ value: this.items.shift(), done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting.push(resolve);
    });
  }

  return(): Promise<IteratorResult<unknown>> {
    if (!this.ended) {
      this.ended = true;
      this.items.length = 0;
      this.onEnd();
      for (const waiting of this.waiting.splice(0)) waiting({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }
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
      const byListener = forwards.get(topic);
      const forward = byListener?.get(listener);
      if (!byListener || !forward) return;
      byListener.delete(listener);
      // Topics come and go with runs: an empty entry would stay for every run ever watched.
      if (!byListener.size) forwards.delete(topic);
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
