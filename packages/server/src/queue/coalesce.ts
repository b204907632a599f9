// queueUpdated's pacing: a subscriber gets the queue state at once, then after changes, at
// most once per interval; changes arriving meanwhile collapse into the next update.

/** queueUpdated yields at most one update per this interval; a burst becomes one update. */
export const QUEUE_UPDATE_INTERVAL_MS = 250;

/**
 * Yields once at once, then once after every change, at most once per
 * QUEUE_UPDATE_INTERVAL_MS: changes arriving meanwhile collapse into the next update, so a
 * burst of N changes costs one or two updates and nothing piles up behind a slow client.
 */
export async function* coalesced(
  changes: AsyncIterable<unknown>,
  intervalMs = QUEUE_UPDATE_INTERVAL_MS,
): AsyncGenerator<null> {
  const iterator = changes[Symbol.asyncIterator]();
  let dirty = false;
  let ended = false;
  let wake: (() => void) | null = null;
  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  // Drains the source continuously (its buffer never fills), remembering only "changed".
  const draining = (async () => {
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        dirty = true;
        signal();
      }
    } catch {
      // the source failed: end like a closed one
    } finally {
      ended = true;
      signal();
    }
  })();
  try {
    yield null;
    // The first change goes out at once; later ones at most once per interval.
    let last = 0;
    for (;;) {
      if (!dirty && !ended) await new Promise<void>((resolve) => (wake = resolve));
      if (!dirty) return;
      const wait = last + intervalMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      dirty = false;
      last = Date.now();
      yield null;
    }
  } finally {
    await iterator.return?.();
    await draining;
  }
}
