// Back-pressure for a subscriber that cannot keep up: events wait in a small buffer, and an
// event that only restates progress (STAGE_PROGRESS of a stage, PREVIEW) replaces the one of
// its kind still waiting, so a slow client gets the latest state, never a backlog. Other
// events (stage started or finished, outputs, the end) are all delivered, in order.
//
// It can also say when the source has been quiet (`idleMs`): a next() that waited that long
// gets IDLE, and quiet spells in a row wait twice as long each time. This lives here rather than in a layer of its own because it runs for every
// subscriber and event: a wrapper costs an async generator step, a timer and a race per event,
// while here one timer per subscriber is armed only while a next() waits, and an event that
// arrives meanwhile just moves the deadline (the timer re-arms itself for what is left).

/** What a next() gets after a quiet spell (`idleMs`): the consumer may look elsewhere. */
export const IDLE: unique symbol = Symbol('idle');

export interface ArrivalOptions<T> {
  /** Called with each item as the source produces it, before it waits in the buffer. */
  arrived?: (item: T) => void;
}

export interface IdleOptions {
  /** A next() that waited this long (ms) without an item gets IDLE. */
  idleMs: number;
  /** Quiet spells in a row wait twice as long each time, up to this (default idleMs × 16). */
  maxIdleMs?: number;
}

/**
 * Iterates `source`, reading it as fast as it produces. `kindOf(item)` names the kind of a
 * replaceable item (null: keep every one); a waiting item of the same kind is dropped when a
 * newer one arrives. The remaining items keep their order. `return()` ends the iteration at
 * once, even while a `next()` waits (an async generator would queue it behind that wait).
 */
export function latestWins<T>(
  source: AsyncIterable<T>,
  kindOf: (item: T) => string | null,
): AsyncIterableIterator<T>;
export function latestWins<T>(
  source: AsyncIterable<T>,
  kindOf: (item: T) => string | null,
  idle: IdleOptions & ArrivalOptions<T>,
): AsyncIterableIterator<T | typeof IDLE>;
export function latestWins<T>(
  source: AsyncIterable<T>,
  kindOf: (item: T) => string | null,
  idle?: IdleOptions & ArrivalOptions<T>,
): AsyncIterableIterator<T | typeof IDLE> {
  const iterator = source[Symbol.asyncIterator]();
  const buffer: T[] = [];
  let ended = false;
  let failure: { error: unknown } | null = null;
  type Waiting = { resolve(r: IteratorResult<T | typeof IDLE>): void; reject(e: unknown): void };
  let waiting: Waiting | null = null;

  // Quiet-spell detection (only with `idle`): the deadline is `lastActivity + wait`.
  const maxIdleMs = idle ? (idle.maxIdleMs ?? idle.idleMs * 16) : 0;
  let wait = idle?.idleMs ?? 0;
  let lastActivity = Date.now();
  let timer: NodeJS.Timeout | null = null;
  const onTimer = () => {
    timer = null;
    if (!waiting || ended) return;
    const left = lastActivity + wait - Date.now();
    if (left > 0) {
      timer = setTimeout(onTimer, left);
      return;
    }
    const w = waiting;
    waiting = null;
    lastActivity = Date.now();
    wait = Math.min(wait * 2, maxIdleMs);
    w.resolve({ value: IDLE, done: false });
  };
  const armTimer = () => {
    if (idle && !timer) timer = setTimeout(onTimer, Math.max(0, lastActivity + wait - Date.now()));
  };
  const stopTimer = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };

  const settle = () => {
    if (!waiting) return;
    const w = waiting;
    if (buffer.length) {
      waiting = null;
      w.resolve({ value: buffer.shift() as T, done: false });
    } else if (failure) {
      waiting = null;
      w.reject(failure.error);
    } else if (ended) {
      waiting = null;
      w.resolve({ value: undefined, done: true });
    }
  };

  void (async () => {
    try {
      while (!ended) {
        const next = await iterator.next();
        if (next.done || ended) break;
        idle?.arrived?.(next.value);
        if (idle) {
          lastActivity = Date.now();
          wait = idle.idleMs;
        }
        const kind = kindOf(next.value);
        if (kind !== null) {
          const i = buffer.findIndex((item) => kindOf(item) === kind);
          if (i >= 0) buffer.splice(i, 1);
        }
        buffer.push(next.value);
        settle();
      }
    } catch (error) {
      failure = { error };
    } finally {
      ended = true;
      stopTimer();
      settle();
    }
  })();

  const self: AsyncIterableIterator<T | typeof IDLE> = {
    next() {
      if (buffer.length) return Promise.resolve({ value: buffer.shift() as T, done: false });
      if (failure) {
        const { error } = failure;
        failure = null;
        return Promise.reject(error);
      }
      if (ended) return Promise.resolve({ value: undefined, done: true });
      armTimer();
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    async return() {
      ended = true;
      buffer.length = 0;
      stopTimer();
      settle();
      // The drain loop ends when the source's pending next() settles (a pub/sub iterator
      // settles it on return); nothing waits for it here.
      await iterator.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return self;
    },
  };
  return self;
}
