// Fault and scheduling tests of ComfyPool against sandbox workers: every failure ends with the
// right ExecutionError code (or completes without duplicate outputs), slots and worker choice
// follow the rules, cancel stops exactly one job, and a restarted server resumes by prompt id.
import { createServer, type Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import type { Sandbox } from '../../../comfyui-sandbox/src/index.ts';
import { ExecutionError, type ExecutionJob } from '../queue/executor.ts';
import {
  catalogJob,
  EventLog,
  jobFor,
  minimalGraph,
  png,
  startWorker,
  stopSandboxes,
  until,
} from './comfyui.fixtures.ts';
import { ComfyPool, type ComfyPoolOptions } from './pool.ts';

const pools: ComfyPool[] = [];

async function poolOf(sandboxes: Sandbox[], options: Partial<ComfyPoolOptions> = {}) {
  const pool = new ComfyPool({
    urls: sandboxes.map((s) => s.url),
    healthIntervalMs: 200,
    client: { reconnectMinMs: 20, reconnectMaxMs: 200 },
    timings: { pollMs: 200, lostAfterMs: 3_000 },
    ...options,
  });
  pools.push(pool);
  await pool.start();
  await pool.probed();
  expect(pool.workers().every((w) => w.healthy)).toBe(true);
  return pool;
}

const never = () => new AbortController().signal;

/** What a process that went away before it recorded the worker sent: `job`'s prompt. */
async function postAsGoneProcess(sandbox: Sandbox, job: ExecutionJob): Promise<void> {
  const posted = await fetch(`${sandbox.url}/prompt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: job.graph, client_id: 'gone', prompt_id: job.attemptId }),
  });
  expect(posted.status).toBe(200);
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function rejection(p: Promise<unknown>): Promise<ExecutionError> {
  return p.then(
    () => {
      throw new Error('expected the run to fail');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(ExecutionError);
      return e as ExecutionError;
    },
  );
}

/** Prompt ids the sandbox executed, with how often each. */
function executions(sandbox: Sandbox): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of sandbox.stats().log)
    out.set(e.promptId, [...(out.get(e.promptId) ?? []), e.outcome]);
  return out;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
});
afterAll(stopSandboxes);

describe('start', () => {
  /** A pool of one worker at `port`, where nothing listens yet. */
  function poolAt(port: number, options: Partial<ComfyPoolOptions> = {}): ComfyPool {
    const pool = new ComfyPool({
      urls: [`http://127.0.0.1:${port}`],
      healthIntervalMs: 200,
      client: { reconnectMinMs: 20, reconnectMaxMs: 200 },
      timings: { pollMs: 200, lostAfterMs: 3_000 },
      ...options,
    });
    pools.push(pool);
    return pool;
  }

  test('does not wait for a worker that is down: a job waits, onHealthy tells when the worker is up, the job runs there', async () => {
    const port = await closedPort();
    const pool = poolAt(port);
    let told = 0;
    pool.onHealthy(() => told++);
    await pool.start();
    let probed = false;
    void pool.probed().then(() => {
      probed = true;
    });
    await Promise.resolve();
    // start() returned while its first connection attempt still waits for the worker.
    expect(probed).toBe(false);
    expect(pool.workers()[0]?.healthy).toBe(false);
    expect(told).toBe(0);
    const result = pool.execute(await jobFor(minimalGraph()), () => {}, never());
    const sandbox = await startWorker({ port });
    const done = await result;
    expect(done.worker).toBe(sandbox.url);
    expect(done.outputs).toHaveLength(1);
    expect(told).toBeGreaterThanOrEqual(1);
    await pool.probed();
    expect(pool.workers()[0]?.healthy).toBe(true);
  });

  test('a job that waited before the capabilities were read, and that no worker can run, fails MODEL_UNAVAILABLE once they are', async () => {
    const port = await closedPort();
    const pool = poolAt(port, { queueTimeoutMs: 60_000 });
    await pool.start();
    const failed = rejection(pool.execute(await jobFor(minimalGraph()), () => {}, never()));
    await startWorker({ port, disabledNodeClasses: ['ImageBlur'] });
    const e = await failed;
    expect(e.code).toBe('MODEL_UNAVAILABLE');
    expect(e.message).toContain('ImageBlur');
  });
});

describe('faults', () => {
  test('node error → NODE_ERROR; out of memory → OUT_OF_MEMORY and the loaded model is forgotten', async () => {
    const sandbox = await startWorker();
    const pool = await poolOf([sandbox]);
    sandbox.failNextPrompt({ kind: 'error', classType: 'ImageInvert' });
    const e1 = await rejection(pool.execute(await jobFor(minimalGraph()), () => {}, never()));
    expect(e1.code).toBe('NODE_ERROR');
    expect(e1.details).toMatchObject({ nodeId: '2', nodeType: 'ImageInvert' });

    sandbox.failNextPrompt({ kind: 'oom', classType: 'KSampler', atStep: 1 });
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 2 });
    const e2 = await rejection(pool.execute(job, () => {}, never()));
    expect(e2.code).toBe('OUT_OF_MEMORY');
    expect(e2.details).toMatchObject({ nodeId: '6', nodeType: 'KSampler', worker: sandbox.url });
    expect(pool.workers()[0]?.loadedModels).toEqual([]);
  });

  test('socket dropped mid-run: reconnects, reconciles, the job still completes', async () => {
    const sandbox = await startWorker({ stepDelayMs: 25 });
    const pool = await poolOf([sandbox]);
    let reconnects = 0;
    pool.client(sandbox.url)?.on((e) => {
      if (e.type === 'connected' && e.reconnect) reconnects++;
    });
    sandbox.dropSocketsNextPrompt({ afterSteps: 2 });
    const log = new EventLog();
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 8 });
    const result = await pool.execute(job, log.push, never());

    expect(reconnects).toBeGreaterThanOrEqual(1);
    expect(result.outputs).toHaveLength(1);
    expect(executions(sandbox).get(job.attemptId)).toEqual(['success']);
    // Steps after the drop were reported through the new socket.
    expect(log.of('progress').some((p) => p.step !== null && p.step > 3)).toBe(true);
  });

  test('worker restart mid-run: the lost prompt is found unknown and retried, one set of outputs', async () => {
    const sandbox = await startWorker({ stepDelayMs: 25 });
    const pool = await poolOf([sandbox]);
    const log = new EventLog();
    const job = await catalogJob('sd3.5-large', 'IMAGE_TO_IMAGE', {
      steps: 6,
      source: await png(64, 64),
    });
    const running = pool.execute(job, log.push, never());
    await log.waitFor((e) => e.type === 'progress' && e.step === 2);
    await sandbox.restart({ downtimeMs: 150 });
    const result = await running;

    expect(result.worker).toBe(sandbox.url);
    expect(result.outputs).toHaveLength(1);
    expect(log.of('submitted')).toHaveLength(2);
    // The first execution died with the process; the second is the only one that finished.
    expect(executions(sandbox).get(job.attemptId)).toEqual(['aborted', 'success']);
    expect(pool.client(sandbox.url)?.uploadCount).toBe(2);
  });

  test('a worker that restarts three times under one job and comes back each time uses up no retry', async () => {
    const sandbox = await startWorker({ stepDelayMs: 20 });
    const pool = await poolOf([sandbox], { retries: 1, retryBackoffMs: 100 });
    const log = new EventLog();
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 10 });
    const running = pool.execute(job, log.push, never());
    for (let restart = 1; restart <= 3; restart++) {
      // Each time the prompt is executing there again, the worker dies under it.
      await log.waitFor((e) => e.type === 'started' && log.of('started').length === restart);
      await sandbox.restart({ downtimeMs: 100 });
    }
    const result = await running;
    expect(result.outputs).toHaveLength(1);
    expect(log.of('submitted')).toHaveLength(4);
    // Three executions cut off by the restarts, one that finished: one set of outputs.
    expect(executions(sandbox).get(job.attemptId)).toEqual([
      'aborted',
      'aborted',
      'aborted',
      'success',
    ]);
  });

  test('a worker answering 5xx: the job is retried on the second worker', async () => {
    const a = await startWorker();
    const b = await startWorker();
    const pool = await poolOf([a, b]);
    a.failHttp({ status: 500, scope: 'prompt' });
    const result = await pool.execute(await jobFor(minimalGraph()), () => {}, never());
    expect(result.worker).toBe(b.url);
    expect(result.outputs).toHaveLength(1);
    expect(a.stats().log).toEqual([]);
    // (a's lastError said 500 until its next health check cleared it, during the backoff)
    // Both answer /system_stats as the bundled sandbox.
    expect(pool.workers().map((w) => w.sandbox)).toEqual([true, true]);
  });

  test('infrastructure failures beyond the retries → WORKER_UNAVAILABLE after exactly 3 attempts', async () => {
    const sandbox = await startWorker();
    const pool = await poolOf([sandbox], { retries: 2 });
    sandbox.failHttp({ status: 503, scope: 'prompt', times: 5 });
    const e = await rejection(pool.execute(await jobFor(minimalGraph()), () => {}, never()));
    expect(e.code).toBe('WORKER_UNAVAILABLE');
    expect(sandbox.faults().http[0]?.times).toBe(2);
  });

  test('a hang → TIMED_OUT by the stall timeout; the worker is skipped until it moves again', async () => {
    const sandbox = await startWorker({ stepDelayMs: 10 });
    const pool = await poolOf([sandbox], { stallTimeoutMs: 400 });
    sandbox.hangNextPrompt({ afterSteps: 1 });
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 4 });
    const started = Date.now();
    const e = await rejection(pool.execute(job, () => {}, never()));
    expect(e.code).toBe('TIMED_OUT');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(pool.workers()[0]?.healthy).toBe(false);
    expect(pool.capacity()).toBe(0);

    sandbox.releaseHang();
    await until(() => pool.capacity() === 2, 'the worker to be usable again');
    const ok = await pool.execute(await jobFor(minimalGraph()), () => {}, never());
    expect(ok.outputs).toHaveLength(1);
  });
});

describe('cancel', () => {
  test('while queued, then while running: only that job stops, the other on the worker completes', async () => {
    const sandbox = await startWorker({ stepDelayMs: 20 });
    const pool = await poolOf([sandbox]);

    const first = new EventLog();
    const a = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 8, seed: 1 });
    const b = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 8, seed: 2 });
    const queued = new EventLog();
    const cancelB = new AbortController();
    const runA = pool.execute(a, first.push, never());
    await first.waitFor((e) => e.type === 'started');
    const runB = pool.execute(b, queued.push, cancelB.signal);
    await queued.waitFor((e) => e.type === 'submitted');
    expect(pool.workers()[0]).toMatchObject({ running: 1, queued: 1 });
    cancelB.abort();
    expect((await rejection(runB)).code).toBe('CANCELED');
    expect((await runA).outputs).toHaveLength(1);
    expect(queued.of('started')).toEqual([]);

    const c = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 30, seed: 3 });
    const d = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 4, seed: 4 });
    const runningLog = new EventLog();
    const cancelC = new AbortController();
    const runC = pool.execute(c, runningLog.push, cancelC.signal);
    const dLog = new EventLog();
    const runD = pool.execute(d, dLog.push, never());
    await runningLog.waitFor((e) => e.type === 'progress' && e.step === 2);
    await dLog.waitFor((e) => e.type === 'submitted');
    cancelC.abort();
    expect((await rejection(runC)).code).toBe('CANCELED');
    expect((await runD).outputs).toHaveLength(1);

    const ran = executions(sandbox);
    expect(ran.get(a.attemptId)).toEqual(['success']);
    expect(ran.has(b.attemptId)).toBe(false);
    expect(ran.get(c.attemptId)).toEqual(['interrupted']);
    expect(ran.get(d.attemptId)).toEqual(['success']);
  });

  test('a job aborted while waiting for a slot never reaches a worker', async () => {
    const sandbox = await startWorker({ stepDelayMs: 20 });
    const pool = await poolOf([sandbox], { slotsPerWorker: 1 });
    const long = pool.execute(
      await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 6 }),
      () => {},
      never(),
    );
    const controller = new AbortController();
    const waiting = await jobFor(minimalGraph());
    const run = pool.execute(waiting, () => {}, controller.signal);
    controller.abort();
    expect((await rejection(run)).code).toBe('CANCELED');
    await long;
    expect(executions(sandbox).has(waiting.attemptId)).toBe(false);
  });
});

describe('outputs', () => {
  test('a file its node reported is handed over before the prompt ends, as the bytes the result carries', async () => {
    const sandbox = await startWorker({ stepDelayMs: 0 });
    const pool = await poolOf([sandbox]);
    // Two savers; the second waits for a slow node, so the prompt goes on after the first.
    const graph = {
      '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'test/first' } },
      '3': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
      '4': {
        class_type: 'SaveImage',
        inputs: { images: ['3', 0], filename_prefix: 'test/second' },
      },
    };
    sandbox.slowNode({ classType: 'ImageInvert', delayMs: 1_000, times: 1 });
    const log = new EventLog();
    let ended = false;
    const running = pool.execute(await jobFor(graph), log.push, never()).finally(() => {
      ended = true;
    });
    await log.waitFor((e) => e.type === 'output');
    expect(ended).toBe(false);
    const result = await running;
    const [early] = log.of('output');
    expect(early?.output).toMatchObject({ nodeId: '2', kind: 'IMAGE', mimeType: 'image/png' });
    expect(result.outputs).toHaveLength(2);
    // The same Buffer: how the engine recognizes the file it prepared early.
    expect(result.outputs.find((o) => o.nodeId === '2')?.data).toBe(early?.output.data);
  });
});

describe('scheduling', () => {
  test('two workers, 20 jobs: both used, ≤ 1 running + 1 queued each; a model only B has goes to B', async () => {
    const a = await startWorker({ stepDelayMs: 5, models: {} });
    const b = await startWorker({ stepDelayMs: 5 });
    const pool = await poolOf([a, b]);
    expect(pool.capacity()).toBe(4);

    let overbooked = false;
    const watch = () => {
      for (const w of pool.workers())
        if (w.running > 1 || w.running + w.queued > 2) overbooked = true;
    };
    const jobs: ExecutionJob[] = [];
    for (let i = 0; i < 20; i++) {
      jobs.push(
        i % 5 === 0
          ? await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 2, seed: i })
          : await jobFor(minimalGraph(`test/j${i}`, i * 1000)),
      );
    }
    const results = await Promise.all(jobs.map((j) => pool.execute(j, watch, never())));

    expect(overbooked).toBe(false);
    expect(results.every((r) => r.outputs.length === 1)).toBe(true);
    const used = new Set(results.map((r) => r.worker));
    expect(used).toEqual(new Set([a.url, b.url]));
    jobs.forEach((job, i) => {
      if (job.modelKey === 'sd3.5-large') expect(results[i]?.worker).toBe(b.url);
    });
    expect(a.stats().promptsExecuted + b.stats().promptsExecuted).toBe(20);
  });

  test('prefers the worker that last ran the same model', async () => {
    const a = await startWorker();
    const b = await startWorker();
    const pool = await poolOf([a, b]);
    const flux = () => catalogJob('flux1-dev', 'TEXT_TO_IMAGE', { steps: 1 });
    // Occupy A so the first flux job lands on B.
    const hold = new AbortController();
    a.setStepDelay(30);
    const blocker = pool.execute(
      await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 50 }),
      () => {},
      hold.signal,
    );
    await until(() => pool.workers()[0]?.running === 1, 'A to run the blocker');
    const first = await pool.execute(await flux(), () => {}, never());
    expect(first.worker).toBe(b.url);
    hold.abort();
    await rejection(blocker);
    a.setStepDelay(0);
    await until(() => pool.workers().every((w) => w.running + w.queued === 0), 'idle workers');
    // Both idle now; B last ran flux1-dev.
    expect(pool.workers().find((w) => w.url === b.url)?.loadedModels).toEqual(['flux1-dev']);
    const second = await pool.execute(await flux(), () => {}, never());
    expect(second.worker).toBe(b.url);
  });

  test('canRun is false when no worker has a node class; such a job → MODEL_UNAVAILABLE', async () => {
    const a = await startWorker({ disabledNodeClasses: ['ImageBlur'] });
    const pool = await poolOf([a]);
    const job = await jobFor(minimalGraph());
    expect(pool.canRun(job.requirements)).toBe(false);
    expect(pool.canRun({ nodeClasses: ['EmptyImage', 'SaveImage'], modelFiles: [] })).toBe(true);
    const e = await rejection(pool.execute(job, () => {}, never()));
    expect(e.code).toBe('MODEL_UNAVAILABLE');
    expect(e.message).toContain('ImageBlur');

    const b = await startWorker();
    const both = await poolOf([a, b]);
    expect(both.canRun(job.requirements)).toBe(true);
    expect((await both.execute(job, () => {}, never())).worker).toBe(b.url);
  });

  test('a model file removed after it was listed: the 400 re-reads the lists and B runs the job', async () => {
    const a = await startWorker();
    const b = await startWorker();
    const pool = await poolOf([a, b]);
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 1 });
    const file = job.requirements.modelFiles.find((f) => f.folder === 'checkpoints');
    expect(file).toBeDefined();
    a.removeModel(file!.folder, file!.name);
    const result = await pool.execute(job, () => {}, never());
    expect(result.worker).toBe(b.url);
    expect(a.stats().log).toEqual([]);
  });

  test('waiting too long for a slot → TIMED_OUT (queue timeout)', async () => {
    const sandbox = await startWorker({ stepDelayMs: 20 });
    const pool = await poolOf([sandbox], { slotsPerWorker: 1, queueTimeoutMs: 150 });
    const long = pool.execute(
      await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 15 }),
      () => {},
      never(),
    );
    const e = await rejection(pool.execute(await jobFor(minimalGraph()), () => {}, never()));
    expect(e.code).toBe('TIMED_OUT');
    expect((await long).outputs).toHaveLength(1);
  });
});

describe('resume after a server restart (job.resumeOn)', () => {
  test('running → tracked to completion; finished → collected; unknown → submitted; never twice', async () => {
    const sandbox = await startWorker({ stepDelayMs: 25 });
    const first = await poolOf([sandbox], { instanceId: 'atelier-test' });
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 16 });
    const log = new EventLog();
    const orphan = rejection(first.execute(job, log.push, never()));
    await log.waitFor((e) => e.type === 'progress' && e.step === 2);
    // The server process dies: its executor stops, the prompt stays on the worker.
    await first.stop();
    expect((await orphan).code).toBe('WORKER_UNAVAILABLE');

    // The restarted process has the same instance id, hence the same client id.
    const second = await poolOf([sandbox], { instanceId: 'atelier-test' });
    const resumedLog = new EventLog();
    const resumed = await second.execute(
      { ...job, resumeOn: sandbox.url },
      resumedLog.push,
      never(),
    );
    expect(resumed.outputs).toHaveLength(1);
    expect(resumedLog.of('progress').some((p) => p.step !== null && p.step > 2)).toBe(true);

    // Finished before the restart: read back from history, not executed again.
    const again = await second.execute({ ...job, resumeOn: sandbox.url }, () => {}, never());
    expect(again.outputs.map((o) => o.filename)).toEqual(resumed.outputs.map((o) => o.filename));

    // Unknown on that worker: submitted.
    const fresh = await jobFor(minimalGraph('test/fresh'));
    const submitted = await second.execute({ ...fresh, resumeOn: sandbox.url }, () => {}, never());
    expect(submitted.outputs).toHaveLength(1);

    const ran = executions(sandbox);
    expect(ran.get(job.attemptId)).toEqual(['success']);
    expect(ran.get(fresh.attemptId)).toEqual(['success']);
  });

  test('taken over before its worker was recorded: found on that worker by prompt id, not run twice', async () => {
    const [a, b] = [await startWorker({ stepDelayMs: 25 }), await startWorker({ stepDelayMs: 25 })];
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 16 });
    // A process sent the prompt to B and went away before it wrote where it went.
    await postAsGoneProcess(b, job);
    // The process that takes the run over uses both (A first: a fresh submit would go there).
    const pool = await poolOf([a, b]);
    const taken = await pool.execute({ ...job, takenOver: true }, () => {}, never());
    expect(taken.outputs).toHaveLength(1);
    expect(executions(b).get(job.attemptId)).toEqual(['success']);
    expect(executions(a).has(job.attemptId)).toBe(false);

    // Found nowhere: submitted as usual.
    const fresh = await jobFor(minimalGraph('test/nowhere'));
    const submitted = await pool.execute({ ...fresh, takenOver: true }, () => {}, never());
    expect(submitted.outputs).toHaveLength(1);
    const ranFresh = [...executions(a), ...executions(b)].filter(([id]) => id === fresh.attemptId);
    expect(ranFresh.map(([, outcomes]) => outcomes)).toEqual([['success']]);
  });

  test('taken over by a pool without the worker it went to: asked on the servers of the process that held it; one that is gone is skipped at once', async () => {
    const [a, b] = [await startWorker({ stepDelayMs: 25 }), await startWorker({ stepDelayMs: 25 })];
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 16 });
    await postAsGoneProcess(b, job);
    // A server that is gone (nothing listens there) comes first in the list.
    const gone = await closedPort();
    const recorded: string[] = [];
    const pool = await poolOf([a]);
    const taken = await pool.execute(
      {
        ...job,
        takenOver: true,
        askAlso: [`http://127.0.0.1:${gone}`, b.url],
        beforeSubmit: async (worker) => {
          recorded.push(worker);
        },
      },
      () => {},
      never(),
    );
    expect(taken.outputs).toHaveLength(1);
    expect(executions(b).get(job.attemptId)).toEqual(['success']);
    expect(executions(a).has(job.attemptId)).toBe(false);
    // Where it was found is recorded, so the next process to take it over asks there first.
    expect(recorded).toEqual([b.url]);
  });

  test('find over many runs in one pass: a server that hangs is waited for once, then counted as unanswered', async () => {
    const a = await startWorker({ stepDelayMs: 25 });
    // Accepts connections and never answers (a ComfyUI stuck in a node, a dead proxy).
    const sockets: Socket[] = [];
    const hanging = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const hangingUrl = `http://127.0.0.1:${(hanging.address() as { port: number }).port}`;
    try {
      const pool = await poolOf([a], { healthTimeoutMs: 1_000 });
      const silent = new Set<string>();
      const first = await pool.find('not-anywhere', [hangingUrl], silent);
      expect(first).toEqual({ at: null, unanswered: true });
      expect(sockets.length).toBeGreaterThan(0);
      expect([...silent]).toEqual([hangingUrl]);

      // The next run of the pass: found on A, the hanging server not asked again.
      const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 16 });
      await postAsGoneProcess(a, job);
      const asked = sockets.length;
      const second = await pool.find(job.attemptId, [`${hangingUrl}/`], silent);
      expect(second).toEqual({ at: a.url.replace(/\/+$/, ''), unanswered: true });
      expect(sockets.length).toBe(asked);

      // Without the pass's set it is asked again.
      await pool.find(job.attemptId, [hangingUrl]);
      expect(sockets.length).toBeGreaterThan(asked);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });

  test('the record of where a prompt went fails: the prompt is stopped there, the job fails with that error', async () => {
    const sandbox = await startWorker({ stepDelayMs: 25 });
    const pool = await poolOf([sandbox], { slotsPerWorker: 1 });
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 40 });
    const log = new EventLog();
    let fail!: (error: Error) => void;
    const run = pool.execute(
      {
        ...job,
        beforeSubmit: () =>
          new Promise<void>((_, reject) => {
            fail = reject;
          }),
      },
      log.push,
      never(),
    );
    // The prompt left beside the record, and runs while the record is still on its way.
    await log.waitFor((e) => e.type === 'progress' && e.step === 2);
    fail(new Error('the database went away'));
    await expect(run).rejects.toThrow('the database went away');
    expect(executions(sandbox).get(job.attemptId)).toEqual(['interrupted']);
    // Its slot is free again.
    const next = await jobFor(minimalGraph('test/after'));
    expect((await pool.execute(next, () => {}, never())).outputs).toHaveLength(1);
  });

  test('a silent socket (events routed to another client id) still completes through the poll', async () => {
    const sandbox = await startWorker({ stepDelayMs: 25 });
    const first = await poolOf([sandbox], { instanceId: 'process-a' });
    const job = await catalogJob('sd3.5-large', 'TEXT_TO_IMAGE', { steps: 12 });
    const log = new EventLog();
    const orphan = rejection(first.execute(job, log.push, never()));
    await log.waitFor((e) => e.type === 'started');
    await first.stop();
    await orphan;

    // Another process: ComfyUI sends the prompt's events to process A's (closed) socket.
    const second = await poolOf([sandbox], { instanceId: 'process-b' });
    const resumedLog = new EventLog();
    const resumed = await second.execute(
      { ...job, resumeOn: sandbox.url },
      resumedLog.push,
      never(),
    );
    expect(resumed.outputs).toHaveLength(1);
    expect(resumedLog.of('progress').filter((p) => p.step !== null)).toEqual([]);
    expect(executions(sandbox).get(job.attemptId)).toEqual(['success']);
  });
});
