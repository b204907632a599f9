// Iterates an async source, yielding IDLE whenever nothing arrived for `idleMs`: a consumer
// can then look elsewhere (the database) without giving up the source. The pending `next()`
// is kept across ticks, so no item is skipped or read twice.
export const IDLE: unique symbol = Symbol('idle');

export async function* withIdleTicks<T>(
  source: AsyncIterable<T>,
  idleMs: number,
): AsyncGenerator<T | typeof IDLE> {
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | null = null;
  try {
    for (;;) {
      pending ??= iterator.next();
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<typeof IDLE>((resolve) => {
        timer = setTimeout(() => resolve(IDLE), idleMs);
      });
      const result = await Promise.race([pending, tick]);
      clearTimeout(timer);
      if (result === IDLE) {
        yield IDLE;
        continue;
      }
      pending = null;
      if (result.done) return;
      yield result.value;
    }
  } finally {
    await iterator.return?.();
  }
}
