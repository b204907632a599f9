// Cancel of a running prompt against a sandbox that, like ComfyUI, stops only at the next
// sampler step or node boundary: the job ends CANCELED after the worker's interruption, never
// before; the worker's slot stays taken until then (the next job is submitted after it); the
// prompt's state is polled with a backoff meanwhile; and a worker that never confirms ends
// the job after CANCEL_CONFIRM_TIMEOUT_MS while its slot stays out of use until it is free.
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import type { Sandbox } from '../../../comfyui-sandbox/src/index.ts';
import { ExecutionError } from '../queue/executor.ts';
import { catalogJob, EventLog, startWorker, stopSandboxes, until } from './comfyui.fixtures.ts';
import { ComfyPool, type ComfyPoolOptions } from './pool.ts';

const pools: ComfyPool[] = [];

async function poolOf(sandbox: Sandbox, options: Partial<ComfyPoolOptions> = {}) {
  const pool = new ComfyPool({
    urls: [sandbox.url],
    // One slot: a second job is submitted only when the worker is free of the first.
    slotsPerWorker: 1,
    // Health checks out of the way of the request count.
    healthIntervalMs: 60_000,
    client: { reconnectMinMs: 20, reconnectMaxMs: 200 },
    timings: { pollMs: 5_000, lostAfterMs: 5_000 },
    ...options,
  });
  pools.push(pool);
  await pool.start();
  await pool.probed();
  return pool;
}

const never = () => new AbortController().signal;

/** Settles with the job's error, and when it arrived. */
function ended(p: Promise<unknown>): Promise<{ error: ExecutionError; at: number }> {
  return p.then(
    () => {
      throw new Error('expected the job to be canceled');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(ExecutionError);
      return { error: e as ExecutionError, at: Date.now() };
    },
  );
}

function logOf(sandbox: Sandbox, promptId: string) {
  const entry = sandbox.stats().log.find((e) => e.promptId === promptId);
  if (!entry) throw new Error(`the sandbox did not execute ${promptId}`);
  return entry;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
});
afterAll(stopSandboxes);

describe('cancel waits for the worker to stop', () => {
  test('inside a sampler: CANCELED after the step in progress ends; the next job follows it', async () => {
    const sandbox = await startWorker({ stepDelayMs: 400 });
    const pool = await poolOf(sandbox);
    const a = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 20, seed: 1 });
    const b = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 2, seed: 2 });
    const aLog = new EventLog();
    const bLog = new EventLog();
    const stopA = new AbortController();
    const runA = ended(pool.execute(a, aLog.push, stopA.signal));
    await aLog.waitFor((e) => e.type === 'progress' && e.step === 1);
    const runB = pool.execute(b, bLog.push, never());

    const canceledAt = Date.now();
    stopA.abort();
    await aLog.waitFor((e) => e.type === 'canceling');
    // Still running on the worker: the slot is taken, the next job waits.
    expect(pool.workers()[0]).toMatchObject({ running: 1, queued: 0 });
    const { error, at } = await runA;
    expect(error.code).toBe('CANCELED');
    expect(error.details.unconfirmed).toBeUndefined();

    const entryA = logOf(sandbox, a.attemptId);
    expect(entryA.outcome).toBe('interrupted');
    expect(entryA.interruptedNode).toBeDefined();
    // The worker interrupted at the end of the step in progress, then the job ended.
    expect(entryA.interruptRequestedAt!).toBeGreaterThanOrEqual(canceledAt);
    expect(entryA.interruptedAt!).toBeGreaterThan(entryA.interruptRequestedAt!);
    expect(at).toBeGreaterThanOrEqual(entryA.interruptedAt!);
    expect(bLog.of('submitted')).toHaveLength(0);

    expect((await runB).outputs).toHaveLength(1);
    const entryB = logOf(sandbox, b.attemptId);
    // B reached the worker only after A's interruption.
    expect(entryB.queuedAt!).toBeGreaterThanOrEqual(entryA.interruptedAt!);
    expect(entryB.startedAt).toBeGreaterThanOrEqual(entryA.endedAt);
  });

  test('in a slow node: stops at the node boundary; polling stays at a few requests a second', async () => {
    const sandbox = await startWorker({ stepDelayMs: 5 });
    const pool = await poolOf(sandbox);
    const slowMs = 3_000;
    sandbox.slowNode({ classType: 'VAEDecode', delayMs: slowMs, times: 1 });
    const a = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 2, seed: 3 });
    const b = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 2, seed: 4 });
    const aLog = new EventLog();
    const bLog = new EventLog();
    const stopA = new AbortController();
    const runA = ended(pool.execute(a, aLog.push, stopA.signal));
    await aLog.waitFor((e) => e.type === 'progress' && e.nodeType === 'VAEDecode');
    const runB = pool.execute(b, bLog.push, never());

    const canceledAt = Date.now();
    stopA.abort();
    const { error, at } = await runA;
    expect(error.code).toBe('CANCELED');

    const entryA = logOf(sandbox, a.attemptId);
    expect(entryA.outcome).toBe('interrupted');
    // VAEDecode ran to its end; the interrupt landed as the next node was about to start.
    expect(a.graph[entryA.interruptedNode!]?.class_type).not.toBe('VAEDecode');
    expect(entryA.executed.map((id) => a.graph[id]?.class_type)).toContain('VAEDecode');
    expect(at).toBeGreaterThanOrEqual(entryA.interruptedAt!);
    expect(at - canceledAt).toBeGreaterThan(slowMs / 2);

    // Requests during the wait: the cancel, then looks at the job with a growing pause.
    const during = sandbox.requests().filter((r) => r.at >= canceledAt && r.at <= at);
    const seconds = (at - canceledAt) / 1000;
    const rate = during.length / seconds;
    console.info(
      `cancel in a slow node: ${during.length} requests in ${seconds.toFixed(2)} s (${rate.toFixed(1)}/s): ${during.map((r) => `${r.method} ${r.path.replace(/[0-9a-f-]{36}/, '{id}')}`).join(', ')}`,
    );
    expect(rate).toBeLessThanOrEqual(4);
    expect(during.length).toBeGreaterThanOrEqual(2); // the cancel and at least one look

    expect((await runB).outputs).toHaveLength(1);
    expect(logOf(sandbox, b.attemptId).queuedAt!).toBeGreaterThanOrEqual(entryA.interruptedAt!);
  });

  test('a worker that never confirms: CANCELED after the bound, its slot held until it is free', async () => {
    const sandbox = await startWorker({ stepDelayMs: 20 });
    const pool = await poolOf(sandbox, { cancelConfirmMs: 600 });
    sandbox.hangNextPrompt({ afterSteps: 1 });
    const a = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 4, seed: 5 });
    const b = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 2, seed: 6 });
    const aLog = new EventLog();
    const bLog = new EventLog();
    const stopA = new AbortController();
    const runA = ended(pool.execute(a, aLog.push, stopA.signal));
    await until(() => sandbox.hanging, 'the prompt to hang');
    stopA.abort();
    const { error } = await runA;
    expect(error.code).toBe('CANCELED');
    expect(error.details.unconfirmed).toBe(true);
    expect(error.message).toMatch(/did not confirm within 0.6 s/);

    // The job is over, the worker still runs its prompt: nothing else goes there.
    expect(pool.capacity()).toBe(0);
    const runB = pool.execute(b, bLog.push, never());
    expect((await pool.client(sandbox.url)!.locate(a.attemptId)).state).toBe('running');
    expect(bLog.of('submitted')).toHaveLength(0);

    // The worker comes back to life: the cancel lands, the slot is freed, B runs after.
    sandbox.releaseHang();
    expect((await runB).outputs).toHaveLength(1);
    const entryA = logOf(sandbox, a.attemptId);
    expect(entryA.outcome).toBe('interrupted');
    expect(logOf(sandbox, b.attemptId).queuedAt!).toBeGreaterThanOrEqual(entryA.endedAt);
    expect(pool.capacity()).toBe(1);
  });
});
