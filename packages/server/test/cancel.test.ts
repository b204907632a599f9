// cancelRun of a running run, end to end, on a sandbox that (like ComfyUI) stops only at the
// next sampler step or node boundary: the run stays RUNNING with its GENERATE stage saying
// "Canceling" until the worker interrupted the prompt, then ends CANCELED; with one slot per
// worker the next run's prompt reaches the worker only after that interruption.

import type { Sandbox } from '@atelier/comfyui-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunOk, getRun, type RunEventView, until, watchRunWs } from './fixtures/runs.ts';
import { startTestServer, type TestServer } from './harness.ts';

const T2I = {
  mode: 'TEXT_TO_IMAGE',
  model: 'flux1-dev',
  prompt: 'a lighthouse at dusk',
  parameters: { steps: 2, width: 256, height: 256 },
};

describe('cancel of a running run waits for the worker to stop', () => {
  let server: TestServer;
  let sandbox: Sandbox;

  beforeAll(async () => {
    server = await startTestServer({
      SANDBOX_STEP_DELAY_MS: '5',
      COMFYUI_SLOTS_PER_WORKER: '1',
    });
    sandbox = server.app.sandbox!;
  });
  afterAll(async () => {
    await server?.stop();
  });

  const cancel = (id: string) =>
    server.gql<{ cancelRun: { __typename: string; run: { status: string } } }>(
      `mutation($id: ID!) { cancelRun(id: $id) { __typename ... on CancelRunSuccess { run { status } } } }`,
      { id },
    );

  /** The database row of a run, from its global id. */
  const rowOf = (runId: string) =>
    server.app.db.prisma.run.findUniqueOrThrow({
      where: { id: Buffer.from(runId, 'base64').toString('utf8').split(':')[1] ?? '' },
    });

  async function promptOf(runId: string): Promise<string> {
    return (await rowOf(runId)).attemptId!;
  }

  function logOf(promptId: string) {
    const entry = sandbox.stats().log.find((e) => e.promptId === promptId);
    if (!entry) throw new Error(`the sandbox did not execute ${promptId}`);
    return entry;
  }

  /** Cancels `victim` once `ready` holds, then checks every guarantee against `next`. */
  async function cancelAndCheck(
    victimId: string,
    nextId: string,
    ready: (events: RunEventView[]) => boolean,
  ) {
    const seen: RunEventView[] = [];
    let cancelSentAt = 0;
    let sawCanceling: (() => void) | null = null;
    const canceling = new Promise<void>((resolve) => {
      sawCanceling = resolve;
    });
    const events = watchRunWs(server, victimId, {
      onEvent: (e) => {
        seen.push(e);
        const generate = e.run.stages.find((s) => s.kind === 'GENERATE');
        if (e.run.status === 'RUNNING' && generate?.message?.startsWith('Canceling')) {
          sawCanceling?.();
        }
      },
    });
    await until(async () => ready(seen), 'the victim to reach the point to cancel at');
    cancelSentAt = Date.now();
    const result = await cancel(victimId);
    // The mutation answers at once; the run is still stopping.
    expect(result.data?.cancelRun).toEqual({
      __typename: 'CancelRunSuccess',
      run: { status: 'RUNNING' },
    });
    await canceling;
    const all = await events;
    const last = all.at(-1)!;
    expect(last.type).toBe('RUN_FINISHED');
    expect(last.run.status).toBe('CANCELED');
    expect(last.run.error).toMatchObject({ code: 'CANCELED', message: 'Canceled while running.' });
    expect(last.run.outputs).toEqual([]);
    // (Events re-read the run when delivered, so their order says nothing about when the
    // status changed: the database's finishedAt below does.)

    const victimPrompt = await promptOf(victimId);
    const victimLog = logOf(victimPrompt);
    expect(victimLog.outcome).toBe('interrupted');
    expect(victimLog.interruptRequestedAt!).toBeGreaterThanOrEqual(cancelSentAt);
    const row = await rowOf(victimId);
    // CANCELED was written after the worker's interruption, never before.
    expect(row.finishedAt!.getTime()).toBeGreaterThanOrEqual(victimLog.interruptedAt!);

    const nextEvents = await watchRunWs(server, nextId);
    expect(nextEvents.at(-1)!.run.status).toBe('SUCCEEDED');
    const nextLog = logOf(await promptOf(nextId));
    // The next run's prompt was submitted after the interruption and started after it.
    expect(nextLog.queuedAt!).toBeGreaterThanOrEqual(victimLog.interruptedAt!);
    expect(nextLog.startedAt).toBeGreaterThanOrEqual(victimLog.endedAt);
    return victimLog;
  }

  it('inside a sampler: CANCELED after the step in progress ends, the next run after it', async () => {
    sandbox.setStepDelay(400);
    try {
      const victim = await createRunOk(server, {
        ...T2I,
        parameters: { steps: 20, width: 256, height: 256 },
      });
      const next = await createRunOk(server, T2I);
      const log = await cancelAndCheck(victim.id, next.id, (events) =>
        events.some((e) =>
          e.run.stages.some((s) => s.kind === 'GENERATE' && s.message?.includes('step')),
        ),
      );
      expect(log.interruptedNode).toBeDefined();
      expect(log.interruptedAt! - log.interruptRequestedAt!).toBeGreaterThan(0);
    } finally {
      sandbox.setStepDelay(5);
    }
  });

  it('in a slow node: stops at the next node boundary, the next run after it', async () => {
    sandbox.slowNode({ classType: 'VAEDecode', delayMs: 1_500, times: 1 });
    const victim = await createRunOk(server, T2I);
    const next = await createRunOk(server, T2I);
    const log = await cancelAndCheck(victim.id, next.id, (events) =>
      events.some((e) =>
        e.run.stages.some((s) => s.kind === 'GENERATE' && s.message === 'Running VAEDecode'),
      ),
    );
    // VAEDecode ran to its end; SaveImage, about to start, is where it stopped.
    const history = (await (
      await fetch(`${sandbox.url}/history/${log.promptId}`)
    ).json()) as Record<
      string,
      { prompt: [number, string, Record<string, { class_type: string }>] }
    >;
    const graph = history[log.promptId]!.prompt[2];
    expect(log.executed.map((id) => graph[id]?.class_type)).toContain('VAEDecode');
    expect(graph[log.interruptedNode!]?.class_type).toBe('SaveImage');
    expect(
      (await getRun(server, victim.id)).stages.find((s) => s.kind === 'GENERATE'),
    ).toMatchObject({ status: 'CANCELED' });
  });
});
