// Durability: a server restart mid-run loses nothing. The worker (a standalone sandbox)
// keeps running; the second server reconciles the RUNNING run by prompt id and finishes it.
import { type Sandbox, startSandbox } from '@atelier/comfyui-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunOk, getRun, until, watchRunWs } from './fixtures/runs.ts';
import { createPersistentState, type PersistentState, startTestServer } from './harness.ts';

describe('server restart', () => {
  let sandbox: Sandbox;
  let state: PersistentState;
  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, stepDelayMs: 80, log: false });
    state = await createPersistentState();
  });
  afterAll(async () => {
    await sandbox?.stop();
    await state?.dispose();
  });

  /**
   * A server started with `env` whose run is sampling on the sandbox when it stops, with no
   * worker recorded: the worker's URL is written beside the prompt, and a process that ends in
   * between leaves the run RUNNING with its prompt on a worker nobody recorded.
   */
  async function stoppedBeforeItsWorkerWasRecorded(
    env: Record<string, string>,
    prompt: string,
    heldBy?: { leaseOwner: string; leaseExpiresAt: Date },
  ) {
    const first = await startTestServer(env, state);
    try {
      const run = await createRunOk(first, {
        mode: 'TEXT_TO_IMAGE',
        model: 'flux1-dev',
        prompt,
        parameters: { steps: 12, width: 256, height: 256 },
      });
      const uuid = Buffer.from(run.id, 'base64').toString().split(':')[1]!;
      await until(
        async () => (await getRun(first, run.id)).stages[3]?.message?.includes('step') ?? false,
        'the run to be sampling on the worker',
      );
      const row = await first.app.db.prisma.run.update({
        where: { id: uuid },
        data: { workerUrl: null, ...heldBy },
      });
      return { run, uuid, attemptId: row.attemptId };
    } finally {
      await first.stop();
    }
  }

  it('a run executing when the server stops finishes after the restart, once', async () => {
    const env = { COMFYUI_URLS: sandbox.url };
    const first = await startTestServer(env, state);
    let run: Awaited<ReturnType<typeof createRunOk>>;
    const queued: string[] = [];
    try {
      run = await createRunOk(first, {
        mode: 'TEXT_TO_IMAGE',
        model: 'flux1-dev',
        prompt: 'a windmill',
        parameters: { steps: 12, width: 256, height: 256 },
      });
      // A second run still waiting in our queue must survive too.
      for (let i = 0; i < 2; i++) {
        queued.push(
          (
            await createRunOk(first, {
              mode: 'TEXT_TO_IMAGE',
              model: 'flux1-dev',
              prompt: `queued ${i}`,
              parameters: { steps: 2, width: 256, height: 256 },
            })
          ).id,
        );
      }
      await until(
        async () => (await getRun(first, run.id)).stages[3]?.message?.includes('step') ?? false,
        'the run to be sampling on the worker',
      );
    } finally {
      await first.stop();
    }

    const second = await startTestServer(env, state);
    try {
      const events = await watchRunWs(second, run.id);
      const last = events.at(-1)!;
      expect(last.run.status).toBe('SUCCEEDED');
      expect(last.run.outputs).toHaveLength(1);
      // Tracking resumed on the same attempt: no second execution of that prompt.
      expect(last.run.attempt).toBe(1);
      for (const id of queued) {
        const finished = (await watchRunWs(second, id)).at(-1)!;
        expect(finished.run.status).toBe('SUCCEEDED');
      }
      const media = await second.app.db.prisma.media.count({ where: { purpose: 'OUTPUT' } });
      expect(media).toBe(3);
      const uuid = Buffer.from(run.id, 'base64').toString().split(':')[1]!;
      const { attemptId } = await second.app.db.prisma.run.findUniqueOrThrow({
        where: { id: uuid },
      });
      const executions = sandbox.stats().log.filter((entry) => entry.promptId === attemptId);
      expect(executions).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });

  it('a run whose worker was not recorded yet (stopped between its prompt and that write) is found there after the restart, once', async () => {
    const env = { COMFYUI_URLS: sandbox.url };
    const { run, uuid } = await stoppedBeforeItsWorkerWasRecorded(env, 'a lighthouse');

    const second = await startTestServer(env, state);
    try {
      const last = (await watchRunWs(second, run.id)).at(-1)!;
      expect(last.run.status).toBe('SUCCEEDED');
      expect(last.run.outputs).toHaveLength(1);
      expect(last.run.attempt).toBe(1);
      const row = await second.app.db.prisma.run.findUniqueOrThrow({ where: { id: uuid } });
      expect(row.workerUrl).toBe(sandbox.url);
      const executions = sandbox.stats().log.filter((entry) => entry.promptId === row.attemptId);
      expect(executions).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });

  it('taken over by a process with other ComfyUI servers, an unrecorded prompt is found on a server of the process that held it, once', async () => {
    const other = await startSandbox({ port: 0, stepDelayMs: 0, log: false });
    try {
      const { run, uuid } = await stoppedBeforeItsWorkerWasRecorded(
        { COMFYUI_URLS: sandbox.url },
        'a harbour',
      );

      // The process that takes the run over uses only `other`: the first one's server is
      // known from the first process's worker registry row.
      const second = await startTestServer({ COMFYUI_URLS: other.url }, state);
      try {
        const last = (await watchRunWs(second, run.id)).at(-1)!;
        expect(last.run.status).toBe('SUCCEEDED');
        expect(last.run.attempt).toBe(1);
        const row = await second.app.db.prisma.run.findUniqueOrThrow({ where: { id: uuid } });
        expect(row.workerUrl).toBe(sandbox.url);
        const executions = sandbox.stats().log.filter((entry) => entry.promptId === row.attemptId);
        expect(executions).toHaveLength(1);
        // Never submitted a second time on the taking process's own server.
        expect(other.stats().log.filter((entry) => entry.promptId === row.attemptId)).toEqual([]);
      } finally {
        await second.stop();
      }
    } finally {
      await other.stop();
    }
  });

  it('a busy process does not requeue a run whose process is gone and whose prompt went out unrecorded: found on its server, it runs once', async () => {
    const env = { COMFYUI_URLS: sandbox.url, COMFYUI_SLOTS_PER_WORKER: '1' };
    // Held by a process that is gone (another installation), its lease not over yet.
    const { run, uuid, attemptId } = await stoppedBeforeItsWorkerWasRecorded(env, 'a bell tower', {
      leaseOwner: 'a-process-that-died',
      leaseExpiresAt: new Date(Date.now() + 60_000),
    });

    const second = await startTestServer(env, state);
    try {
      // Its one slot taken (no run prepared ahead): it does not admit another run, so a run
      // with no worker recorded would go back to the queue when its lease ends.
      const blocker = await createRunOk(second, {
        mode: 'TEXT_TO_IMAGE',
        model: 'flux1-dev',
        prompt: 'a blocker',
        parameters: { steps: 40, width: 256, height: 256 },
      });
      await until(
        async () =>
          (await getRun(second, blocker.id)).stages[3]?.message?.includes('step') ?? false,
        'the blocker to be sampling',
      );
      await second.app.db.prisma.run.update({
        where: { id: uuid },
        data: { leaseExpiresAt: new Date(Date.now() - 1_000) },
      });
      const last = (await watchRunWs(second, run.id)).at(-1)!;
      expect(last.run.status).toBe('SUCCEEDED');
      expect(last.run.outputs).toHaveLength(1);
      // The same attempt, followed where its prompt was: not claimed again under a new id.
      expect(last.run.attempt).toBe(1);
      const row = await second.app.db.prisma.run.findUniqueOrThrow({ where: { id: uuid } });
      expect(row.attemptId).toBe(attemptId);
      expect(row.workerUrl).toBe(sandbox.url);
      expect(sandbox.stats().log.filter((e) => e.promptId === attemptId)).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });
});
