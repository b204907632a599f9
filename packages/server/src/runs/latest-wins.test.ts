import { describe, expect, it } from 'vitest';
import { IDLE, latestWins } from './latest-wins.ts';

type Event = { seq: number; type: string; stage?: string };

const kindOf = (e: Event) =>
  e.type === 'PROGRESS' || e.type === 'PREVIEW' ? `${e.type}:${e.stage ?? ''}` : null;

/** A source that produces `events` at once, then waits until `end()`. */
function burst(events: Event[]) {
  let end: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    end = resolve;
  });
  async function* source() {
    for (const e of events) yield e;
    await ended;
  }
  return { source: source(), end };
}

describe('latestWins', () => {
  it('a slow consumer gets the latest progress of each kind, and every other event in order', async () => {
    const events: Event[] = [
      { seq: 1, type: 'STARTED', stage: 'GENERATE' },
      ...Array.from({ length: 50 }, (_, i) => ({
        seq: 2 + i,
        type: 'PROGRESS',
        stage: 'GENERATE',
      })),
      { seq: 52, type: 'PREVIEW', stage: 'GENERATE' },
      { seq: 53, type: 'OUTPUT', stage: 'GENERATE' },
      { seq: 54, type: 'PREVIEW', stage: 'GENERATE' },
      { seq: 55, type: 'PROGRESS', stage: 'GENERATE' },
      { seq: 56, type: 'FINISHED' },
    ];
    const { source, end } = burst(events);
    const iterator = latestWins(source, kindOf);
    const first = await iterator.next();
    expect(first.value?.seq).toBe(1);
    // While the consumer was busy with the first event, everything else arrived.
    await new Promise((resolve) => setImmediate(resolve));
    end();
    const rest: Event[] = [];
    for await (const e of iterator) rest.push(e);
    expect(rest.map((e) => e.seq)).toEqual([53, 54, 55, 56]);
    const seqs = [1, ...rest.map((e) => e.seq)];
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('a consumer that keeps up gets every event', async () => {
    const events: Event[] = Array.from({ length: 5 }, (_, i) => ({
      seq: i + 1,
      type: 'PROGRESS',
      stage: 'GENERATE',
    }));
    async function* slow() {
      for (const e of events) {
        yield e;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const seen: number[] = [];
    for await (const e of latestWins(slow(), kindOf)) seen.push(e.seq);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('a failing source fails the iteration after what was buffered', async () => {
    async function* failing() {
      yield { seq: 1, type: 'STARTED' } as Event;
      throw new Error('source broke');
    }
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const e of latestWins(failing(), kindOf)) seen.push(e.seq);
      })(),
    ).rejects.toThrow('source broke');
    expect(seen).toEqual([1]);
  });
});

describe('latestWins return()', () => {
  it('ends at once while a next() waits for a source that is silent', async () => {
    let returned = false;
    const silent: AsyncIterator<Event> = {
      next: () => new Promise(() => {}),
      return: async () => {
        returned = true;
        return { value: undefined, done: true };
      },
    };
    const iterator = latestWins({ [Symbol.asyncIterator]: () => silent }, kindOf);
    const pending = iterator.next();
    await iterator.return?.();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(returned).toBe(true);
  });
});

describe('latestWins with idleMs', () => {
  it('passes every item through once, with IDLE while the source is quiet', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* source() {
      yield { seq: 1, type: 'STARTED' } as Event;
      await gate;
      yield { seq: 2, type: 'PROGRESS', stage: 'GENERATE' } as Event;
      yield { seq: 3, type: 'FINISHED' } as Event;
    }
    const seen: (number | typeof IDLE)[] = [];
    for await (const item of latestWins(source(), kindOf, { idleMs: 5, maxIdleMs: 20 })) {
      seen.push(item === IDLE ? IDLE : item.seq);
      if (seen.filter((i) => i === IDLE).length === 3) release();
    }
    expect(seen.filter((i) => i !== IDLE)).toEqual([1, 2, 3]);
    expect(seen[0]).toBe(1);
    expect(seen.filter((i) => i === IDLE)).toHaveLength(3);
    // Nothing quiet once the items came: no IDLE between them or after the end.
    expect(seen.slice(-2)).toEqual([2, 3]);
  });

  it('return() while waiting for a quiet source ends it without a later IDLE', async () => {
    const silent: AsyncIterator<Event> = {
      next: () => new Promise(() => {}),
      return: async () => ({ value: undefined, done: true }),
    };
    const iterator = latestWins({ [Symbol.asyncIterator]: () => silent }, kindOf, {
      idleMs: 1,
    });
    expect(await iterator.next()).toEqual({ value: IDLE, done: false });
    const pending = iterator.next();
    await iterator.return?.();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });
});
