// DESCRIBE (IMAGE_TO_AUDIO only, before TRANSLATE): the source image becomes the words a
// text-to-audio model is prompted with. An LLM that sees images (LLM_URL with
// LLM_VISION=true, an OpenAI-compatible chat endpoint taking `image_url` parts) describes
// what the picture would sound like; the user's prompt, when given, is kept after the
// description as guidance. Without such an LLM, or when it fails, the prompt alone
// describes the sound (createRun then requires one); with neither, the run fails.
import sharp from 'sharp';
import { type LlmClient, LlmError } from '../llm/llm.client.ts';
import type { StageOutcome } from './prompt-stages.ts';
import { ImageNotDescribedError } from './stages.errors.ts';

export const DESCRIBE_SYSTEM_PROMPT = [
  'You write prompts for a text-to-audio model (music and sound) from a picture.',
  'Describe in one or two short lines what this picture would sound like: mood, tempo,',
  'instruments or sound sources, ambience and texture. Reply with the description only:',
  'no quotes, no preamble, no mention of the picture itself.',
].join(' ');

/** Longest edge of the image sent to the LLM (enough to describe it, cheap to send). */
const DESCRIBE_EDGE = 768;

export interface DescribeInput {
  /** Reads the source image's bytes. */
  image: () => Promise<Buffer>;
  /** The run's prompt (may be empty). */
  prompt: string;
  llm: LlmClient | null;
  /** Whether the LLM accepts images (LLM_VISION). */
  vision: boolean;
  signal?: AbortSignal;
}

/** Message of DESCRIBE when no LLM can see images. */
export const NO_VISION_MESSAGE =
  'Skipped: no LLM that sees images is configured (set LLM_URL and LLM_VISION=true); the prompt describes the sound';

export async function describeImage(input: DescribeInput): Promise<StageOutcome> {
  const { prompt, llm, signal } = input;
  const given = prompt.trim();
  if (!llm || !input.vision) {
    if (!given) throw new ImageNotDescribedError('no LLM that sees images is configured');
    return { status: 'SKIPPED', output: prompt, message: NO_VISION_MESSAGE };
  }
  let description: string;
  try {
    const jpeg = await sharp(await input.image(), { failOn: 'error' })
      .rotate()
      .resize({
        width: DESCRIBE_EDGE,
        height: DESCRIBE_EDGE,
        fit: 'inside',
        withoutEnlargement: true,
      })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 80 })
      .toBuffer();
    description = await llm.complete(
      [
        { role: 'system', content: DESCRIBE_SYSTEM_PROMPT },
        {
          role: 'user',
          content: [
            {
              type: 'text',
              text: given
                ? `What does this picture sound like? The user adds: ${given}`
                : 'What does this picture sound like?',
            },
            {
              type: 'image_url',
              image_url: { url: `data:image/jpeg;base64,${jpeg.toString('base64')}` },
            },
          ],
        },
      ],
      { ...(signal ? { signal } : {}), maxTokens: 200 },
    );
  } catch (error) {
    signal?.throwIfAborted();
    if (!(error instanceof LlmError)) throw error;
    if (!given) throw new ImageNotDescribedError(error.message.replace(/\.$/, ''));
    return {
      status: 'SKIPPED',
      output: prompt,
      message: `Skipped: the image could not be described (${error.message.replace(/\.$/, '')}); the prompt describes the sound`,
    };
  }
  return {
    status: 'SUCCEEDED',
    output: given ? `${description}, ${given}` : description,
    message: `Described the image with ${llm.model}${given ? '; the prompt follows the description' : ''}`,
  };
}
