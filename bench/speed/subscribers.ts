// N graphql-ws subscribers of one run's events, in a process of their own (so the server's
// RSS and CPU are its own). Driven over IPC: `{ start: { url, runId, n } }` opens N
// connections (one WebSocket each) and subscribes; `{ ready: n }` is sent once every
// subscriber has its SNAPSHOT; after every subscription completes (or `{ finish: true }`),
// it answers `{ result }`: per subscriber the events it received, and for each GENERATE
// progress event its step and the wall-clock moment it arrived.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

export const SUBSCRIPTION = /* GraphQL */ `
  subscription Watch($id: ID!) {
    runEvents(id: $id) {
      sequence type
      stage { kind status progress message step maxSteps }
      run { id status progress sequence }
    }
  }
`;

interface Event {
  sequence: number;
  type: string;
  stage: { kind: string; step: number | null } | null;
}

export interface SubscribersResult {
  /** Events received per subscriber, SNAPSHOT excluded. */
  counts: number[];
  /** Per subscriber, [step, arrivedAt] of each GENERATE progress event. */
  progress: [number, number][][];
  /** Per subscriber, when RUN_FINISHED arrived (NaN if never). */
  finishedAt: number[];
  errors: string[];
}

const now = () => performance.timeOrigin + performance.now();
/** Connections opened at once (see run()). */
const WAVE = 100;
let current: SubscribersResult | undefined;

async function run(url: string, runId: string, n: number) {
  const result: SubscribersResult = {
    counts: Array(n).fill(0),
    progress: Array.from({ length: n }, () => []),
    finishedAt: Array(n).fill(Number.NaN),
    errors: [],
  };
  current = result;
  let snapshots = 0;
  let done = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const complete = () => {
    done++;
    if (done === n) finish();
  };
  const watch = (client: ReturnType<typeof createClient>, i: number) =>
    client.subscribe<{ runEvents: Event }>(
      { query: SUBSCRIPTION, variables: { id: runId } },
      {
        next: (value) => {
          const at = now();
          if (value.errors) {
            if (result.errors.length < 10) result.errors.push(JSON.stringify(value.errors));
            return;
          }
          const event = value.data!.runEvents;
          if (event.type === 'SNAPSHOT') {
            snapshots++;
            if (snapshots === n) process.send?.({ ready: n });
            return;
          }
          result.counts[i]!++;
          if (event.stage?.kind === 'GENERATE' && typeof event.stage.step === 'number') {
            if (event.type === 'STAGE_PROGRESS') result.progress[i]!.push([event.stage.step, at]);
          }
          if (event.type === 'RUN_FINISHED') result.finishedAt[i] = at;
        },
        error: (error) => {
          if (result.errors.length < 10) {
            result.errors.push(error instanceof Error ? error.message : JSON.stringify(error));
          }
          complete();
        },
        complete,
      },
    );
  // Connections open in waves of WAVE, each wave once the previous one is acknowledged: a
  // thousand handshakes at once on two shared cores can outlast graphql-ws' 3 s connection
  // init timeout (4408) on either server, which would leave the run without its subscribers.
  // Only the setup is paced; every subscriber has its SNAPSHOT before the run starts.
  const clients: ReturnType<typeof createClient>[] = [];
  for (let first = 0; first < n; first += WAVE) {
    const wave: Promise<void>[] = [];
    for (let i = first; i < Math.min(n, first + WAVE); i++) {
      wave.push(
        new Promise<void>((connected) => {
          const client = createClient({
            url: `${url.replace(/^http/, 'ws')}/graphql`,
            webSocketImpl: WebSocket,
            retryAttempts: 0,
            lazy: false,
            on: { connected: () => connected(), closed: () => connected() },
          });
          clients.push(client);
          watch(client, i);
        }),
      );
    }
    await Promise.all(wave);
  }
  await finished;
  await new Promise((resolve) => process.send?.({ result }, resolve));
  await Promise.all(clients.map((c) => c.dispose()));
}

process.on(
  'message',
  (message: { start?: { url: string; runId: string; n: number }; finish?: boolean }) => {
    if (message.start) {
      void run(message.start.url, message.start.runId, message.start.n).then(() => process.exit(0));
    }
    if (message.finish) process.send?.({ result: current }, () => process.exit(0));
  },
);
