// Worker faults seen from a run: each ends in the right state with a typed error code.
// Two standalone sandboxes form the pool, so one can misbehave while the other works.
import { type Sandbox, startSandbox } from '@atelier/comfyui-sandbox';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRunOk, getRun, until, watchRunWs } from './fixtures/runs.ts';
import { deadPort, startTestServer, type TestServer } from './harness.ts';

const T2I = {
  mode: 'TEXT_TO_IMAGE',
  model: 'flux1-dev',
  prompt: 'a paper crane',
  parameters: { steps: 6, width: 256, height: 256 },
};

const SD35_CHECKPOINT = 'sd3.5_large.safetensors';

describe('worker faults, seen from runs', () => {
  let a: Sandbox;
  let b: Sandbox;
  let server: TestServer;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startSandbox({ port: 0, stepDelayMs: 30, log: false }),
      startSandbox({ port: 0, stepDelayMs: 30, log: false }),
    ]);
    // Worker a lacks SD 3.5's checkpoint: runs of that model must go to b.
    a.removeModel('checkpoints', SD35_CHECKPOINT);
    server = await startTestServer({
      COMFYUI_URLS: `${a.url},${b.url}`,
      STALL_TIMEOUT_MS: '2000',
    });
  });
  afterEach(() => {
    for (const s of [a, b]) {
      s.clearFaults();
      s.releaseHang();
    }
  });
  afterAll(async () => {
    await server?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const outputsOf = (id: string) => getRun(server, id).then((r) => r.outputs.length);

  it('a dropped socket mid-run: the run still completes', async () => {
    a.dropSocketsNextPrompt({ afterSteps: 2, all: true });
    b.dropSocketsNextPrompt({ afterSteps: 2, all: true });
    const run = await createRunOk(server, T2I);
    const last = (await watchRunWs(server, run.id)).at(-1)!;
    expect(last.run.status).toBe('SUCCEEDED');
    expect(last.run.outputs).toHaveLength(1);
  });

  it('a worker restart mid-run: reconciled or retried, no duplicate outputs', async () => {
    const run = await createRunOk(server, {
      ...T2I,
      parameters: { steps: 20, width: 256, height: 256 },
    });
    await until(
      async () => (await getRun(server, run.id)).stages[3]?.message?.includes('step') ?? false,
      'sampling',
    );
    const worker = (await getRun(server, run.id)).worker;
    const sandbox = worker === a.url ? a : b;
    await sandbox.restart();
    const last = (await watchRunWs(server, run.id)).at(-1)!;
    expect(last.run.status).toBe('SUCCEEDED');
    expect(await outputsOf(run.id)).toBe(1);
  });

  it('a worker answering 5xx: retried on the other worker', async () => {
    a.failHttp({ status: 503, scope: 'prompt', times: 5 });
    const runs = await Promise.all([createRunOk(server, T2I), createRunOk(server, T2I)]);
    for (const run of runs) {
      const last = (await watchRunWs(server, run.id)).at(-1)!;
      expect(last.run.status).toBe('SUCCEEDED');
      expect(last.run.worker).toBe(b.url);
    }
  });

  it('a hung worker: TIMED_OUT once it stops answering', async () => {
    a.hangNextPrompt({ afterSteps: 1 });
    b.hangNextPrompt({ afterSteps: 1 });
    const run = await createRunOk(server, T2I);
    const last = (await watchRunWs(server, run.id)).at(-1)!;
    expect(last.run.status).toBe('FAILED');
    expect(last.run.error?.code).toBe('TIMED_OUT');
  });

  it('a model only one worker has: the run goes there', async () => {
    const runs = await Promise.all(
      Array.from({ length: 4 }, () =>
        createRunOk(server, {
          ...T2I,
          model: 'sd3.5-large',
          parameters: { steps: 2, width: 512, height: 512 },
        }),
      ),
    );
    for (const run of runs) {
      const last = (await watchRunWs(server, run.id)).at(-1)!;
      expect(last.run.status).toBe('SUCCEEDED');
      expect(last.run.worker).toBe(b.url);
    }
  });
});

describe('a ComfyUI server down when Atelier starts', () => {
  it('Atelier starts without waiting for it; a run created meanwhile executes once it is up, and the registry reports it healthy before the next heartbeat', async () => {
    const port = await deadPort();
    const url = `http://127.0.0.1:${port}`;
    const server = await startTestServer({ COMFYUI_URLS: url, WORKER_HEARTBEAT_MS: '600000' });
    let sandbox: Sandbox | undefined;
    try {
      const run = await createRunOk(server, T2I);
      expect((await getRun(server, run.id)).status).toBe('QUEUED');
      sandbox = await startSandbox({ port, stepDelayMs: 30, log: false });
      const last = (await watchRunWs(server, run.id)).at(-1)!;
      expect(last.run.status).toBe('SUCCEEDED');
      expect(last.run.worker).toBe(url);
      type Q = { queue: { processes: { comfyui: { url: string; healthy: boolean }[] }[] } };
      const registered = async () =>
        (await server.gql<Q>('{ queue { processes { comfyui { url healthy } } } }')).data?.queue
          .processes;
      // The heartbeat is 10 minutes away: the row was written when the server became healthy.
      await until(
        async () =>
          JSON.stringify(await registered()) ===
          JSON.stringify([{ comfyui: [{ url, healthy: true }] }]),
        'the registry to report the ComfyUI server healthy',
        10_000,
      );
    } finally {
      await server.stop();
      await sandbox?.stop();
    }
  });
});
