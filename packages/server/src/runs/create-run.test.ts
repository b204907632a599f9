// createRun is one statement (the function "atelier_create_run"): the run it answers must be
// the row Prisma reads, its stages and charge must be written with it, and the account's
// lock must keep concurrent creates of one account (same idempotency key, short balance)
// race-free.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/harness.ts';
import { InsufficientCreditsError } from '../credits/credits.errors.ts';
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

  it('refuses a short balance and writes nothing', async () => {
    const { prisma } = server.app.db;
    const { runs } = server.app.services;
    const { accountId } = await server.createKey({ account: 'short', credits: 0 });
    await expect(runs.create(accountId, T2I)).rejects.toBeInstanceOf(InsufficientCreditsError);
    expect(await prisma.run.count({ where: { ownerId: accountId } })).toBe(0);
    expect(await prisma.stage.count({ where: { run: { ownerId: accountId } } })).toBe(0);
    expect(await prisma.creditTransaction.count({ where: { accountId, reason: 'RUN' } })).toBe(0);
  });
});
