// No healthy worker: a run must not wait in the queue forever. After QUEUE_TIMEOUT_MS it
// ends FAILED with TIMED_OUT, its subscribers get RUN_FINISHED, and its credits come back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunOk, getRun, until, watchRunWs } from './fixtures/runs.ts';
import { deadPort, startTestServer, type TestServer } from './harness.ts';

describe('a run no healthy worker can take', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      AUTH_MODE: 'keys',
      COMFYUI_URLS: `http://127.0.0.1:${await deadPort()}`,
      QUEUE_TIMEOUT_MS: '1500',
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('ends TIMED_OUT after QUEUE_TIMEOUT_MS, with RUN_FINISHED and its credits refunded', async () => {
    const { key, accountId } = await server.createKey({ account: 'patient', credits: 10 });
    const run = await createRunOk(
      server,
      {
        mode: 'TEXT_TO_IMAGE',
        model: 'flux1-dev',
        prompt: 'waiting for a worker',
        parameters: { steps: 1, width: 256, height: 256 },
      },
      { apiKey: key },
    );
    expect(run.status).toBe('QUEUED');
    const started = Date.now();
    const events = await watchRunWs(server, run.id, { apiKey: key, timeoutMs: 20_000 });
    const waited = Date.now() - started;

    expect(events[0]?.type).toBe('SNAPSHOT');
    const last = events.at(-1)!;
    expect(last.type).toBe('RUN_FINISHED');
    expect(last.run.status).toBe('FAILED');
    expect(last.run.error?.code).toBe('TIMED_OUT');
    expect(last.run.error?.message).toMatch(/QUEUE_TIMEOUT_MS/);
    // Not before the timeout (minus what creating the run took), and not much after it.
    expect(waited).toBeGreaterThan(1000);
    expect((await getRun(server, run.id, { apiKey: key })).status).toBe('FAILED');
    const account = await server.app.db.prisma.account.findUniqueOrThrow({
      where: { id: accountId },
    });
    expect(account.creditBalance).toBe(10);
  });
});

describe('a queued run whose model no process serves', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ COMFYUI_SLOTS_PER_WORKER: '1' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('fails with MODEL_UNAVAILABLE after the grace; a queued run of a served model does not', async () => {
    const { prisma } = server.app.db;
    const { accountId } = await server.createKey({ account: 'unservable' });
    // A model in the table that no ComfyUI server of any process has (retired from the
    // catalog since, say), and a served one; both queued a while ago.
    const served = await prisma.model.findUniqueOrThrow({ where: { key: 'flux1-dev' } });
    await prisma.model.create({
      data: {
        key: 'a-model-nobody-has',
        name: served.name,
        description: served.description,
        outputKind: served.outputKind,
        modes: served.modes,
        definition: served.definition as object,
        hash: served.hash,
      },
    });
    const queued = (modelKey: string) =>
      prisma.run.create({
        data: {
          ownerId: accountId,
          mode: 'TEXT_TO_IMAGE',
          modelKey,
          prompt: 'queued before the last worker with its model went away',
          parameters: { steps: 1, width: 256, height: 256 },
          seed: '1',
          status: 'QUEUED',
          createdAt: new Date(Date.now() - 60_000),
        },
      });
    const orphan = await queued('a-model-nobody-has');
    const kept = await queued('flux1-dev');
    // The scheduler's upkeep (every second) fails the one nobody serves.
    await until(
      async () =>
        (await prisma.run.findUniqueOrThrow({ where: { id: orphan.id } })).status === 'FAILED',
      'the unservable run to fail',
    );
    const failed = await prisma.run.findUniqueOrThrow({ where: { id: orphan.id } });
    expect(failed.errorCode).toBe('MODEL_UNAVAILABLE');
    // The served one is executed (or still waits), never failed as unservable.
    const other = await prisma.run.findUniqueOrThrow({ where: { id: kept.id } });
    expect(other.errorCode).not.toBe('MODEL_UNAVAILABLE');
  });
});
