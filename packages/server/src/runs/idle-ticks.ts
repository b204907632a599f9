// Iterates an async source, yielding IDLE whenever nothing arrived for `idleMs`: a consumer
// can then look elsewhere (the database) without giving up the source. The pending `next()`
// is kept across ticks, so no item is skipped or read twice. Quiet spells in a row wait twice
// as long each time (up to `maxIdleMs`), so a long wait costs few looks.
export const IDLE: unique symbol = Symbol('idle');

export async function* withIdleTicks<T>(
  source: AsyncIterable<T>,
  idleMs: number,
  maxIdleMs = idleMs * 16,
): AsyncGenerator<T | typeof IDLE> {
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | null = null;
  let wait = idleMs;
  try {
    for (;;) {
      pending ??= iterator.next();
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<typeof IDLE>((resolve) => {
        timer = setTimeout(() => resolve(IDLE), wait);
      });
      const result = await Promise.race([pending, tick]);
      clearTimeout(timer);
      if (result === IDLE) {
        wait = Math.min(wait * 2, maxIdleMs);
        yield IDLE;
        continue;
      }
      wait = idleMs;
      pending = null;
      if (result.done) return;
      yield result.value;
    }
  } finally {
    await iterator.return?.();
  }
}
