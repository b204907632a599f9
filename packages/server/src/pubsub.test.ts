import { describe, expect, it } from 'vitest';
import { countingTarget } from './pubsub.fixtures.ts';
import { createAtelierPubSub, type RunEventPayload, untilReturned } from './pubsub.ts';

const event = (sequence: number): RunEventPayload => ({
  runId: 'r1',
  sequence,
  type: 'STAGE_PROGRESS',
  stage: 'GENERATE',
  preview: null,
  mediaId: null,
});

describe('pub/sub', () => {
  it('listens from subscribe(): what is published before the first next() is delivered, in order', async () => {
    const pubsub = createAtelierPubSub();
    const live = pubsub.subscribe('run', 'r1');
    pubsub.publish('run', 'r1', event(1));
    pubsub.publish('run', 'r2', event(9)); // another run
    pubsub.publish('run', 'r1', event(2));
    expect((await live.next()).value?.sequence).toBe(1);
    expect((await live.next()).value?.sequence).toBe(2);
    const waiting = live.next();
    await live.return?.();
    expect(await waiting).toEqual({ value: undefined, done: true });
    pubsub.publish('run', 'r1', event(3));
    expect((await live.next()).done).toBe(true);
  });

  it('next() calls waiting together get the messages in order; return() settles the rest', async () => {
    const pubsub = createAtelierPubSub();
    const live = pubsub.subscribe('run', 'r1');
    const [a, b, c] = [live.next(), live.next(), live.next()];
    pubsub.publish('run', 'r1', event(1));
    pubsub.publish('run', 'r1', event(2));
    expect((await a).value?.sequence).toBe(1);
    expect((await b).value?.sequence).toBe(2);
    await live.return?.();
    expect(await c).toEqual({ value: undefined, done: true });
  });

  it('a thousand subscribers of one run are one listener on the event target, gone with the last', async () => {
    const { target, listeners } = countingTarget();
    const pubsub = createAtelierPubSub(target);
    const subscribers = Array.from({ length: 1000 }, () => pubsub.subscribe('run', 'r1'));
    const other = pubsub.subscribe('queue');
    expect(listeners.get('run:r1')).toBe(1);
    expect(listeners.get('queue')).toBe(1);
    pubsub.publish('run', 'r1', event(1));
    const firsts = await Promise.all(subscribers.map((s) => s.next()));
    expect(firsts.every((r) => r.value?.sequence === 1)).toBe(true);
    await Promise.all(subscribers.slice(1).map((s) => s.return?.()));
    expect(listeners.get('run:r1')).toBe(1);
    await subscribers[0]!.return?.();
    expect(listeners.get('run:r1')).toBe(0);
    // A subscriber's return() ends only itself.
    pubsub.publish('queue', { at: 1 });
    expect((await other.next()).value).toEqual({ at: 1 });
    await other.return?.();
    expect(listeners.get('queue')).toBe(0);
  });

  it('untilReturned: a generator waiting on a quiet topic ends at return(), its subscription with it', async () => {
    const pubsub = createAtelierPubSub();
    let ended = false;
    const updates = untilReturned(pubsub.subscribe('queue'), async function* (changes) {
      try {
        // Yields only some messages: between them it waits inside the loop, not at a yield.
        for await (const change of changes) if (change.at > 0) yield change.at;
      } finally {
        ended = true;
      }
    });
    const waiting = updates.next();
    pubsub.publish('queue', { at: 0 });
    expect(pubsub.subscribers('queue')).toBe(1);
    await updates.return?.();
    expect(ended).toBe(true);
    expect(pubsub.subscribers('queue')).toBe(0);
    expect(await waiting).toEqual({ value: undefined, done: true });
  });
});
