// createRun is one statement (the function "atelier_create_run"): the run it answers must be
// the row Prisma reads, its stages and charge must be written with it, and the account's
// lock must keep concurrent creates of one account (same idempotency key, short balance)
// race-free. A process with a free slot may have the run created already claimed, but never
// ahead of queued runs it could execute.
import http, { type ClientRequest } from 'node:http';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRunOk, getRun, until } from '../../test/fixtures/runs.ts';
import { startTestServer, type TestServer } from '../../test/harness.ts';
import { LOCAL_ACCOUNT_ID } from '../auth/viewer.ts';
import { InsufficientCreditsError } from '../credits/credits.errors.ts';
import type { CreateRunRow } from './run-row.ts';
import type { CreateRunRequest } from './runs.service.ts';

const T2I: CreateRunRequest = {
  mode: 'TEXT_TO_IMAGE',
  model: 'flux1-dev',
  prompt: 'a small red boat',
  parameters: { steps: 2, width: 256, height: 256 },
};

describe('createRun in one statement', () => {
  let server: TestServer;
  beforeAll(async () => {
    // An API process only: no executor claims the runs while the test reads them.
    server = await startTestServer({}, undefined, { worker: false });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers the row Prisma reads, with its stages and inputs, in one statement', async () => {
    const { prisma } = server.app.db;
    const { runs } = server.app.services;
    const { accountId } = await server.createKey({ account: 'one-statement', credits: 1000 });
    const before = server.app.db.queryCount;
    const run = await runs.create(accountId, {
      ...T2I,
      negativePrompt: '  fog ',
      priority: 7,
      seed: '42',
      skipStages: ['OPTIMIZE'],
      output: { format: 'WEBP', quality: 80 },
      webhook: { url: 'https://example.com/hook', events: ['run.succeeded'] },
    });
    expect(server.app.db.queryCount - before).toBe(1);
    // Every column as Prisma maps it (Dates, JSON, arrays, enums, nulls).
    expect(run).toEqual(await prisma.run.findUnique({ where: { id: run.id } }));
    expect(run).toMatchObject({
      ownerId: accountId,
      status: 'QUEUED',
      negativePrompt: 'fog',
      priority: 7,
      seed: '42',
      skipStages: ['OPTIMIZE'],
      outputFormat: 'WEBP',
      outputQuality: 80,
      webhookUrl: 'https://example.com/hook',
      webhookEvents: ['run.succeeded'],
      idempotencyKey: null,
      retryOfId: null,
      adjustments: [],
    });
    expect(run.webhookSecret).toMatch(/\S{20,}/);
    expect(run.createdAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(run.createdAt.getTime()).toBeLessThanOrEqual(Date.now());
    const stages = await prisma.stage.findMany({
      where: { runId: run.id },
      orderBy: { position: 'asc' },
    });
    expect(stages.map((s) => [s.kind, s.position, s.status])).toEqual([
      ['TRANSLATE', 0, 'PENDING'],
      ['STYLE', 1, 'PENDING'],
      ['OPTIMIZE', 2, 'PENDING'],
      ['GENERATE', 3, 'PENDING'],
    ]);
    const account = await prisma.account.findUniqueOrThrow({ where: { id: accountId } });
    expect(account.creditBalance).toBe(1000 - run.cost);
    expect(run.cost).toBeGreaterThan(0);
    const ledger = await prisma.creditTransaction.findMany({ where: { runId: run.id } });
    expect(ledger.map((t) => [t.amount, t.reason])).toEqual([[-run.cost, 'RUN']]);
  });

  it('gives one run to concurrent creates with the same idempotency key', async () => {
    const { prisma } = server.app.db;
    const { runs } = server.app.services;
    const { accountId } = await server.createKey({ account: 'same-key', credits: 1000 });
    const created = await Promise.all(
      Array.from({ length: 6 }, () => runs.create(accountId, { ...T2I, idempotencyKey: 'k-1' })),
    );
    expect(new Set(created.map((r) => r.id)).size).toBe(1);
    expect(await prisma.run.count({ where: { ownerId: accountId } })).toBe(1);
    const account = await prisma.account.findUniqueOrThrow({ where: { id: accountId } });
    expect(account.creditBalance).toBe(1000 - created[0]!.cost);
  });

  it('stores a lone surrogate of a prompt as U+FFFD, as a text column would', async () => {
    const { accountId } = await server.createKey({ account: 'surrogates', credits: 1000 });
    const run = await server.app.services.runs.create(accountId, {
      ...T2I,
      prompt: '\ud800 boat \udc00',
      negativePrompt: 'fog \ud83d\ude00',
    });
    expect(run.prompt).toBe('\ufffd boat \ufffd');
    expect(run.negativePrompt).toBe('fog \ud83d\ude00');
  });

  it('refuses a short balance and writes nothing', async () => {
    const { prisma } = server.app.db;
    const { runs } = server.app.services;
    const { accountId } = await server.createKey({ account: 'short', credits: 0 });
    await expect(runs.create(accountId, T2I)).rejects.toBeInstanceOf(InsufficientCreditsError);
    expect(await prisma.run.count({ where: { ownerId: accountId } })).toBe(0);
    expect(await prisma.stage.count({ where: { run: { ownerId: accountId } } })).toBe(0);
    expect(await prisma.creditTransaction.count({ where: { accountId, reason: 'RUN' } })).toBe(0);
  });

  it('ranks and caps by the queued runs, counted as runs enter and leave the queue', async () => {
    const { prisma } = server.app.db;
    const { runs } = server.app.services;
    const one = (await server.createKey({ account: 'queue-count', credits: 1_000_000 })).accountId;
    const two = (await server.createKey({ account: 'queue-count-2', credits: 1_000_000 }))
      .accountId;
    const queued = (ownerId: string) => prisma.run.count({ where: { ownerId, status: 'QUEUED' } });
    const status = (id: string, to: 'QUEUED' | 'RUNNING' | 'CANCELED') =>
      prisma.run.update({ where: { id }, data: { status: to } });
    const rankOf = async (ownerId: string) => {
      const expected = await queued(ownerId);
      const run = await runs.create(ownerId, T2I);
      expect(run.queueRank).toBe(expected);
      return run;
    };

    const a = await rankOf(one);
    expect(a.queueRank).toBe(0);
    // Concurrent creates of one account take turns on its lock: ranks 1, 2, 3.
    const [b, c, d] = await Promise.all([1, 2, 3].map(() => runs.create(one, T2I)));
    expect([b!, c!, d!].map((r) => r.queueRank).sort()).toEqual([1, 2, 3]);
    // Leaving the queue: claimed, canceled, deleted; entering it again: requeued.
    await status(a.id, 'RUNNING');
    await status(b!.id, 'CANCELED');
    await prisma.run.delete({ where: { id: c!.id } });
    expect((await rankOf(one)).queueRank).toBe(1);
    await status(a.id, 'QUEUED');
    // A run given to another account leaves one's queue and enters two's.
    await prisma.run.update({ where: { id: d!.id }, data: { ownerId: two } });
    expect((await rankOf(one)).queueRank).toBe(2);
    expect((await rankOf(two)).queueRank).toBe(1);

    // The cap, at the statement (the server's MAX_QUEUED_RUNS_PER_ACCOUNT is 100 here).
    const capped = async (ownerId: string, max: number) => {
      const [row] = await prisma.$queryRaw<{ result: CreateRunRow }[]>`
        SELECT "atelier_create_run"(
          ${ownerId}::uuid,
          ${JSON.stringify({ mode: 'TEXT_TO_IMAGE', modelKey: 'flux1-dev', prompt: 'p', parameters: {}, seed: '1', count: 1, outputFormat: 'PNG', outputBackground: 'AUTO', priority: 0, skipStages: [], webhookEvents: [] })}::jsonb,
          '["GENERATE"]'::jsonb, '[]'::jsonb, ${max}::int, NULL
        ) AS result`;
      return row!.result;
    };
    expect(await queued(two)).toBe(2);
    expect(await capped(two, 2)).toEqual({ error: 'QUEUE_LIMIT' });
    await status(d!.id, 'RUNNING');
    expect(await capped(two, 2)).toHaveProperty('run.queueRank', 1);
    expect(await capped(two, 2)).toEqual({ error: 'QUEUE_LIMIT' });

    // The kept count plus the changes not yet added to it is the count.
    for (const id of [one, two]) {
      const { queuedRuns } = await prisma.account.findUniqueOrThrow({ where: { id } });
      const pending = await prisma.accountQueueDelta.aggregate({
        where: { accountId: id },
        _sum: { delta: true },
      });
      expect(queuedRuns + (pending._sum.delta ?? 0)).toBe(await queued(id));
    }
    await prisma.run.deleteMany({ where: { ownerId: { in: [one, two] } } });
  });

  it("folds the queue changes of an account that stopped creating runs, and drops a deleted account's", async () => {
    const { prisma } = server.app.db;
    const { runs, scheduler } = server.app.services;
    const idle = (await server.createKey({ account: 'fold-idle', credits: 1_000_000 })).accountId;
    const gone = (await server.createKey({ account: 'fold-gone', credits: 1_000_000 })).accountId;
    const pending = (accountId: string) => prisma.accountQueueDelta.count({ where: { accountId } });
    const made = [];
    for (let i = 0; i < 4; i++) made.push(await runs.create(idle, T2I));
    await runs.create(gone, T2I);
    // The account creates nothing more; its runs are claimed and canceled all the same.
    await prisma.run.update({ where: { id: made[0]!.id }, data: { status: 'RUNNING' } });
    await prisma.run.update({ where: { id: made[1]!.id }, data: { status: 'CANCELED' } });
    expect(await pending(idle)).toBeGreaterThanOrEqual(3);
    await prisma.account.delete({ where: { id: gone } });
    expect(await pending(gone)).toBeGreaterThan(0);

    expect(await scheduler.foldQueueCounts()).toBeGreaterThanOrEqual(1);
    expect(await pending(idle)).toBe(0);
    expect(await pending(gone)).toBe(0);
    const { queuedRuns } = await prisma.account.findUniqueOrThrow({ where: { id: idle } });
    expect(queuedRuns).toBe(2);
    expect(await prisma.run.count({ where: { ownerId: idle, status: 'QUEUED' } })).toBe(2);
    // The next create ranks behind the two, as before the fold.
    expect((await runs.create(idle, T2I)).queueRank).toBe(2);
    await prisma.run.deleteMany({ where: { ownerId: idle } });
  });

  it('creates the run claimed when offered a slot, unless a queued run it could take waits', async () => {
    const { prisma } = server.app.db;
    const { accountId } = await server.createKey({ account: 'claims', credits: 1_000_000 });
    const create = async (modelKey: string, capable: string[]) => {
      const [row] = await prisma.$queryRaw<{ result: CreateRunRow }[]>`
        SELECT "atelier_create_run"(
          ${accountId}::uuid,
          ${JSON.stringify({ mode: 'TEXT_TO_IMAGE', modelKey, prompt: 'p', parameters: {}, seed: '1', count: 1, outputFormat: 'PNG', outputBackground: 'AUTO', priority: 0, skipStages: [], webhookEvents: [] })}::jsonb,
          '["GENERATE"]'::jsonb, '[]'::jsonb, 1000,
          ${JSON.stringify({ owner: 'proc-1', lease: '2030-01-01T00:00:00.000Z', attemptId: '00000000-0000-4000-8000-000000000001', capable })}::jsonb
        ) AS result`;
      const result = row!.result;
      if (!('run' in result)) throw new Error(JSON.stringify(result));
      return result.run as Record<string, unknown>;
    };
    // Runs the earlier tests left queued (no process executes here) would come first.
    await prisma.run.deleteMany({ where: { status: 'QUEUED' } });
    // Nothing queued that this process could take: created claimed, as the queue's claim
    // would have left it.
    const claimed = await create('flux1-dev', ['flux1-dev/TEXT_TO_IMAGE']);
    expect(claimed).toMatchObject({
      status: 'RUNNING',
      attempt: 1,
      attemptId: '00000000-0000-4000-8000-000000000001',
      leaseOwner: 'proc-1',
      leaseExpiresAt: '2030-01-01T00:00:00',
    });
    expect(claimed.startedAt).toBeTruthy();
    // A model this process cannot execute stays queued.
    const other = await create('sd3.5-large', ['flux1-dev/TEXT_TO_IMAGE']);
    expect(other).toMatchObject({ status: 'QUEUED', attempt: 0, leaseOwner: null });
    // That queued run does not hold back a run of another capability...
    expect((await create('flux1-dev', ['flux1-dev/TEXT_TO_IMAGE'])).status).toBe('RUNNING');
    // ...but a process that could take it gets it first: the new run waits its turn.
    const behind = await create('flux1-dev', [
      'flux1-dev/TEXT_TO_IMAGE',
      'sd3.5-large/TEXT_TO_IMAGE',
    ]);
    expect(behind).toMatchObject({
      status: 'QUEUED',
      attempt: 0,
      leaseOwner: null,
      startedAt: null,
    });
    await prisma.run.deleteMany({ where: { ownerId: accountId } });
  });
});

describe('createRun on an executing process with a free slot', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '5' });
    // The server is ready before its sandbox is healthy; these tests need a free slot now.
    await server.app.services.executor.probed();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers a run already claimed by this process, which then succeeds', async () => {
    const run = await createRunOk(server, {
      mode: 'TEXT_TO_IMAGE',
      model: 'flux1-dev',
      prompt: 'claimed at once',
      parameters: { steps: 2, width: 256, height: 256 },
    });
    expect(run.status).toBe('RUNNING');
    await until(
      async () => (await getRun(server, run.id)).status === 'SUCCEEDED',
      'the run to succeed',
    );
    const row = await server.app.db.prisma.run.findUniqueOrThrow({
      where: { id: decodeGlobalID(run.id).id },
    });
    expect(row.attempt).toBe(1);
    expect(row.leaseOwner).toBeTruthy();
  });

  it('has written its POST /prompt to the worker by the time it answers', async () => {
    // Node writes a request's bytes in a next-tick callback, after the microtasks that made
    // it; createRun lets that callback run before it answers (else its answer's
    // serialization would come first, and the GPU would wait for it).
    const prompts: ClientRequest[] = [];
    const request = http.request;
    const spy = vi.spyOn(http, 'request').mockImplementation(((...args: unknown[]) => {
      const req = (request as (...a: unknown[]) => ClientRequest)(...args);
      if (req.path.endsWith('/prompt') && req.method === 'POST') prompts.push(req);
      return req;
    }) as typeof http.request);
    try {
      const run = await server.app.services.runs.create(LOCAL_ACCOUNT_ID, T2I);
      expect(run.status).toBe('RUNNING');
      expect(prompts).toHaveLength(1);
      expect(prompts[0]!.socket).not.toBeNull();
      expect(prompts[0]!.writableLength).toBe(0); // nothing left to write
      await until(
        async () =>
          (await server.app.db.prisma.run.findUniqueOrThrow({ where: { id: run.id } })).status ===
          'SUCCEEDED',
        'the run to succeed',
      );
    } finally {
      spy.mockRestore();
    }
  });
});
