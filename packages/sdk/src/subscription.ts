// Turns a graphql-ws subscription into a pull-based async iterator: items are buffered until
// asked for, the signal and `return()` unsubscribe, errors reject the pending `next()`.
import type { AtelierClient } from './client.ts';
import { AtelierRequestError } from './errors.ts';

/** What to do with one received item. */
export type ItemVerdict = 'drop' | 'yield' | 'last';

export interface SubscriptionIteratorOptions<TData, TItem> {
  /** The subscription to run on the client's graphql-ws connection. */
  request: {
    query: string;
    variables?: Record<string, unknown>;
    operationName: string;
    extensions?: Record<string, unknown>;
  };
  /** Name used in error messages (the subscription field). */
  label: string;
  /** Picks the item out of a result's data. */
  select(data: TData): TItem;
  /** Drops an item, yields it, or yields it as the last one (then unsubscribes). */
  verdict?(item: TItem): ItemVerdict;
  signal?: AbortSignal;
}

export function subscriptionIterator<TData, TItem>(
  client: AtelierClient,
  options: SubscriptionIteratorOptions<TData, TItem>,
): AsyncIterator<TItem> {
  const { signal, label } = options;
  const ready: TItem[] = [];
  let started = false;
  let ended = false;
  let failure: { error: unknown } | null = null;
  let unsubscribe: (() => void) | null = null;
  let waiter: {
    resolve(result: IteratorResult<TItem>): void;
    reject(error: unknown): void;
  } | null = null;

  const stop = () => {
    signal?.removeEventListener('abort', onAbort);
    const dispose = unsubscribe;
    unsubscribe = null;
    dispose?.();
  };
  const settle = () => {
    if (!waiter) return;
    const { resolve, reject } = waiter;
    if (ready.length) {
      waiter = null;
      resolve({ value: ready.shift() as TItem, done: false });
    } else if (failure) {
      waiter = null;
      reject(failure.error);
    } else if (ended) {
      waiter = null;
      resolve({ value: undefined, done: true });
    }
  };
  const fail = (error: unknown) => {
    if (ended) return;
    ended = true;
    failure = { error };
    stop();
    settle();
  };
  const onAbort = () => {
    // An abort wins over items not yet consumed.
    ready.length = 0;
    fail(signal?.reason);
  };
  const accept = (item: TItem) => {
    if (ended) return;
    const verdict = options.verdict?.(item) ?? 'yield';
    if (verdict === 'drop') return;
    ready.push(item);
    if (verdict === 'last') {
      ended = true;
      stop();
    }
    settle();
  };
  const start = () => {
    started = true;
    if (signal?.aborted) {
      ended = true;
      failure = { error: signal.reason };
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    unsubscribe = client.ws.subscribe<TData>(options.request, {
      next(result) {
        if (result.errors?.length) fail(AtelierRequestError.fromSocket(label, result.errors));
        else if (result.data) accept(options.select(result.data));
      },
      error(error) {
        fail(AtelierRequestError.fromSocket(label, error));
      },
      complete() {
        unsubscribe = null;
        if (ended) return;
        ended = true;
        stop();
        settle();
      },
    });
  };

  return {
    next() {
      if (!started) start();
      return new Promise<IteratorResult<TItem>>((resolve, reject) => {
        waiter = { resolve, reject };
        settle();
      });
    },
    async return() {
      ended = true;
      ready.length = 0;
      stop();
      settle();
      return { value: undefined, done: true };
    },
  };
}
