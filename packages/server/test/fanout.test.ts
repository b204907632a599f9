// Many subscribers of one run: each event is executed and read from the database once, whatever
// the number of subscribers; progress goes out at the sampler's rate up to
// PROGRESS_EVENTS_PER_SECOND.
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sharedSubscriptions } from '../src/websocket.ts';
import {
  createRunOk,
  holdQueue,
  RUN_EVENTS,
  type RunEventView,
  until,
  watchRunWs,
} from './fixtures/runs.ts';
import { startTestServer, type TestServer } from './harness.ts';

const SUBSCRIBERS = 20;

describe('run events fan-out', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '30' });
  });
  afterAll(() => server?.stop());

  it(`${SUBSCRIBERS} subscribers of one run: one execution and read per event, not one per subscriber`, async () => {
    const hold = await holdQueue(server);
    const run = await createRunOk(server, {
      mode: 'TEXT_TO_IMAGE',
      model: 'flux1-dev',
      prompt: 'watched by many',
      parameters: { steps: 12, width: 256, height: 256 },
    });
    // Everyone subscribed (SNAPSHOT received) before the run moves.
    let snapshots = 0;
    let allSubscribed: () => void = () => {};
    const subscribed = new Promise<void>((resolve) => {
      allSubscribed = resolve;
    });
    const watchers = Array.from({ length: SUBSCRIBERS }, () =>
      watchRunWs(server, run.id, {
        onEvent: (e) => {
          if (e.type === 'SNAPSHOT' && ++snapshots === SUBSCRIBERS) allSubscribed();
        },
      }),
    );
    await Promise.race([subscribed, Promise.all(watchers)]);
    const reads = server.app.services.eventReads.stats;
    const before = { ...reads };
    const executed = { ...sharedSubscriptions.stats };
    hold.release();
    const all: RunEventView[][] = await Promise.all(watchers);

    for (const events of all) {
      expect(events.at(-1)?.type).toBe('RUN_FINISHED');
      expect(events.at(-1)?.run.status).toBe('SUCCEEDED');
      // Sequences only grow: nothing is delivered twice or out of order.
      const seqs = events.map((e) => e.sequence);
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    }
    const delivered = all.reduce((n, events) => n + events.length - 1, 0); // minus SNAPSHOT
    const distinct = new Set(all.flatMap((events) => events.slice(1).map((e) => e.sequence)));
    const loads = reads.loads - before.loads;
    // Each event reads its run, its stage and (OUTPUT) its media: at most three reads per
    // distinct event, however many subscribers received it.
    expect(distinct.size).toBeGreaterThan(5);
    expect(delivered).toBeGreaterThanOrEqual(SUBSCRIBERS * distinct.size * 0.8);
    expect(loads).toBeLessThanOrEqual(distinct.size * 3);
    // Same document, variables and viewer: one execution per event (plus, at most, one
    // catch-up of a subscriber's own after a quiet spell); every other delivery reused it.
    const executions = sharedSubscriptions.stats.executions - executed.executions;
    expect(executions).toBeLessThanOrEqual(distinct.size + SUBSCRIBERS);
    expect(sharedSubscriptions.stats.shared - executed.shared).toBeGreaterThanOrEqual(
      delivered - executions,
    );
    // The sampler stepped 12 times at 30 ms: progress went out at its rate (10/s cap → at
    // least a few progress events), each with its step.
    const progress = all[0]!.filter(
      (e) => e.type === 'STAGE_PROGRESS' && (e.stage as { step?: number | null } | null)?.step,
    );
    expect(progress.length).toBeGreaterThanOrEqual(2);
  });

  it('a client that leaves a quiet run or queue ends its pub/sub subscriptions at once', async () => {
    const hold = await holdQueue(server);
    const run = await createRunOk(server, {
      mode: 'TEXT_TO_IMAGE',
      model: 'flux1-dev',
      prompt: 'left alone',
      parameters: { steps: 2, width: 256, height: 256 },
    });
    const runId = Buffer.from(run.id, 'base64').toString().split(':')[1]!;
    const { pubsub } = server.app.services;
    const queueBefore = pubsub.subscribers('queue');
    const client = createClient({
      url: `${server.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    try {
      // Both get their first result, then hear nothing: the run stays queued behind the hold.
      const first = (query: string, variables?: Record<string, unknown>) => {
        let leave: () => void = () => {};
        const received = new Promise<void>((resolve, reject) => {
          leave = client.subscribe(
            { query, variables },
            { next: () => resolve(), error: reject, complete: () => {} },
          );
        });
        return received.then(() => leave);
      };
      const leaveRun = await first(RUN_EVENTS, { id: run.id });
      const leaveQueue = await first('subscription { queueUpdated { queued } }');
      expect(pubsub.subscribers('run', runId)).toBe(1);
      expect(pubsub.subscribers('queue')).toBe(queueBefore + 1);
      leaveRun();
      leaveQueue();
      // Well within the run's quiet-spell check (3 s), which would otherwise be its next move.
      await until(
        async () =>
          pubsub.subscribers('run', runId) === 0 && pubsub.subscribers('queue') === queueBefore,
        'the subscriptions to end',
        2_000,
      );
    } finally {
      await client.dispose();
      hold.release();
    }
  });
});
