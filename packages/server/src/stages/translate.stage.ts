// TRANSLATE: the safety check (never skippable) and the translation to English (optional,
// needs an LLM). A failed translation never fails the run: the stage is SKIPPED with the
// reason and the prompt goes on as written.
import type { LlmClient } from '../llm/llm.client.ts';
import { compileBlocklist } from './blocklist.ts';
import { guessLanguage, isObviouslyEnglish } from './language.ts';
import type { StageOutcome } from './prompt-stages.ts';
import { ContentBlockedError } from './stages.errors.ts';

export interface TranslateResult {
  outcome: StageOutcome;
  prompt: string;
  negativePrompt: string | null;
}

/** Message of TRANSLATE without an LLM. */
export const NO_LLM_MESSAGE = 'Skipped: no LLM configured (set LLM_URL)';

/**
 * Throws ContentBlockedError when the prompt or the negative prompt contains a blocklist
 * term (the prompt is checked first).
 */
export function checkContent(
  prompt: string,
  negativePrompt: string | null,
  blocklist: readonly string[],
  afterTranslation = false,
): void {
  if (blocklist.length === 0) return;
  const compiled = compileBlocklist(blocklist);
  if (compiled.find(prompt) !== null) throw new ContentBlockedError('prompt', afterTranslation);
  if (negativePrompt && compiled.find(negativePrompt) !== null) {
    throw new ContentBlockedError('negativePrompt', afterTranslation);
  }
}

export const TRANSLATE_SYSTEM_PROMPT = [
  'You translate prompts for an AI image, video and audio generator into English.',
  'Reply with the English translation only: no quotes, no explanations, no notes.',
  'Translate faithfully: do not add, remove, soften or embellish anything.',
  'Keep names, titles, numbers, technical and artistic terms, prompt syntax such as',
  '"(word:1.2)", and words that are already English as they are.',
  'If the text is already entirely in English, reply with it unchanged.',
].join(' ');

type Translation =
  | { kind: 'unchanged'; text: string; asked: boolean }
  | { kind: 'translated'; text: string }
  | { kind: 'failed'; text: string; reason: string };

/**
 * Translates prompt and negative prompt to English with the LLM (in parallel), then runs
 * the safety check again on the translation, which catches blocked terms written in
 * another language. Call `checkContent` on the input first.
 */
export async function translatePrompts(
  prompt: string,
  negativePrompt: string | null,
  llm: LlmClient | null,
  blocklist: readonly string[],
  signal?: AbortSignal,
): Promise<TranslateResult> {
  if (!llm) {
    return {
      outcome: { status: 'SKIPPED', output: prompt, message: NO_LLM_MESSAGE },
      prompt,
      negativePrompt,
    };
  }
  if (prompt.trim() === '') {
    return {
      outcome: { status: 'SKIPPED', output: prompt, message: 'Skipped: the prompt is empty' },
      prompt,
      negativePrompt,
    };
  }
  const [main, negative] = await Promise.all([
    translate(prompt, llm, signal),
    negativePrompt?.trim() ? translate(negativePrompt, llm, signal) : null,
  ]);
  const newNegative = negative ? negative.text : negativePrompt;
  checkContent(
    main.kind === 'translated' ? main.text : '',
    negative?.kind === 'translated' ? negative.text : null,
    blocklist,
    true,
  );

  const negativeNote =
    negative?.kind === 'translated'
      ? '; negative prompt translated'
      : negative?.kind === 'failed'
        ? `; negative prompt kept as written (translation failed: ${negative.reason})`
        : '';
  let outcome: StageOutcome;
  if (main.kind === 'failed') {
    outcome = {
      status: 'SKIPPED',
      output: prompt,
      message: `Skipped: translation failed (${main.reason}); the prompt is used as written${negativeNote}`,
    };
  } else if (main.kind === 'translated') {
    const language = guessLanguage(prompt);
    outcome = {
      status: 'SUCCEEDED',
      output: main.text,
      message: `${language ? `Translated from ${language}` : 'Translated to English'} with ${llm.model}${negativeNote}`,
    };
  } else {
    outcome = {
      status: 'SUCCEEDED',
      output: prompt,
      message: `Already in English (${main.asked ? `checked with ${llm.model}` : 'no LLM call needed'})${negativeNote}`,
    };
  }
  return { outcome, prompt: outcome.output, negativePrompt: newNegative };
}

async function translate(
  text: string,
  llm: LlmClient,
  signal: AbortSignal | undefined,
): Promise<Translation> {
  if (isObviouslyEnglish(text)) return { kind: 'unchanged', text, asked: false };
  let answer: string;
  try {
    answer = await llm.complete(
      [
        { role: 'system', content: TRANSLATE_SYSTEM_PROMPT },
        { role: 'user', content: text },
      ],
      { signal, maxTokens: Math.min(8192, 512 + text.length), temperature: 0 },
    );
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    return { kind: 'failed', text, reason: reasonOf(error) };
  }
  // A chatty model that answers with a paragraph instead of a translation is not usable.
  if (answer.length > text.length * 6 + 200) {
    return { kind: 'failed', text, reason: 'the answer was far longer than the text' };
  }
  if (comparable(answer) === comparable(text)) return { kind: 'unchanged', text, asked: true };
  return { kind: 'translated', text: answer };
}

function comparable(text: string): string {
  return text.normalize('NFKC').replace(/\s+/g, ' ').trim().toLowerCase();
}

/** A short reason for a stage message. */
export function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\.$/, '');
}
