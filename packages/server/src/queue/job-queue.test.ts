// The database queue picks and claims a run in one statement (raw SQL returning the row as
// JSON): the row it returns must be the Run Prisma reads, in queue order, each run once.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunOk } from '../../test/fixtures/runs.ts';
import { startTestServer, type TestServer } from '../../test/harness.ts';
import { type Claim, DatabaseJobQueue } from './job-queue.ts';

/** The database id of a run's global (Relay) id. */
const dbId = (run: { id: string }) => decodeGlobalID(run.id).id;

const T2I = {
  mode: 'TEXT_TO_IMAGE',
  model: 'flux1-dev',
  prompt: 'a small red boat',
  parameters: { steps: 2, width: 256, height: 256 },
};
const capable = [{ modelKey: 'flux1-dev', mode: 'TEXT_TO_IMAGE' as const }];

describe('DatabaseJobQueue', () => {
  let server: TestServer;
  beforeAll(async () => {
    // An API process only: nothing here claims runs but the test.
    server = await startTestServer({}, undefined, { worker: false });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('claims in queue order with one statement, returning the row Prisma reads', async () => {
    const { prisma } = server.app.db;
    const queue = new DatabaseJobQueue(prisma);
    const lease = new Date(Date.now() + 30_000);
    const told: string[] = [];
    const claim: Claim = {
      owner: 'test-owner',
      leaseExpiresAt: () => lease,
      run: () => Promise.reject(new Error('the database queue claims in its own statement')),
      claimed: (run) => told.push(run.id),
    };
    const low = await createRunOk(server, { ...T2I, priority: -1, style: '' });
    const plain = await createRunOk(server, {
      ...T2I,
      negativePrompt: 'fog',
      webhook: { url: 'https://example.com/hook', events: ['RUN_SUCCEEDED'] },
    });
    const high = await createRunOk(server, { ...T2I, priority: 5 });
    const other = [{ modelKey: 'flux1-dev', mode: 'IMAGE_TO_IMAGE' as const }];
    expect(await queue.next(other, claim)).toBeNull();

    const before = server.app.db.queryCount;
    const first = await queue.next(capable, claim);
    expect(server.app.db.queryCount - before).toBe(1);
    expect(first?.id).toBe(dbId(high));
    // Every column as Prisma maps it (Dates, JSON, arrays, enums, nulls).
    expect(first).toEqual(await prisma.run.findUnique({ where: { id: dbId(high) } }));
    expect(first).toMatchObject({
      status: 'RUNNING',
      attempt: 1,
      leaseOwner: 'test-owner',
      leaseExpiresAt: lease,
      workerUrl: null,
    });
    expect(first?.startedAt).toBeInstanceOf(Date);
    expect(first?.attemptId).toMatch(/^[0-9a-f-]{36}$/);

    const second = await queue.next(capable, claim);
    expect(second?.id).toBe(dbId(plain));
    expect(second).toEqual(await prisma.run.findUnique({ where: { id: dbId(plain) } }));
    expect(second?.webhookEvents).toEqual(['run.succeeded']);
    const third = await queue.next(capable, claim);
    expect(third?.id).toBe(dbId(low));
    expect(await queue.next(capable, claim)).toBeNull();
    expect(told).toEqual([first?.id, second?.id, third?.id]);
    // Each claim made a new attempt id.
    expect(new Set([first?.attemptId, second?.attemptId, third?.attemptId]).size).toBe(3);
  });

  it('two claims at once take two different runs', async () => {
    const queue = new DatabaseJobQueue(server.app.db.prisma);
    const claim: Claim = {
      owner: 'racer',
      leaseExpiresAt: () => new Date(Date.now() + 30_000),
      run: () => Promise.reject(new Error('unused')),
      claimed: () => {},
    };
    const a = await createRunOk(server, T2I);
    const b = await createRunOk(server, T2I);
    const claimed = await Promise.all([queue.next(capable, claim), queue.next(capable, claim)]);
    expect(claimed.map((r) => r?.id).sort()).toEqual([dbId(a), dbId(b)].sort());
    expect(await queue.next(capable, claim)).toBeNull();
  });
});
