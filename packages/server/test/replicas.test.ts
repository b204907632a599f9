// Several processes on one PostgreSQL database and one Redis: an API replica that executes
// nothing (`serve --no-worker`) and executing servers. Events of a run executed by one
// process reach subscribers on another; cancelRun on the API replica stops the run where it
// executes; a process that starts takes over no run whose owner is alive, and adopts one
// whose owner's lease has expired. Needs PostgreSQL and Redis (skipped loudly otherwise).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRunOk,
  getRun,
  holdQueue,
  RUN_FIELDS,
  type RunView,
  until,
  watchHeld,
  watchRunWs,
} from './fixtures/runs.ts';
import {
  createPersistentState,
  type PersistentState,
  startTestServer,
  TEST_DB,
  type TestServer,
} from './harness.ts';

const REDIS_URL = process.env.TEST_REDIS_URL;
const enabled = TEST_DB === 'postgres' && Boolean(REDIS_URL);
if (TEST_DB === 'postgres' && !REDIS_URL) {
  console.warn('\n*** TEST_REDIS_URL is not set: the multi-process tests are SKIPPED. ***\n');
}

const T2I = {
  mode: 'TEXT_TO_IMAGE',
  model: 'flux1-dev',
  prompt: 'a lighthouse seen from another replica',
  parameters: { steps: 4, width: 256, height: 256 },
};

describe.skipIf(!enabled)('replicas on one database and one Redis', () => {
  let state: PersistentState;
  let env: Record<string, string>;
  /** Executes runs (bundled sandbox). */
  let worker: TestServer;
  /** API only: executes nothing. */
  let api: TestServer;
  const extra: { server: TestServer; home: string }[] = [];

  beforeAll(async () => {
    state = await createPersistentState();
    // Pub/sub channels are global in Redis: a prefix of its own keeps this file apart.
    env = {
      REDIS_URL: REDIS_URL as string,
      REDIS_PREFIX: `atelier-test-${randomBytes(4).toString('hex')}`,
      SANDBOX_STEP_DELAY_MS: '20',
    };
    worker = await startTestServer(env, state);
    api = await startTestServer(env, state, { worker: false });
  });

  afterAll(async () => {
    worker?.app.sandbox?.releaseHang();
    for (const { server, home } of extra) {
      await server.stop();
      await rm(home, { recursive: true, force: true });
    }
    await api?.stop();
    await worker?.stop();
    await state?.dispose();
  });

  it("the API replica executes nothing, registers no worker process, and lists the cluster's workers", async () => {
    expect(api.app.sandbox).toBeNull();
    expect(api.app.services.scheduler.running).toBe(0);
    const query = '{ queue { workers { url } processes { id role comfyui { url } } } }';
    type Q = {
      queue: {
        workers: { url: string }[];
        processes: { id: string; role: string; comfyui: { url: string }[] }[];
      };
    };
    const sandboxUrl = worker.app.sandbox!.url;
    for (const server of [api, worker]) {
      const { data } = await server.gql<Q>(query);
      expect(data?.queue.workers).toEqual([{ url: sandboxUrl }]);
      expect(data?.queue.processes).toEqual([
        { id: worker.app.services.instanceId, role: 'serve', comfyui: [{ url: sandboxUrl }] },
      ]);
    }
  });

  it('a run created on the API replica runs on the worker; its subscriber there gets every event', async () => {
    const before = worker.app.sandbox!.stats().succeeded;
    // Held until the subscriber has its SNAPSHOT, so it sees every event from the first.
    const hold = await holdQueue(worker);
    const run = await createRunOk(api, T2I);
    const events = await watchHeld(api, hold, run.id);
    expect(events[0]?.type).toBe('SNAPSHOT');
    const types = events.map((e) => e.type);
    expect(types).toContain('STAGE_STARTED');
    expect(types).toContain('STAGE_PROGRESS');
    expect(types).toContain('OUTPUT');
    expect(types.at(-1)).toBe('RUN_FINISHED');
    const sequences = events.map((e) => e.sequence);
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    const last = events.at(-1)!.run;
    expect(last.status).toBe('SUCCEEDED');
    expect(last.worker).toBe(worker.app.sandbox!.url);
    // The run and the two blockers ahead of it on the sandbox.
    expect(worker.app.sandbox!.stats().succeeded).toBe(before + 3);
    // The output is stored under the shared home and served by the replica that did not make it.
    const media = await fetch(last.outputs[0]!.url.replace(worker.url, api.url));
    expect(media.status).toBe(200);
  });

  it('cancelRun on the API replica stops the run where it executes, on the worker', async () => {
    const sandbox = worker.app.sandbox!;
    const interruptedBefore = sandbox.stats().interrupted;
    sandbox.hangNextPrompt({ afterSteps: 1, interruptible: true });
    const run = await createRunOk(api, T2I);
    const events = watchRunWs(api, run.id);
    await until(async () => sandbox.hanging, 'the run to hang on the worker');
    expect((await getRun(api, run.id)).status).toBe('RUNNING');

    const canceled = await api.gql<{ cancelRun: { __typename: string } }>(
      'mutation($id: ID!) { cancelRun(id: $id) { __typename } }',
      { id: run.id },
    );
    expect(canceled.data?.cancelRun.__typename).toBe('CancelRunSuccess');
    const final = (await events).at(-1)!;
    expect(final.type).toBe('RUN_FINISHED');
    expect(final.run.status).toBe('CANCELED');
    await until(
      async () => sandbox.stats().interrupted === interruptedBefore + 1,
      'the sandbox to count the interrupt',
    );
  });

  it('a process that starts takes over no run whose owner is alive', async () => {
    const sandbox = worker.app.sandbox!;
    sandbox.hangNextPrompt({ afterSteps: 1, interruptible: true });
    const run = await createRunOk(api, T2I);
    await until(async () => sandbox.hanging, 'the run to hang on the worker');
    const uuid = Buffer.from(run.id, 'base64').toString().split(':')[1] as string;
    const owner = await worker.app.db.prisma.run.findUniqueOrThrow({ where: { id: uuid } });
    expect(owner.leaseOwner).toBeTruthy();

    // A second executing server with an installation (home) of its own: start() adopts
    // orphans before it returns, so this is the moment it would have taken the run.
    const home = await mkdtemp(path.join(tmpdir(), 'atelier-test-'));
    const third = await startTestServer(env, { ...state, home, dispose: async () => {} });
    extra.push({ server: third, home });
    expect(third.app.services.scheduler.running).toBe(0);
    const still = await worker.app.db.prisma.run.findUniqueOrThrow({ where: { id: uuid } });
    expect(still.leaseOwner).toBe(owner.leaseOwner);
    expect(still.status).toBe('RUNNING');

    sandbox.releaseHang();
    let finished: RunView | null = null;
    await until(async () => {
      finished = await getRun(api, run.id);
      return finished.status === 'SUCCEEDED';
    }, 'the run to finish on its first worker');
    expect(finished!.attempt).toBe(1);
  });

  it('a run whose owner is gone (lease expired) is adopted and finishes', async () => {
    const prisma = worker.app.db.prisma;
    const run = await createRunOk(api, { ...T2I, priority: -100 });
    const uuid = Buffer.from(run.id, 'base64').toString().split(':')[1] as string;
    // What a process killed right after claiming leaves behind: RUNNING, with a lease that
    // nobody renews. Claimed here by hand unless a worker was faster.
    const { count } = await prisma.run.updateMany({
      where: { id: uuid, status: 'QUEUED' },
      data: {
        status: 'RUNNING',
        startedAt: new Date(),
        attempt: { increment: 1 },
        attemptId: randomUUID(),
        leaseOwner: 'a-process-that-died',
        leaseExpiresAt: new Date(Date.now() - 1000),
      },
    });
    await until(
      async () => (await getRun(api, run.id)).status === 'SUCCEEDED',
      'the orphaned run to be adopted and finish',
      30_000,
    );
    if (count === 1) {
      const row = await prisma.run.findUniqueOrThrow({ where: { id: uuid } });
      expect(row.leaseOwner).not.toBe('a-process-that-died');
    }
  });

  it('queue counts agree on both replicas', async () => {
    const query = `{ queue { queued running } runs(first: 50) { edges { node { ${RUN_FIELDS} } } } }`;
    const [a, b] = await Promise.all([worker.gql(query), api.gql(query)]);
    const counts = (r: typeof a) => (r.data as { queue: unknown }).queue;
    expect(counts(a)).toEqual(counts(b));
    const ids = (r: typeof a) =>
      (r.data as { runs: { edges: { node: RunView }[] } }).runs.edges.map((e) => e.node.id);
    expect(ids(a)).toEqual(ids(b));
  });
});

describe.skipIf(!enabled)('API keys on two replicas (AUTH_MODE=keys, one Redis)', () => {
  let state: PersistentState;
  let a: TestServer;
  let b: TestServer;
  const homes: string[] = [];

  beforeAll(async () => {
    state = await createPersistentState();
    const env = {
      REDIS_URL: REDIS_URL as string,
      REDIS_PREFIX: `atelier-test-${randomBytes(4).toString('hex')}`,
      AUTH_MODE: 'keys',
      RATE_LIMIT_PER_MINUTE: '5',
    };
    a = await startTestServer(env, state, { worker: false });
    const home = await mkdtemp(path.join(tmpdir(), 'atelier-test-'));
    homes.push(home);
    b = await startTestServer(env, { ...state, home, dispose: async () => {} }, { worker: false });
  });

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    for (const home of homes) await rm(home, { recursive: true, force: true });
    await state?.dispose();
  });

  const status = async (server: TestServer, apiKey: string) =>
    (
      await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ query: '{ viewer { scopes } }' }),
      })
    ).status;

  it('the per-key rate limit counts requests on every replica together', async () => {
    const { key } = await a.createKey({ account: 'limited' });
    // 5 a minute in all: 3 on one replica and 2 on the other use them up.
    expect([
      await status(a, key),
      await status(b, key),
      await status(a, key),
      await status(b, key),
      await status(a, key),
    ]).toEqual([200, 200, 200, 200, 200]);
    expect(await status(b, key)).toBe(429);
    expect(await status(a, key)).toBe(429);
  });

  it('a key revoked on one replica is refused on the other at once, not after its cache', async () => {
    const { key, prefix } = await a.createKey({ account: 'revoked-elsewhere' });
    expect(await status(b, key)).toBe(200); // cached on b now (10 s)
    await a.app.services.auth.revokeApiKey(prefix);
    await until(async () => (await status(b, key)) === 401, 'b to refuse the revoked key', 2_000);
  });
});
