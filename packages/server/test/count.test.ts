// `count` for every kind of output: images come from one batched prompt, videos and sounds
// from `count` prompts with consecutive seeds, each output stored and announced on its own.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRunOk, sniff, watchRunWs } from './fixtures/runs.ts';
import { startTestServer, type TestServer } from './harness.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '0' });
});
afterAll(async () => {
  await server?.stop();
});

const cases = [
  {
    kind: 'VIDEO',
    input: {
      mode: 'TEXT_TO_VIDEO',
      model: 'wan2.2-t2v-14b',
      parameters: { steps: 4, width: 320, height: 320, frames: 9 },
    },
  },
  {
    kind: 'AUDIO',
    input: {
      mode: 'TEXT_TO_AUDIO',
      model: 'ace-step-v1-3.5b',
      parameters: { steps: 10, duration: 5 },
    },
  },
  {
    kind: 'IMAGE',
    input: {
      mode: 'TEXT_TO_IMAGE',
      model: 'flux1-dev',
      parameters: { steps: 1, width: 256, height: 256 },
    },
  },
];

it.each(cases)('count 3 of $kind gives 3 outputs, each announced', async ({ kind, input }) => {
  const run = await createRunOk(server, { ...input, prompt: `three of them (${kind})`, count: 3 });
  const events = await watchRunWs(server, run.id);
  const last = events.at(-1);
  expect(last?.run.error ?? null).toBeNull();
  expect(last?.type).toBe('RUN_FINISHED');
  expect(last?.run.status).toBe('SUCCEEDED');
  const outputs = last?.run.outputs ?? [];
  expect(outputs).toHaveLength(3);
  expect(new Set(outputs.map((o) => o.kind))).toEqual(new Set([kind]));
  expect(events.filter((e) => e.type === 'OUTPUT').map((e) => e.output?.id)).toEqual(
    outputs.map((o) => o.id),
  );
  // Three different files (consecutive seeds, or three images of one batch).
  const bodies = await Promise.all(
    outputs.map(async (o) =>
      Buffer.from(await (await fetch(new URL(o.url, server.url))).arrayBuffer()),
    ),
  );
  expect(new Set(bodies.map((b) => b.toString('base64'))).size).toBe(3);
  if (kind === 'VIDEO') expect(bodies.map(sniff)).not.toContain('png');
});
