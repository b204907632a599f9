// DESCRIBE: a vision LLM turns the source image into the sound's description; without one,
// or when it fails, the prompt stands in; with neither, the run cannot go on.
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenAiCompatibleClient } from '../llm/llm.client.ts';
import {
  FAKE_IMAGE_DESCRIPTION,
  type FakeLlm,
  lastUserMessage,
  sentImages,
  startFakeLlm,
} from '../llm/llm.fixtures.ts';
import { describeImage, NO_VISION_MESSAGE } from './describe.stage.ts';
import { ImageNotDescribedError } from './stages.errors.ts';

let llm: FakeLlm;
let client: OpenAiCompatibleClient;
let image: Buffer;
beforeAll(async () => {
  llm = await startFakeLlm();
  client = new OpenAiCompatibleClient({ url: llm.url, model: 'llava' });
  image = await sharp({
    create: { width: 2000, height: 1000, channels: 3, background: { r: 20, g: 60, b: 160 } },
  })
    .png()
    .toBuffer();
});
afterAll(async () => {
  await llm?.close();
});
beforeEach(() => {
  llm.requests.length = 0;
  llm.fail(null);
});

describe('with an LLM that sees images', () => {
  it('sends the image, downscaled, and uses the description as the prompt', async () => {
    const outcome = await describeImage({
      image: async () => image,
      prompt: '',
      llm: client,
      vision: true,
    });
    expect(outcome).toEqual({
      status: 'SUCCEEDED',
      output: FAKE_IMAGE_DESCRIPTION,
      message: 'Described the image with llava',
    });
    const [sent] = sentImages(llm.requests[0]!);
    expect(sent).toMatch(/^data:image\/jpeg;base64,/);
    const meta = await sharp(Buffer.from(sent!.split(',')[1]!, 'base64')).metadata();
    expect([meta.width, meta.height]).toEqual([768, 384]);
  });

  it('keeps the prompt after the description, and tells the LLM about it', async () => {
    const outcome = await describeImage({
      image: async () => image,
      prompt: 'solo cello',
      llm: client,
      vision: true,
    });
    expect(outcome.output).toBe(`${FAKE_IMAGE_DESCRIPTION}, solo cello`);
    expect(lastUserMessage(llm.requests[0]!)).toContain('solo cello');
  });

  it('falls back to the prompt when the LLM fails, and fails without one', async () => {
    llm.fail('http-500');
    const outcome = await describeImage({
      image: async () => image,
      prompt: 'solo cello',
      llm: client,
      vision: true,
    });
    expect(outcome.status).toBe('SKIPPED');
    expect(outcome.output).toBe('solo cello');
    expect(outcome.message).toMatch(/^Skipped: the image could not be described \(.*HTTP 500/);
    await expect(
      describeImage({ image: async () => image, prompt: ' ', llm: client, vision: true }),
    ).rejects.toBeInstanceOf(ImageNotDescribedError);
  });
});

describe('without one', () => {
  it('uses the prompt and says why, or fails without a prompt', async () => {
    for (const [llmClient, vision] of [
      [null, true],
      [client, false],
    ] as const) {
      const outcome = await describeImage({
        image: async () => image,
        prompt: 'rain on a tin roof',
        llm: llmClient,
        vision,
      });
      expect(outcome).toEqual({
        status: 'SKIPPED',
        output: 'rain on a tin roof',
        message: NO_VISION_MESSAGE,
      });
      const error = await describeImage({
        image: async () => image,
        prompt: '',
        llm: llmClient,
        vision,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageNotDescribedError);
      expect((error as ImageNotDescribedError).code).toBe('IMAGE_NOT_DESCRIBED');
    }
    expect(llm.requests).toHaveLength(0);
  });
});
