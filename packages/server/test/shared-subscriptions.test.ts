// Subscribers of one run over graphql-ws share the execution of each live event when their
// execution could not differ (src/shared-subscriptions.ts): same document, variables and
// viewer. Another selection, another viewer (an admin) and another account are kept apart:
// each gets its own fields, and an account that may not read the run gets NOT_FOUND and no
// event, however many others are watching it.
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sharedSubscriptions } from '../src/websocket.ts';
import {
  createRunOk,
  holdQueue,
  RUN_EVENTS,
  type RunEventView,
  watchRunWs,
} from './fixtures/runs.ts';
import { startTestServer, type TestServer } from './harness.ts';

/** Alice's subscribers with the same document and variables. */
const SAME = 8;

/** The same subscription with another selection (and an alias): a group of its own. */
const SMALL = /* GraphQL */ `
  subscription Small($id: ID!) {
    events: runEvents(id: $id) { seq: sequence type }
  }
`;

interface Outcome {
  data: Record<string, unknown>[];
  errors: { message: string; extensions?: { code?: string } }[];
}

/** One subscription with `apiKey` until it completes or fails; `onData` sees each result. */
function subscribe(
  server: TestServer,
  query: string,
  id: string,
  apiKey: string,
  onData: (data: Record<string, unknown>) => void = () => {},
): Promise<Outcome> {
  const client = createClient({
    url: `${server.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${apiKey}` },
  });
  const outcome: Outcome = { data: [], errors: [] };
  return new Promise<Outcome>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no end after 60 s')), 60_000);
    client.subscribe(
      { query, variables: { id } },
      {
        next: (value) => {
          if (value.errors) outcome.errors.push(...(value.errors as unknown as Outcome['errors']));
          if (value.data) {
            outcome.data.push(value.data);
            onData(value.data);
          }
        },
        error: (error) => {
          clearTimeout(timer);
          if (Array.isArray(error)) outcome.errors.push(...(error as Outcome['errors']));
          else reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
          resolve(outcome);
        },
        complete: () => {
          clearTimeout(timer);
          resolve(outcome);
        },
      },
    );
  }).finally(() => client.dispose());
}

describe('shared execution of run events', () => {
  let server: TestServer;
  let alice: { key: string };
  let bob: { key: string };
  let root: { key: string };
  beforeAll(async () => {
    server = await startTestServer({ AUTH_MODE: 'keys', SANDBOX_STEP_DELAY_MS: '30' });
    [alice, bob, root] = await Promise.all([
      server.createKey({ account: 'alice', credits: 1000 }),
      server.createKey({ account: 'bob', credits: 1000 }),
      server.createKey({ account: 'root', credits: 1000, admin: true }),
    ]);
  });
  afterAll(() => server?.stop());

  it('one execution per event and group; other selections, viewers and accounts kept apart', async () => {
    const hold = await holdQueue(server, { apiKey: alice.key });
    const run = await createRunOk(
      server,
      {
        mode: 'TEXT_TO_IMAGE',
        model: 'flux1-dev',
        prompt: 'watched by a crowd',
        parameters: { steps: 10, width: 256, height: 256 },
      },
      { apiKey: alice.key },
    );
    // Everyone who may watch has its SNAPSHOT before the run moves.
    const watching = SAME + 2;
    let snapshots = 0;
    let allSubscribed: () => void = () => {};
    const subscribed = new Promise<void>((resolve) => {
      allSubscribed = resolve;
    });
    const seen = (type: unknown) => {
      if (type === 'SNAPSHOT' && ++snapshots === watching) allSubscribed();
    };
    const same = Array.from({ length: SAME }, () =>
      watchRunWs(server, run.id, { apiKey: alice.key, onEvent: (e) => seen(e.type) }),
    );
    const small = subscribe(server, SMALL, run.id, alice.key, (d) =>
      seen((d.events as { type: string }).type),
    );
    const admin = subscribe(server, RUN_EVENTS, run.id, root.key, (d) =>
      seen((d.runEvents as { type: string }).type),
    );
    await Promise.race([subscribed, Promise.all([...same, small, admin])]);
    // Bob may not read Alice's run: while eleven others watch it, he gets NOT_FOUND.
    const other = await subscribe(server, RUN_EVENTS, run.id, bob.key);
    expect(other.data).toEqual([]);
    expect(other.errors).toHaveLength(1);
    expect(other.errors[0]?.extensions?.code).toBe('NOT_FOUND');

    const before = { ...sharedSubscriptions.stats };
    hold.release();
    const all: RunEventView[][] = await Promise.all(same);
    const [smallOutcome, adminOutcome] = await Promise.all([small, admin]);
    const executions = sharedSubscriptions.stats.executions - before.executions;
    const shared = sharedSubscriptions.stats.shared - before.shared;

    // The same operation: the same events, field for field, each complete.
    for (const events of all) {
      expect(events.at(-1)?.type).toBe('RUN_FINISHED');
      expect(events.at(-1)?.run.status).toBe('SUCCEEDED');
      const seqs = events.map((e) => e.sequence);
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    }
    const live = all.map((events) => events.slice(1));
    const common = new Set(live[0]!.map((e) => e.sequence));
    for (const events of live) {
      for (const e of events) {
        if (!common.has(e.sequence)) continue;
        expect(e).toEqual(live[0]!.find((x) => x.sequence === e.sequence));
      }
    }
    // Another selection gets its own fields under its own alias, nothing of the others'.
    expect(smallOutcome.errors).toEqual([]);
    for (const d of smallOutcome.data) {
      expect(Object.keys(d)).toEqual(['events']);
      expect(Object.keys(d.events as object).sort()).toEqual(['seq', 'type']);
    }
    expect((smallOutcome.data.at(-1)!.events as { type: string }).type).toBe('RUN_FINISHED');
    // The admin watches Alice's run in a group of its own, with the full selection.
    expect(adminOutcome.errors).toEqual([]);
    const adminLast = adminOutcome.data.at(-1)!.runEvents as RunEventView;
    expect(adminLast.type).toBe('RUN_FINISHED');
    expect(adminLast.run.status).toBe('SUCCEEDED');

    // Three groups (Alice's full selection, Alice's small one, the admin's): at most three
    // executions per distinct event, plus one per subscriber for a catch-up after a quiet
    // spell (those events are the subscriber's own). Every other delivery reused a result.
    const distinct = new Set(live.flatMap((events) => events.map((e) => e.sequence)));
    const delivered =
      live.reduce((n, events) => n + events.length, 0) +
      smallOutcome.data.length -
      1 +
      adminOutcome.data.length -
      1;
    expect(distinct.size).toBeGreaterThan(5);
    expect(executions).toBeLessThanOrEqual(3 * distinct.size + watching);
    expect(executions).toBeLessThan(delivered / 2);
    expect(shared).toBeGreaterThanOrEqual(delivered - executions);
  });
});
