// createRun validation, idempotency, cancel, retry, delete and run-level failures, against a
// started server with the bundled sandbox.
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { noisyPng, pngWithAlpha } from './fixtures/images.ts';
import {
  createRun,
  createRunOk,
  getRun,
  holdQueue,
  until,
  watchHeld,
  watchRunWs,
} from './fixtures/runs.ts';
import { uploadOk } from './fixtures/upload.ts';
import { startTestServer, type TestServer } from './harness.ts';

const T2I = {
  mode: 'TEXT_TO_IMAGE',
  model: 'flux1-dev',
  prompt: 'a small red boat',
  parameters: { steps: 2, width: 256, height: 256 },
};

describe('runs', () => {
  let server: TestServer;
  let source: string;
  let mask: string;

  beforeAll(async () => {
    server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '5' });
    source = (await uploadOk(server.url, await noisyPng(200, 200))).id;
    mask = (await uploadOk(server.url, await pngWithAlpha(200, 200), { purpose: 'MASK' })).id;
  });
  afterAll(async () => {
    await server?.stop();
  });

  const runCount = async () => (await server.app.db.prisma.run.count()) as number;

  describe('createRun refuses bad input with a typed error and creates nothing', () => {
    const cases: [string, () => Record<string, unknown>, string, string][] = [
      ['unknown model', () => ({ ...T2I, model: 'nope' }), 'ValidationError', 'model'],
      [
        'a mode the model lacks',
        () => ({ ...T2I, mode: 'TEXT_TO_VIDEO' }),
        'ValidationError',
        'mode',
      ],
      [
        'INPAINT without a mask',
        () => ({ mode: 'INPAINT', model: 'sd2-inpainting', prompt: 'x', source }),
        'ValidationError',
        'mask',
      ],
      [
        'too many references',
        () => ({
          mode: 'MULTI_REFERENCE',
          model: 'qwen-image-edit-2509',
          prompt: 'x',
          references: [source, source, source, source],
        }),
        'ValidationError',
        'references',
      ],
      [
        'too few references',
        () => ({
          mode: 'MULTI_REFERENCE',
          model: 'qwen-image-edit-2509',
          prompt: 'x',
          references: [source],
        }),
        'ValidationError',
        'references',
      ],
      [
        'an out-of-range parameter',
        () => ({ ...T2I, parameters: { steps: 500 } }),
        'ValidationError',
        'parameters.steps',
      ],
      [
        'an unknown parameter',
        () => ({ ...T2I, parameters: { bogus: 1 } }),
        'ValidationError',
        'parameters.bogus',
      ],
      ['count 11', () => ({ ...T2I, count: 11 }), 'ValidationError', 'count'],
      ['count 0', () => ({ ...T2I, count: 0 }), 'ValidationError', 'count'],
      ['a bad seed', () => ({ ...T2I, seed: '-5' }), 'ValidationError', 'seed'],
      [
        'a seed over 64 bits',
        () => ({ ...T2I, seed: '18446744073709551616' }),
        'ValidationError',
        'seed',
      ],
      ['an empty prompt', () => ({ ...T2I, prompt: '   ' }), 'ValidationError', 'prompt'],
      ['an unknown style', () => ({ ...T2I, style: 'nope' }), 'ValidationError', 'style'],
      ['a source for text-to-image', () => ({ ...T2I, source }), 'ValidationError', 'source'],
      [
        'JPEG with a transparent background',
        () => ({ ...T2I, output: { format: 'JPEG', background: 'TRANSPARENT' } }),
        'ValidationError',
        'output.background',
      ],
      [
        'skipping GENERATE',
        () => ({ ...T2I, skipStages: ['GENERATE'] }),
        'ValidationError',
        'skipStages',
      ],
    ];
    it.each(cases)('%s', async (_name, input, typename, field) => {
      const before = await runCount();
      const result = await createRun(server, input());
      expect(result.__typename).toBe(typename);
      expect(result).toMatchObject({ code: 'VALIDATION_FAILED', field });
      expect((result as { message: string }).message.length).toBeGreaterThan(5);
      expect(await runCount()).toBe(before);
    });

    it('a media id that does not exist', async () => {
      const before = await runCount();
      const missing = Buffer.from('Media:0b5a7c52-1111-4c1a-9d2e-000000000000').toString('base64');
      const result = await createRun(server, {
        mode: 'IMAGE_TO_IMAGE',
        model: 'flux1-dev',
        prompt: 'x',
        source: missing,
      });
      expect(result).toMatchObject({
        __typename: 'NotFoundError',
        code: 'NOT_FOUND',
        entity: 'Media',
      });
      expect(await runCount()).toBe(before);
    });
  });

  it('records a random seed and the resolved parameters', async () => {
    const run = await createRunOk(server, { ...T2I, parameters: { steps: 3 } });
    expect(run.seed).toMatch(/^\d+$/);
    expect(run.parameters).toMatchObject({ steps: 3, width: 1024, height: 1024, guidance: 3.5 });
    await watchRunWs(server, run.id);
  });

  it('returns the same run for a repeated idempotency key', async () => {
    const before = await runCount();
    const input = { ...T2I, idempotencyKey: `key-${Date.now()}` };
    const [a, b] = await Promise.all([createRunOk(server, input), createRunOk(server, input)]);
    const c = await createRunOk(server, input);
    expect(b.id).toBe(a.id);
    expect(c.id).toBe(a.id);
    expect(await runCount()).toBe(before + 1);
    await watchRunWs(server, a.id);
  });

  it('blocks content on the blocklist in TRANSLATE', async () => {
    const run = await createRunOk(server, { ...T2I, prompt: 'some child porn thing' });
    const events = await watchRunWs(server, run.id);
    const last = events.at(-1)!;
    expect(last.run.status).toBe('FAILED');
    expect(last.run.error).toMatchObject({ code: 'CONTENT_BLOCKED', stage: 'TRANSLATE' });
    expect(last.run.stages.map((s) => s.status)).toEqual([
      'FAILED',
      'CANCELED',
      'CANCELED',
      'CANCELED',
    ]);
    expect(last.run.outputs).toEqual([]);
  });

  it('a subscriber that missed events (pub/sub delivers at most once) catches up from the database', async () => {
    const hold = await holdQueue(server);
    try {
      const run = await createRunOk(server, T2I);
      const uuid = Buffer.from(run.id, 'base64').toString().split(':')[1] as string;
      let snapshot = () => {};
      const gotSnapshot = new Promise<void>((resolve) => {
        snapshot = resolve;
      });
      const events = watchRunWs(server, run.id, {
        onEvent: (e) => e.type === 'SNAPSHOT' && snapshot(),
      });
      await gotSnapshot;
      // The run ends in the database with no event published: a message pub/sub lost.
      await server.app.db.prisma.run.update({
        where: { id: uuid },
        data: { status: 'CANCELED', finishedAt: new Date(), sequence: { increment: 1 } },
      });
      const seen = await events;
      expect(seen.map((e) => e.type)).toEqual(['SNAPSHOT', 'RUN_FINISHED']);
      expect(seen[1]!.run.status).toBe('CANCELED');
      expect(seen[1]!.sequence).toBe(seen[0]!.sequence + 1);
    } finally {
      hold.release();
      // The next test arms the sandbox's hang again: let these blockers leave it first.
      for (const id of hold.blockers) {
        await until(async () => (await getRun(server, id)).status === 'SUCCEEDED', 'a blocker');
      }
    }
  });

  it('cancels a queued run at once', async () => {
    const hold = await holdQueue(server);
    const run = await createRunOk(server, T2I);
    expect(run.status).toBe('QUEUED');
    const result = await server.gql<{ cancelRun: { __typename: string; run: { status: string } } }>(
      `mutation($id: ID!) { cancelRun(id: $id) { __typename ... on CancelRunSuccess { run { status } } } }`,
      { id: run.id },
    );
    expect(result.data?.cancelRun).toEqual({
      __typename: 'CancelRunSuccess',
      run: { status: 'CANCELED' },
    });
    hold.release();
    for (const id of hold.blockers)
      await until(async () => (await getRun(server, id)).status === 'SUCCEEDED', 'blockers');
    const after = await getRun(server, run.id);
    expect(after.status).toBe('CANCELED');
    expect(after.attempt).toBe(0);
    expect(after.error?.code).toBe('CANCELED');
    const again = await server.gql<{ cancelRun: { __typename: string; code: string } }>(
      `mutation($id: ID!) { cancelRun(id: $id) { __typename ... on Error { code } } }`,
      { id: run.id },
    );
    expect(again.data?.cancelRun).toEqual({
      __typename: 'RunNotActiveError',
      code: 'RUN_NOT_ACTIVE',
    });
  });

  it('cancels a running run on its worker; a second run on the same worker completes', async () => {
    server.app.sandbox!.setStepDelay(200);
    try {
      const victim = await createRunOk(server, {
        ...T2I,
        parameters: { steps: 20, width: 256, height: 256 },
      });
      const other = await createRunOk(server, T2I);
      const victimEvents = watchRunWs(server, victim.id);
      await until(
        async () => (await getRun(server, victim.id)).stages[3]?.message?.includes('step') ?? false,
        'the victim to be sampling',
      );
      await server.gql(`mutation($id: ID!) { cancelRun(id: $id) { __typename } }`, {
        id: victim.id,
      });
      const last = (await victimEvents).at(-1)!;
      expect(last.run.status).toBe('CANCELED');
      expect(last.run.error?.code).toBe('CANCELED');
      expect(last.run.outputs).toEqual([]);
      const otherEvents = await watchRunWs(server, other.id);
      expect(otherEvents.at(-1)!.run.status).toBe('SUCCEEDED');
    } finally {
      server.app.sandbox!.setStepDelay(5);
    }
  });

  it('maps a node error to NODE_ERROR with the node', async () => {
    server.app.sandbox!.failNextPrompt({
      kind: 'error',
      classType: 'KSampler',
      message: 'bad sampler',
    });
    const run = await createRunOk(server, {
      ...T2I,
      model: 'sd3.5-large',
      parameters: { steps: 2, width: 512, height: 512 },
    });
    const last = (await watchRunWs(server, run.id)).at(-1)!;
    expect(last.run.status).toBe('FAILED');
    expect(last.run.error).toMatchObject({
      code: 'NODE_ERROR',
      stage: 'GENERATE',
      nodeType: 'KSampler',
    });
    expect(last.run.error?.nodeId).toBeTruthy();
  });

  it("keeps ComfyUI's whole message: its first non-empty line, the rest as detail", async () => {
    server.app.sandbox!.failNextPrompt({
      kind: 'error',
      classType: 'VAEDecode',
      exceptionType: 'ImportError',
      message:
        "\ncannot import name 'load_file' from 'safetensors'\n\nTip: update the safetensors package",
    });
    const run = await createRunOk(server, T2I);
    const last = (await watchRunWs(server, run.id)).at(-1)!;
    expect(last.run.status).toBe('FAILED');
    const { data } = await server.gql<{
      run: { error: { message: string; detail: string; exceptionType: string; nodeType: string } };
    }>('query($id: ID!) { run(id: $id) { error { message detail exceptionType nodeType } } }', {
      id: run.id,
    });
    expect(data?.run.error.message).toMatch(
      /^ImportError: cannot import name 'load_file' from 'safetensors' in node \S+ \(VAEDecode\)$/,
    );
    expect(data?.run.error.detail).toBe(
      "cannot import name 'load_file' from 'safetensors'\n\nTip: update the safetensors package",
    );
    expect(data?.run.error.exceptionType).toBe('ImportError');
  });

  it('maps out-of-memory to OUT_OF_MEMORY', async () => {
    server.app.sandbox!.failNextPrompt({ kind: 'oom' });
    const run = await createRunOk(server, T2I);
    const last = (await watchRunWs(server, run.id)).at(-1)!;
    expect(last.run.status).toBe('FAILED');
    expect(last.run.error?.code).toBe('OUT_OF_MEMORY');
  });

  it('retries a run with a new seed, linked to the original', async () => {
    const first = await createRunOk(server, { ...T2I, seed: '42' });
    await watchRunWs(server, first.id);
    const result = await server.gql<{
      retryRun: { __typename: string; run: { id: string; seed: string; retryOf: { id: string } } };
    }>(
      `mutation($id: ID!) { retryRun(id: $id) { __typename ... on CreateRunSuccess { run { id seed retryOf { id } } } } }`,
      { id: first.id },
    );
    const retry = result.data!.retryRun;
    expect(retry.__typename).toBe('CreateRunSuccess');
    expect(retry.run.retryOf.id).toBe(first.id);
    expect(retry.run.seed).not.toBe('42');
    const same = await server.gql<{ retryRun: { run: { seed: string } } }>(
      `mutation($id: ID!) { retryRun(id: $id, newSeed: false) { ... on CreateRunSuccess { run { seed } } } }`,
      { id: first.id },
    );
    expect(same.data!.retryRun.run.seed).toBe('42');
  });

  it('lists runs with stages, inputs and outputs in a fixed number of queries (no N+1)', async () => {
    const list = `{ runs(first: 50) { edges { node { id status stages { kind status } inputs { role media { id url } } outputs { id url thumbnailUrl } model { key } } } } }`;
    // The counter is process-wide: measure with no run executing, and take the fewest
    // queries over a few identical requests (the queue still polls now and then).
    const idle = () =>
      until(
        async () =>
          (await server.app.db.prisma.run.count({
            where: { status: { in: ['QUEUED', 'RUNNING'] } },
          })) === 0,
        'runs of earlier tests to finish',
      );
    const measure = async () => {
      await idle();
      let queries = Number.POSITIVE_INFINITY;
      let runs = 0;
      for (let i = 0; i < 5; i++) {
        const before = server.app.db.queryCount;
        const result = await server.gql<{ runs: { edges: unknown[] } }>(list);
        queries = Math.min(queries, server.app.db.queryCount - before);
        runs = result.data!.runs.edges.length;
      }
      return { queries, runs };
    };
    const small = await measure();
    for (let i = 0; i < 3; i++) {
      await watchRunWs(
        server,
        (
          await createRunOk(server, {
            ...T2I,
            mode: 'IMAGE_TO_IMAGE',
            source,
            parameters: { steps: 2, megapixels: 0.25 },
          })
        ).id,
      );
    }
    const large = await measure();
    expect(large.runs).toBeGreaterThan(small.runs);
    expect(small.queries).toBeGreaterThan(0);
    expect(large.queries).toBe(small.queries);
    expect(large.queries).toBeLessThanOrEqual(6);
  });

  it('queue positions of a list cost the same queries however many runs wait (no N+1)', async () => {
    const hold = await holdQueue(server);
    const waiting: string[] = [];
    try {
      const list = `{ runs(first: 50, filter: { status: [QUEUED] }) { edges { node { id queuePosition } } } }`;
      const measure = async () => {
        let queries = Number.POSITIVE_INFINITY;
        let positions: (number | null)[] = [];
        for (let i = 0; i < 5; i++) {
          const before = server.app.db.queryCount;
          const result = await server.gql<{
            runs: { edges: { node: { queuePosition: number | null } }[] };
          }>(list);
          queries = Math.min(queries, server.app.db.queryCount - before);
          positions = result.data!.runs.edges.map((e) => e.node.queuePosition);
        }
        return { queries, positions };
      };
      for (let i = 0; i < 2; i++) waiting.push((await createRunOk(server, T2I)).id);
      const two = await measure();
      for (let i = 0; i < 4; i++) waiting.push((await createRunOk(server, T2I)).id);
      const six = await measure();
      expect([...two.positions].sort()).toEqual([1, 2]);
      expect([...six.positions].sort()).toEqual([1, 2, 3, 4, 5, 6]);
      expect(six.queries).toBe(two.queries);
    } finally {
      hold.release();
      for (const id of [...hold.blockers, ...waiting]) {
        await until(async () => (await getRun(server, id)).status === 'SUCCEEDED', 'a run');
      }
    }
  });

  it('lists runs with filters and deletes a run', async () => {
    const run = await createRunOk(server, T2I);
    await watchRunWs(server, run.id);
    const list = await server.gql<{ runs: { edges: { node: { id: string; status: string } }[] } }>(
      `{ runs(first: 100, filter: { status: [SUCCEEDED], mode: [TEXT_TO_IMAGE] }) { edges { node { id status } } } }`,
    );
    const nodes = list.data!.runs.edges.map((e) => e.node);
    expect(nodes.some((n) => n.id === run.id)).toBe(true);
    expect(nodes.every((n) => n.status === 'SUCCEEDED')).toBe(true);
    const deleted = await server.gql<{ deleteRun: { __typename: string } }>(
      `mutation($id: ID!) { deleteRun(id: $id) { __typename } }`,
      { id: run.id },
    );
    expect(deleted.data!.deleteRun.__typename).toBe('DeleteSuccess');
    const gone = await server.gql<{ run: null }>(`query($id: ID!) { run(id: $id) { id } }`, {
      id: run.id,
    });
    expect(gone.data!.run).toBeNull();
  });

  it('INPAINT keeps the mask as a run input and a transparent output has alpha', async () => {
    const hold = await holdQueue(server);
    const run = await createRunOk(server, {
      mode: 'INPAINT',
      model: 'sd2-inpainting',
      prompt: 'a wooden bench',
      source,
      mask,
      output: { format: 'PNG', background: 'TRANSPARENT' },
      parameters: { steps: 5 },
    });
    const last = (await watchHeld(server, hold, run.id)).at(-1)!;
    expect(last.run.status).toBe('SUCCEEDED');
    const output = last.run.outputs[0]!;
    const media = await server.gql<{ media: { hasAlpha: boolean } }>(
      `query($id: ID!) { media(id: $id) { hasAlpha } }`,
      {
        id: output.id,
      },
    );
    expect(media.data!.media.hasAlpha).toBe(true);
  });

  it('streams queueUpdated when runs are queued and finish', async () => {
    const client = createClient({
      url: `${server.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    const seen: { queued: number; running: number }[] = [];
    let created: string | null = null;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no update: ${JSON.stringify(seen)}`)),
          30_000,
        );
        client.subscribe<{ queueUpdated: { queued: number; running: number } }>(
          { query: 'subscription { queueUpdated { queued running } }' },
          {
            next: (value) => {
              const state = value.data!.queueUpdated;
              seen.push(state);
              if (seen.length === 1) {
                // Long enough to be seen running: the queue is published at most every 50 ms
                // (the latest state wins), and a 1-step run can start and end in between.
                void createRunOk(server, {
                  ...T2I,
                  parameters: { ...T2I.parameters, steps: 50 },
                }).then((run) => {
                  created = run.id;
                });
                return;
              }
              const busyBefore = seen.some((s) => s.queued + s.running > 0);
              if (created && busyBefore && state.queued + state.running === 0) {
                clearTimeout(timer);
                resolve();
              }
            },
            error: reject,
            complete: () => reject(new Error('completed early')),
          },
        );
      });
    } finally {
      await client.dispose();
    }
    expect(seen.some((s) => s.queued + s.running > 0)).toBe(true);
    expect(seen.at(-1)).toEqual({ queued: 0, running: 0 });
  });

  it('shows the queue with positions and the sandbox worker', async () => {
    const hold = await holdQueue(server);
    const a = await createRunOk(server, T2I);
    const b = await createRunOk(server, { ...T2I, priority: 5 });
    const queue = await server.gql<{
      queue: {
        queued: number;
        workers: { sandbox: boolean; healthy: boolean }[];
        viewerRuns: { run: { id: string }; position: number | null }[];
      };
    }>(`{ queue { queued workers { sandbox healthy } viewerRuns { run { id } position } } }`);
    const q = queue.data!.queue;
    expect(q.queued).toBeGreaterThanOrEqual(2);
    expect(q.workers).toEqual([{ sandbox: true, healthy: true }]);
    const position = (id: string) => q.viewerRuns.find((r) => r.run.id === id)?.position;
    expect(position(b.id)).toBe(1);
    expect(position(a.id)).toBe(2);
    hold.release();
    await watchRunWs(server, a.id);
  });
});
