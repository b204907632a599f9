// listRuns and watchQueue against a real started server with the bundled ComfyUI sandbox (a
// server of its own, so the queue holds only this file's runs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdQueue } from '../../server/test/fixtures/runs.ts';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';
import {
  type AtelierClient,
  type CreateRunInput,
  cancelRun,
  createAtelierClient,
  createRun,
  listRuns,
  type QueueStatus,
  type Run,
  waitForRun,
  watchQueue,
} from '../src/index.ts';

let server: TestServer;
let client: AtelierClient;

beforeAll(async () => {
  server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '5' });
  client = createAtelierClient({ url: server.url });
});
afterAll(async () => {
  client?.close();
  await server?.stop();
});

const QUICK: CreateRunInput = {
  mode: 'TEXT_TO_IMAGE',
  model: 'flux1-dev',
  prompt: 'a quick sketch',
  parameters: { steps: 2, width: 256, height: 256 },
};

async function createOk(input: CreateRunInput): Promise<Run> {
  const result = await createRun(client, input);
  if (result.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result));
  return result.run;
}

/** Reads queue updates until one matches; fails after `timeoutMs`. */
async function nextMatching(
  iterator: AsyncIterator<QueueStatus>,
  what: string,
  match: (queue: QueueStatus) => boolean,
  timeoutMs = 20_000,
): Promise<QueueStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  });
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) throw new Error(`watchQueue ended before ${what}`);
      if (match(next.value)) return next.value;
    }
  } finally {
    clearTimeout(timer);
  }
}

describe('listRuns', () => {
  it('pages your runs, newest first, and filters by status', async () => {
    const done = await createOk({ ...QUICK, prompt: 'finished first' });
    expect((await waitForRun(client, done.id, { timeoutMs: 30_000 })).status).toBe('SUCCEEDED');
    const hold = await holdQueue(server);
    try {
      const queued = await createOk({ ...QUICK, prompt: 'still waiting' });

      const all = await listRuns(client, { first: 100 });
      const ids = all.runs.map((r) => r.id);
      expect(ids).toEqual(expect.arrayContaining([done.id, queued.id, ...hold.blockers]));
      expect(ids[0]).toBe(queued.id);
      expect(all.pageInfo.hasNextPage).toBe(false);

      const waiting = await listRuns(client, { filter: { status: ['QUEUED'] } });
      expect(waiting.runs.map((r) => [r.id, r.status])).toEqual([[queued.id, 'QUEUED']]);

      const active = await listRuns(client, { filter: { status: ['QUEUED', 'RUNNING'] } });
      expect(active.runs.map((r) => r.id).sort()).toEqual([queued.id, ...hold.blockers].sort());

      const succeeded = await listRuns(client, { filter: { status: ['SUCCEEDED'] } });
      expect(succeeded.runs.map((r) => r.id)).toContain(done.id);
      expect(succeeded.runs.every((r) => r.status === 'SUCCEEDED')).toBe(true);

      // Pages of one, following endCursor.
      const first = await listRuns(client, { first: 1 });
      expect(first.runs.map((r) => r.id)).toEqual([ids[0]]);
      expect(first.pageInfo.hasNextPage).toBe(true);
      const second = await listRuns(client, { first: 1, after: first.pageInfo.endCursor });
      expect(second.runs.map((r) => r.id)).toEqual([ids[1]]);

      const canceled = await cancelRun(client, queued.id);
      expect(canceled.__typename).toBe('CancelRunSuccess');
      expect((await listRuns(client, { filter: { status: ['QUEUED'] } })).runs).toEqual([]);
    } finally {
      hold.release();
    }
    for (const id of hold.blockers) await waitForRun(client, id, { timeoutMs: 30_000 });
  });
});

describe('watchQueue', () => {
  it('shows a created run queued, then running, then the queue drains', async () => {
    const controller = new AbortController();
    const iterator = watchQueue(client, { signal: controller.signal })[Symbol.asyncIterator]();
    try {
      const first = await nextMatching(iterator, 'an empty queue', (q) => q.running === 0);
      expect(first.queued).toBe(0);
      expect(first.viewerRuns).toEqual([]);
      expect(first.workers.length).toBeGreaterThan(0);
      expect(first.workers[0]).toMatchObject({ healthy: true, sandbox: true });
      expect(first.workers[0]!.url).toMatch(/^http/);

      const hold = await holdQueue(server);
      let released = false;
      try {
        // Long enough (12 steps of 100 ms) to be seen running between throttled updates.
        const run = await createOk({
          ...QUICK,
          prompt: 'watch the queue',
          parameters: { steps: 12, width: 256, height: 256 },
        });
        const queued = await nextMatching(iterator, 'the run queued', (q) =>
          q.viewerRuns.some((v) => v.run.id === run.id),
        );
        expect(queued.queued).toBe(1);
        expect(queued.running).toBe(2);
        expect(queued.viewerRuns.find((v) => v.run.id === run.id)).toEqual({
          position: 1,
          run: { id: run.id, status: 'QUEUED' },
        });
        // The held blockers are running: listed first, without a position.
        for (const id of hold.blockers) {
          expect(queued.viewerRuns.find((v) => v.run.id === id)).toMatchObject({
            position: null,
            run: { status: 'RUNNING' },
          });
        }

        server.app.sandbox!.setStepDelay(100);
        hold.release();
        released = true;
        const running = await nextMatching(iterator, 'the run running', (q) =>
          q.viewerRuns.some((v) => v.run.id === run.id && v.run.status === 'RUNNING'),
        );
        expect(running.viewerRuns.find((v) => v.run.id === run.id)?.position).toBeNull();
        const drained = await nextMatching(
          iterator,
          'the queue to drain',
          (q) => q.queued === 0 && q.running === 0,
        );
        expect(drained.viewerRuns).toEqual([]);
      } finally {
        if (!released) hold.release();
        server.app.sandbox!.setStepDelay(5);
      }
    } finally {
      controller.abort(new Error('done'));
    }
    await expect(iterator.next()).rejects.toThrow('done');
  });

  it('rejects at once with the reason of an already aborted signal', async () => {
    const reason = new Error('not interested');
    const iterator = watchQueue(client, { signal: AbortSignal.abort(reason) })[
      Symbol.asyncIterator
    ]();
    await expect(iterator.next()).rejects.toBe(reason);
  });
});
