// IMAGE_TO_AUDIO end to end: the source image goes to an LLM that sees images (DESCRIBE),
// its description drives the text-to-audio workflow (STYLE and OPTIMIZE apply); without
// such an LLM the prompt is required, and createRun says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAKE_IMAGE_DESCRIPTION,
  type FakeLlm,
  sentImages,
  startFakeLlm,
} from '../src/llm/llm.fixtures.ts';
import { noisyPng } from './fixtures/images.ts';
import { createRun, createRunOk, sniff, watchRunWs } from './fixtures/runs.ts';
import { uploadOk } from './fixtures/upload.ts';
import { startTestServer, type TestServer } from './harness.ts';

const AUDIO = {
  mode: 'IMAGE_TO_AUDIO',
  model: 'ace-step-v1-3.5b',
  parameters: { steps: 10, duration: 5 },
};

describe('with an LLM that sees images', () => {
  let server: TestServer;
  let llm: FakeLlm;
  beforeAll(async () => {
    llm = await startFakeLlm();
    server = await startTestServer({
      SANDBOX_STEP_DELAY_MS: '0',
      LLM_URL: llm.url,
      LLM_MODEL: 'llava',
      LLM_VISION: 'true',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await llm?.close();
  });

  it('describes the image and makes sound from the description, without a prompt', async () => {
    const source = await uploadOk(server.url, await noisyPng(320, 200));
    const run = await createRunOk(server, {
      ...AUDIO,
      prompt: '',
      source: source.id,
      style: 'watercolor',
    });
    const events = await watchRunWs(server, run.id);
    const last = events.at(-1);
    expect(last?.type).toBe('RUN_FINISHED');
    expect(last?.run.status).toBe('SUCCEEDED');
    const stages = last?.run.stages ?? [];
    expect(stages.map((s) => s.kind)).toEqual([
      'DESCRIBE',
      'TRANSLATE',
      'STYLE',
      'OPTIMIZE',
      'GENERATE',
    ]);
    expect(stages[0]).toMatchObject({
      status: 'SUCCEEDED',
      output: FAKE_IMAGE_DESCRIPTION,
      message: 'Described the image with llava',
    });
    // STYLE worked on the description.
    expect(stages[2]?.input).toBe(FAKE_IMAGE_DESCRIPTION);
    expect(last?.run.effectivePrompt).toContain('pebble beach');
    expect(sentImages(llm.requests.find((r) => sentImages(r).length)!)[0]).toMatch(
      /^data:image\/jpeg;base64,/,
    );
    const output = last?.run.outputs[0];
    expect(output?.kind).toBe('AUDIO');
    const bytes = Buffer.from(await (await fetch(new URL(output!.url, server.url))).arrayBuffer());
    expect(sniff(bytes)).toMatch(/mp3|audio|flac|wav|ogg/);
  });

  it('needs a source image', async () => {
    const refused = await createRun(server, { ...AUDIO, prompt: 'x' });
    expect(refused).toMatchObject({ __typename: 'ValidationError', field: 'source' });
  });
});

describe('without one', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '0' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses a run without a prompt, saying why', async () => {
    const source = await uploadOk(server.url, await noisyPng(64, 64));
    const refused = await createRun(server, { ...AUDIO, prompt: '', source: source.id });
    expect(refused).toMatchObject({ __typename: 'ValidationError', field: 'prompt' });
    expect((refused as { message: string }).message).toMatch(/LLM_VISION=true/);
  });

  it('uses the prompt, and DESCRIBE says it was skipped and why', async () => {
    const source = await uploadOk(server.url, await noisyPng(64, 64));
    const run = await createRunOk(server, {
      ...AUDIO,
      prompt: 'rain on a tin roof',
      source: source.id,
    });
    const events = await watchRunWs(server, run.id);
    const last = events.at(-1);
    expect(last?.run.status).toBe('SUCCEEDED');
    expect(last?.run.stages[0]).toMatchObject({
      kind: 'DESCRIBE',
      status: 'SKIPPED',
      output: 'rain on a tin roof',
    });
    expect(last?.run.stages[0]?.message).toMatch(/LLM_VISION=true/);
  });
});
