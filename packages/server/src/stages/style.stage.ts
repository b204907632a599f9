// STYLE: applies the chosen style. Rule-based by default (the style's template); with an
// LLM and a style that has an `llmInstruction`, the LLM rewrites the prompt instead.
//
// Decision: an LLM rewrite *replaces* the template rather than being wrapped by it. The
// template's fixed text is handed to the LLM as the style's vocabulary, so the rewrite
// carries the style's keywords without repeating them (which would spend the model's
// prompt limit twice). If the LLM fails, the template is applied and the message says why:
// the optional LLM never fails a run.
import type { GenerationMode } from '../generated/prisma/enums.ts';
import type { LlmClient } from '../llm/llm.client.ts';
import { applyStyleTemplate } from '../styles/styles.service.ts';
import type { PromptStageStyle, StageOutcome } from './prompt-stages.ts';
import { reasonOf } from './translate.stage.ts';

export interface StyleResult {
  outcome: StageOutcome;
  prompt: string;
}

// What the generated medium is per mode, so a rewrite keeps an edit an instruction, talks
// about motion for video and about sound for audio (styles work with every mode).
const MEDIUM: Record<GenerationMode, string> = {
  TEXT_TO_IMAGE: 'images. The prompt describes the image.',
  IMAGE_TO_IMAGE:
    'images made from a source image the user provides. The prompt describes the desired result.',
  EDIT: 'image edits. The prompt is an instruction that changes a source image: keep it an instruction, and keep exactly what it asks to change.',
  INPAINT:
    'inpainting. The prompt describes what to paint inside a masked area of a source image; it must blend with the rest of the image.',
  MULTI_REFERENCE:
    'images composed from reference images the user provides. Keep every mention of the references (such as "the first image") as it is.',
  TEXT_TO_VIDEO: 'short videos. Describe the motion and camera movement as well as the look.',
  IMAGE_TO_VIDEO:
    'short videos animated from a source image. Describe the motion and camera movement; do not describe a different scene.',
  TEXT_TO_AUDIO:
    'audio (music or sound). Express the style as sound: genre, instrumentation, mood and tempo, not visuals.',
  IMAGE_TO_AUDIO:
    'audio (music or sound) made for a picture; the prompt already says what the picture sounds like. Express the style as sound: genre, instrumentation, mood and tempo, not visuals.',
};

/** The system message of a style rewrite. */
export function styleInstruction(style: PromptStageStyle, mode: GenerationMode): string {
  const vocabulary = style.template
    .split('{prompt}')
    .map((part) => part.replace(/^[\s,;:.]+|[\s,;:.]+$/g, ''))
    .filter(Boolean)
    .join(', ');
  return [
    `You rewrite prompts for an AI generator of ${MEDIUM[mode]}`,
    style.llmInstruction ?? '',
    vocabulary ? `Typical keywords of this style, for reference: ${vocabulary}.` : '',
    'Write in English. Reply with the rewritten prompt only, as a single paragraph, without quotes, titles or explanations.',
  ]
    .filter(Boolean)
    .join('\n');
}

/** Applies `style` to `prompt` (see the file comment for the LLM rewrite). */
export async function applyStyle(
  prompt: string,
  style: PromptStageStyle | null,
  mode: GenerationMode,
  llm: LlmClient | null,
  signal?: AbortSignal,
): Promise<StyleResult> {
  if (!style) {
    return {
      outcome: { status: 'SKIPPED', output: prompt, message: 'Skipped: no style chosen' },
      prompt,
    };
  }
  const templated = applyStyleTemplate(style.template, prompt);
  const done = (output: string, message: string): StyleResult => ({
    outcome: { status: 'SUCCEEDED', output, message },
    prompt: output,
  });
  if (!llm || !style.llmInstruction || prompt.trim() === '') {
    return done(templated, `Style '${style.name}' applied`);
  }
  try {
    const rewrite = await llm.complete(
      [
        { role: 'system', content: styleInstruction(style, mode) },
        { role: 'user', content: prompt },
      ],
      { signal, maxTokens: Math.min(4096, 512 + 2 * prompt.length) },
    );
    return done(rewrite, `Style '${style.name}' applied: prompt rewritten by ${llm.model}`);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    return done(
      templated,
      `Style '${style.name}' applied with its template (LLM rewrite failed: ${reasonOf(error)})`,
    );
  }
}
