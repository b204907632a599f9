// Back-pressure for a subscriber that cannot keep up: events wait in a small buffer, and an
// event that only restates progress (STAGE_PROGRESS of a stage, PREVIEW) replaces the one of
// its kind still waiting, so a slow client gets the latest state, never a backlog. Other
// events (stage started or finished, outputs, the end) are all delivered, in order.

/**
 * Iterates `source`, reading it as fast as it produces. `kindOf(item)` names the kind of a
 * replaceable item (null: keep every one); a waiting item of the same kind is dropped when a
 * newer one arrives. The remaining items keep their order. `return()` ends the iteration at
 * once, even while a `next()` waits (an async generator would queue it behind that wait).
 */
export function latestWins<T>(
  source: AsyncIterable<T>,
  kindOf: (item: T) => string | null,
): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const buffer: T[] = [];
  let ended = false;
  let failure: { error: unknown } | null = null;
  let waiting: { resolve(r: IteratorResult<T>): void; reject(e: unknown): void } | null = null;

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
      settle();
    }
  })();

  const self: AsyncIterableIterator<T> = {
    next() {
      if (buffer.length) return Promise.resolve({ value: buffer.shift() as T, done: false });
      if (failure) {
        const { error } = failure;
        failure = null;
        return Promise.reject(error);
      }
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    async return() {
      ended = true;
      buffer.length = 0;
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
