// One end-to-end run per mode against a started server with the bundled sandbox: upload
// what the mode needs, create the run, watch it over graphql-ws (and once over SSE), then
// fetch the outputs from /media and check what their bytes are.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noisyPng, pngWithAlpha } from './fixtures/images.ts';
import {
  createRunOk,
  holdQueue,
  type RunEventView,
  sniff,
  watchHeld,
  watchRunWs,
} from './fixtures/runs.ts';
import { uploadOk } from './fixtures/upload.ts';
import { startTestServer, type TestServer } from './harness.ts';

const FORMATS: Record<string, string[]> = {
  IMAGE: ['png', 'jpeg', 'webp'],
  VIDEO: ['mp4', 'webm'],
  AUDIO: ['flac', 'mp3', 'ogg', 'wav'],
};

function checkEvents(events: RunEventView[], kind: string) {
  expect(events[0]?.type).toBe('SNAPSHOT');
  for (let i = 1; i < events.length; i++) {
    expect(events[i]!.sequence).toBeGreaterThan(events[i - 1]!.sequence);
  }
  const started = events.filter((e) => e.type === 'STAGE_STARTED').map((e) => e.stage?.kind);
  expect(new Set(started)).toEqual(new Set(['TRANSLATE', 'STYLE', 'OPTIMIZE', 'GENERATE']));
  expect(events.some((e) => e.type === 'STAGE_PROGRESS')).toBe(true);
  if (kind !== 'AUDIO') {
    const previews = events.filter((e) => e.type === 'PREVIEW');
    expect(previews.length).toBeGreaterThan(0);
    expect(previews[0]!.preview!.dataUrl).toMatch(/^data:image\/(jpeg|png|webp);base64,/);
  }
  expect(events.filter((e) => e.type === 'OUTPUT').length).toBeGreaterThan(0);
  const last = events.at(-1)!;
  expect(last.type).toBe('RUN_FINISHED');
  expect(last.run.status).toBe('SUCCEEDED');
  expect(last.run.error).toBeNull();
  expect(last.run.stages.map((s) => [s.kind, s.status])).toEqual([
    ['TRANSLATE', 'SKIPPED'],
    ['STYLE', expect.stringMatching(/SUCCEEDED|SKIPPED/)],
    ['OPTIMIZE', 'SUCCEEDED'],
    ['GENERATE', 'SUCCEEDED'],
  ]);
  return last.run;
}

describe('a run in every mode, end to end', () => {
  let server: TestServer;
  const media: Record<string, string> = {};

  beforeAll(async () => {
    server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '5' });
    media.source = (
      await uploadOk(server.url, await noisyPng(320, 240), { filename: 'source.png' })
    ).id;
    media.other = (
      await uploadOk(server.url, await noisyPng(200, 300), { filename: 'ref2.png' })
    ).id;
    media.mask = (
      await uploadOk(server.url, await pngWithAlpha(320, 240), {
        filename: 'mask.png',
        purpose: 'MASK',
      })
    ).id;
  });
  afterAll(async () => {
    await server?.stop();
  });

  const cases: { mode: string; kind: string; input: () => Record<string, unknown> }[] = [
    {
      mode: 'TEXT_TO_IMAGE',
      kind: 'IMAGE',
      input: () => ({
        model: 'sd3.5-large',
        style: 'watercolor',
        parameters: { steps: 3, width: 512, height: 512 },
      }),
    },
    {
      mode: 'IMAGE_TO_IMAGE',
      kind: 'IMAGE',
      input: () => ({
        model: 'flux1-dev',
        source: media.source,
        parameters: { steps: 3, megapixels: 0.25 },
      }),
    },
    {
      mode: 'EDIT',
      kind: 'IMAGE',
      input: () => ({ model: 'qwen-image-edit-lightning', source: media.source }),
    },
    {
      mode: 'INPAINT',
      kind: 'IMAGE',
      input: () => ({
        model: 'sd2-inpainting',
        source: media.source,
        mask: media.mask,
        parameters: { steps: 5 },
      }),
    },
    {
      mode: 'MULTI_REFERENCE',
      kind: 'IMAGE',
      input: () => ({
        model: 'qwen-image-edit-2509',
        references: [media.source, media.other],
        parameters: { steps: 4 },
      }),
    },
    {
      mode: 'TEXT_TO_VIDEO',
      kind: 'VIDEO',
      input: () => ({
        model: 'wan2.2-t2v-14b',
        parameters: { steps: 4, width: 320, height: 320, frames: 9 },
      }),
    },
    {
      mode: 'IMAGE_TO_VIDEO',
      kind: 'VIDEO',
      input: () => ({
        model: 'wan2.1-i2v-480p',
        source: media.source,
        parameters: { steps: 4, width: 320, height: 320, frames: 9 },
      }),
    },
    {
      mode: 'TEXT_TO_AUDIO',
      kind: 'AUDIO',
      input: () => ({ model: 'ace-step-v1-3.5b', parameters: { steps: 10, duration: 5 } }),
    },
  ];

  it.each(cases)('$mode over graphql-ws', async ({ mode, kind, input }) => {
    const hold = await holdQueue(server);
    const created = await createRunOk(server, {
      mode,
      prompt: `a lighthouse at dusk (${mode})`,
      ...input(),
    });
    expect(created.status).toBe('QUEUED');
    expect(created.queuePosition).toBe(1);
    const events = await watchHeld(server, hold, created.id);
    const run = checkEvents(events, kind);
    expect(run.outputs.length).toBeGreaterThan(0);
    for (const output of run.outputs) {
      expect(output.kind).toBe(kind);
      const res = await fetch(output.url);
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.length).toBe(output.bytes);
      expect(FORMATS[kind]).toContain(sniff(bytes));
      expect(res.headers.get('content-type')).toBe(output.mimeType);
      if (kind !== 'AUDIO') expect(output.width).toBeGreaterThan(0);
      if (kind !== 'IMAGE') expect(output.durationMs).toBeGreaterThan(0);
      if (kind === 'VIDEO') expect(output.thumbnailUrl).toBeTruthy();
    }
  });

  it('TEXT_TO_IMAGE over SSE, with count 2 and WebP output', async () => {
    const hold = await holdQueue(server);
    const created = await createRunOk(server, {
      mode: 'TEXT_TO_IMAGE',
      model: 'flux1-dev',
      prompt: 'two paper boats',
      count: 2,
      output: { format: 'WEBP', quality: 80 },
      parameters: { steps: 3, width: 256, height: 256 },
    });
    const events = await watchHeld(server, hold, created.id, 'sse');
    const run = checkEvents(events, 'IMAGE');
    expect(run.outputs).toHaveLength(2);
    for (const output of run.outputs) {
      const bytes = Buffer.from(await (await fetch(output.url)).arrayBuffer());
      expect(sniff(bytes)).toBe('webp');
    }
  });

  it('a subscription to a finished run gets its SNAPSHOT and completes', async () => {
    const created = await createRunOk(server, {
      mode: 'TEXT_TO_IMAGE',
      model: 'flux1-dev',
      prompt: 'a kite',
      parameters: { steps: 2, width: 256, height: 256 },
    });
    await watchRunWs(server, created.id);
    const again = await watchRunWs(server, created.id);
    expect(again.map((e) => e.type)).toEqual(['SNAPSHOT']);
    expect(again[0]!.run.status).toBe('SUCCEEDED');
  });
});
