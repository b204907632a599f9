import { describe, expect, it } from 'vitest';
import type { RunEventPayload } from '../pubsub.ts';
import { type FollowRunOptions, followRun, type RunMark } from './follow-run.ts';

/** A pub/sub subscription the test publishes into; return() ends a pending next(), as pub/sub's does. */
function channel() {
  const queue: RunEventPayload[] = [];
  let pending: ((result: IteratorResult<RunEventPayload>) => void) | null = null;
  let closed = false;
  const source: AsyncIterableIterator<RunEventPayload> = {
    next() {
      const item = queue.shift();
      if (item) return Promise.resolve({ value: item, done: false });
      if (closed) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        pending = resolve;
      });
    },
    async return() {
      closed = true;
      pending?.({ value: undefined, done: true });
      pending = null;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return source;
    },
  };
  return {
    source,
    closed: () => closed,
    publish(sequence: number, type: RunEventPayload['type']) {
      const item = { runId: 'r', sequence, type, stage: null, preview: null, mediaId: null };
      if (pending) {
        const resolve = pending;
        pending = null;
        resolve({ value: item, done: false });
      } else queue.push(item);
    },
  };
}

async function collect(events: AsyncIterable<RunEventPayload>) {
  const seen: string[] = [];
  for await (const e of events) seen.push(`${e.sequence} ${e.type}`);
  return seen;
}

type Timing = Pick<FollowRunOptions, 'idleMs' | 'graceMs' | 'read'>;

/** Follows a run from sequence 1 to the end of its stream; the subscription is closed then. */
async function follow(live: ReturnType<typeof channel>, timing: Timing) {
  const seen = await collect(followRun(live.source, { runId: 'r', from: 1, ...timing }));
  expect(live.closed()).toBe(true);
  return seen;
}

describe('followRun', () => {
  it('an event the database already has when a quiet spell ends, still on its way through pub/sub, reaches the subscriber as itself', async () => {
    const live = channel();
    const reads: RunMark[] = [];
    const seen = await follow(live, {
      idleMs: 20,
      // Long: the events come well within it, and nothing waits for it to run out.
      graceMs: 60_000,
      read: async () => {
        // The database has STAGE_STARTED (2); its message arrives after this read.
        const mark = { sequence: 2, status: 'RUNNING' };
        reads.push(mark);
        setTimeout(() => {
          live.publish(2, 'STAGE_STARTED');
          live.publish(3, 'RUN_FINISHED');
        }, 30);
        return mark;
      },
    });
    expect(reads).toHaveLength(1);
    expect(seen).toEqual(['2 STAGE_STARTED', '3 RUN_FINISHED']);
  });

  it('events pub/sub lost are replaced by a SNAPSHOT after the grace, and a run that ended meanwhile by RUN_FINISHED', async () => {
    const live = channel();
    const marks: RunMark[] = [
      { sequence: 4, status: 'RUNNING' },
      { sequence: 6, status: 'SUCCEEDED' },
    ];
    const seen = await follow(live, {
      idleMs: 10,
      graceMs: 20,
      read: async () => marks.shift() ?? null,
    });
    expect(seen).toEqual(['4 SNAPSHOT', '6 RUN_FINISHED']);
    expect(marks).toEqual([]);
  });

  it('a lost event is not hidden by later ones that arrive within the grace: a SNAPSHOT stands in for it, then they follow', async () => {
    const live = channel();
    const seen = await follow(live, {
      idleMs: 10,
      graceMs: 50,
      read: async () => {
        // STAGE_STARTED (2) was lost; what came after it arrives during the grace.
        setTimeout(() => {
          live.publish(3, 'STAGE_PROGRESS');
          live.publish(4, 'RUN_FINISHED');
        }, 5);
        return { sequence: 2, status: 'RUNNING' };
      },
    });
    expect(seen).toEqual(['2 SNAPSHOT', '3 STAGE_PROGRESS', '4 RUN_FINISHED']);
  });

  it('events delivered before the read are passed on once; a run that ended with no further event ends the stream', async () => {
    const live = channel();
    live.publish(2, 'STAGE_STARTED');
    live.publish(2, 'STAGE_STARTED'); // a duplicate is dropped
    live.publish(3, 'STAGE_PROGRESS');
    const seen = await follow(live, {
      idleMs: 10,
      graceMs: 60_000,
      // The run was canceled with no event: its sequence is the one the subscriber has.
      read: async () => ({ sequence: 3, status: 'CANCELED' }),
    });
    expect(seen).toEqual(['2 STAGE_STARTED', '3 STAGE_PROGRESS', '3 RUN_FINISHED']);
  });

  it('a run that is gone ends the stream', async () => {
    const live = channel();
    const seen = await follow(live, {
      idleMs: 10,
      graceMs: 10,
      read: async () => null,
    });
    expect(seen).toEqual([]);
  });
});
