import { describe, expect, it } from 'vitest';
import { createAtelierPubSub } from '../pubsub.ts';
import { coalesced } from './coalesce.ts';

async function* burst(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
}

describe('queueUpdated pacing (coalesced)', () => {
  it('a burst of 5,000 changes becomes at most two updates, and nothing piles up', async () => {
    let updates = 0;
    for await (const _ of coalesced(burst(5_000), 20)) updates++;
    // The state at once; the first change at once, the rest of the burst as one more; then
    // the source ended.
    expect(updates).toBeGreaterThanOrEqual(2);
    expect(updates).toBeLessThanOrEqual(3);
  });

  it('each change after a quiet spell is delivered, and the subscription ends with its source', async () => {
    const pubsub = createAtelierPubSub();
    const changes = pubsub.subscribe('queue');
    const updates = coalesced(changes, 10)[Symbol.asyncIterator]();
    expect((await updates.next()).done).toBe(false); // the state now
    for (let round = 0; round < 3; round++) {
      pubsub.publish('queue', { at: round });
      pubsub.publish('queue', { at: round });
      expect((await updates.next()).done).toBe(false);
    }
    await updates.return(undefined);
  });
});
