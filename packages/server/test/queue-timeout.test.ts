// No healthy worker: a run must not wait in the queue forever. After QUEUE_TIMEOUT_MS it
// ends FAILED with TIMED_OUT, its subscribers get RUN_FINISHED, and its credits come back.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunOk, getRun, watchRunWs } from './fixtures/runs.ts';
import { startTestServer, type TestServer } from './harness.ts';

/** A loopback port nothing listens on (bound once, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

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
