// RunEvents.change: a burst of changes of one run is written in at most two statements (the
// first goes at once, the rest are merged behind it), later values win per column, and the
// events go out in order with consecutive sequences.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunEventPayload } from '../src/pubsub.ts';
import { T2I } from './fixtures/hardening.ts';
import { createRunOk, getRun, holdQueue, until } from './fixtures/runs.ts';
import { startTestServer, type TestServer } from './harness.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

it('a burst of stage changes costs two statements and publishes every event in order', async () => {
  const hold = await holdQueue(server);
  try {
    const created = await createRunOk(server, T2I);
    const runId = Buffer.from(created.id, 'base64').toString().split(':')[1] as string;
    const { events, pubsub } = server.app.services;
    const heard: RunEventPayload[] = [];
    const live = pubsub.subscribe('run', runId);
    const listening = (async () => {
      for await (const e of live) {
        heard.push(e);
        if (heard.length === 6) break;
      }
    })();
    const queries = server.app.db.queryCount;
    const kinds = ['TRANSLATE', 'STYLE', 'OPTIMIZE'] as const;
    const writes = kinds.flatMap((kind) => [
      events.change(runId, { stages: { [kind]: { status: 'RUNNING', message: 'working' } } }, [
        { type: 'STAGE_STARTED', stage: kind },
      ]),
      events.change(
        runId,
        { stages: { [kind]: { status: 'SUCCEEDED', progress: 1, message: `${kind} done` } } },
        [{ type: 'STAGE_FINISHED', stage: kind }],
      ),
    ]);
    const sequences = await Promise.all(writes);
    await events.flushed(runId);
    await listening;
    expect(server.app.db.queryCount - queries).toBeLessThanOrEqual(2);
    expect(heard.map((e) => e.type)).toEqual([
      'STAGE_STARTED',
      'STAGE_FINISHED',
      'STAGE_STARTED',
      'STAGE_FINISHED',
      'STAGE_STARTED',
      'STAGE_FINISHED',
    ]);
    const first = heard[0]!.sequence;
    expect(heard.map((e) => e.sequence)).toEqual([0, 1, 2, 3, 4, 5].map((i) => first + i));
    // Each write resolves with a sequence its own events reached.
    expect(Math.max(...(sequences as number[]))).toBe(first + 5);
    const run = await getRun(server, created.id);
    expect(run.sequence).toBe(first + 5);
    for (const kind of kinds) {
      expect(run.stages.find((s) => s.kind === kind)).toMatchObject({
        status: 'SUCCEEDED',
        progress: 1,
        message: `${kind} done`,
      });
    }
  } finally {
    hold.release();
  }
});

it("a run's events carry every sequence once, in order, and its end records its output with RUN_FINISHED", async () => {
  const { pubsub } = server.app.services;
  const { prisma } = server.app.db;
  // The runs of the test before end first, so the sandbox's slots are free to hold.
  await until(
    async () =>
      (await prisma.run.count({ where: { status: { in: ['QUEUED', 'RUNNING'] } } })) === 0,
    'the earlier runs to end',
  );
  const hold = await holdQueue(server);
  let runId = '';
  const heard: RunEventPayload[] = [];
  let listening: Promise<void> = Promise.resolve();
  try {
    const created = await createRunOk(server, T2I);
    runId = Buffer.from(created.id, 'base64').toString().split(':')[1] as string;
    const live = pubsub.subscribe('run', runId);
    listening = (async () => {
      for await (const e of live) {
        heard.push(e);
        if (e.type === 'RUN_FINISHED') break;
      }
    })();
  } finally {
    hold.release();
  }
  await listening;
  const run = await prisma.run.findUniqueOrThrow({
    where: { id: runId },
    include: { outputs: true },
  });
  expect(run.status).toBe('SUCCEEDED');
  const sequences = heard.map((e) => e.sequence);
  // No sequence skipped or repeated: every bump in the database went out as one event.
  expect(sequences).toEqual(sequences.map((_, i) => sequences[0]! + i));
  expect(sequences.at(-1)).toBe(run.sequence);
  const output = heard.at(-2)!;
  expect(output.type).toBe('OUTPUT');
  expect(run.outputs.map((m) => m.id)).toEqual([output.mediaId]);
  expect(heard.map((e) => e.type)).toContain('STAGE_PROGRESS');
});
