// OPTIMIZE: model-specific prompt shaping. Rule-based and deterministic: whitespace
// normalised, the model's prompt template applied, the prompt trimmed to the model's limit
// at a word boundary, and the negative prompt resolved for the model.
import type { PromptStageModel, StageOutcome } from './prompt-stages.ts';

export interface OptimizeResult {
  outcome: StageOutcome;
  prompt: string;
  /** What GENERATE binds: null exactly when the model takes no negative prompt. */
  negativePrompt: string | null;
}

const SLOT = '{prompt}';

/**
 * Shapes the prompt for the model:
 * 1. whitespace runs become one space, no space before `,;:.!?`, empty list items dropped;
 * 2. with a `promptTemplate`, the prompt is trimmed to what the template's fixed text leaves
 *    of `promptLimit` and put into every `{prompt}` slot, so the fixed part is never cut
 *    (a template longer than the limit on its own is not applied, and the message says so);
 * 3. without one, the prompt is trimmed to `promptLimit` (see `trimToLimit`);
 * 4. negative prompt: the user's (normalised, trimmed to the same limit) when given, else the
 *    model's default; when the model takes none (`defaultNegativePrompt` null) it is dropped.
 */
export function optimizePrompt(
  prompt: string,
  negativePrompt: string | null,
  model: PromptStageModel,
): OptimizeResult {
  const notes: string[] = [];
  const normalized = normalizeWhitespace(prompt);
  if (normalized !== prompt) notes.push('whitespace normalised');

  let shaped: string;
  let untrimmedLength: number;
  const template = model.promptTemplate;
  const slots = template ? template.split(SLOT).length - 1 : 0;
  const fixed = template ? template.length - slots * SLOT.length : 0;
  const budget = slots > 0 ? Math.floor((model.promptLimit - fixed) / slots) : 0;
  if (template && slots > 0 && budget >= 1) {
    const fill = (p: string) => tidyEmptySlot(template.split(SLOT).join(p), p);
    untrimmedLength = fill(normalized).length;
    shaped = fill(trimToLimit(normalized, budget));
    notes.push('template applied');
  } else {
    if (template) {
      notes.push(`template not applied (longer than the ${model.promptLimit}-character limit)`);
    }
    untrimmedLength = normalized.length;
    shaped = trimToLimit(normalized, model.promptLimit);
  }
  if (shaped.length < untrimmedLength) {
    notes.push(`${untrimmedLength} → ${shaped.length} characters`);
  }

  let negative: string | null;
  const given = negativePrompt === null ? '' : normalizeWhitespace(negativePrompt);
  if (model.defaultNegativePrompt === null) {
    negative = null;
    if (given) notes.push(`negative prompt dropped (${model.name} takes none)`);
  } else if (given) {
    negative = trimToLimit(given, model.promptLimit);
    if (negative.length < given.length) {
      notes.push(`negative prompt ${given.length} → ${negative.length} characters`);
    }
  } else {
    negative = model.defaultNegativePrompt;
    if (negative) notes.push('default negative prompt added');
  }

  const message = notes.length
    ? `Prompt shaped for ${model.name}: ${notes.join(', ')}`
    : `Prompt checked for ${model.name}: no changes needed (within ${model.promptLimit} characters)`;
  return {
    outcome: { status: 'SUCCEEDED', output: shaped, message },
    prompt: shaped,
    negativePrompt: negative,
  };
}

/** Collapses whitespace, removes spaces before punctuation and empty comma-list items. */
export function normalizeWhitespace(text: string): string {
  return text
    .replace(/\s+/gu, ' ')
    .replace(/ ([,;:.!?])/g, '$1')
    .replace(/,(?: ?,)+/g, ',')
    .replace(/^[\s,;]+|[\s,;]+$/g, '');
}

/** With an empty prompt, "{prompt}, seamless" would start with ", ": drop that. */
function tidyEmptySlot(filled: string, prompt: string): string {
  return prompt ? filled : filled.replace(/^[\s,;:]+|[\s,;:]+$/g, '');
}

const words = new Intl.Segmenter(undefined, { granularity: 'word' });
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
// Trailing separators left after a cut ("a fox, red," → "a fox, red").
const DANGLING = /[\s,;:\-–—(/&+]+$/u;

/**
 * Shortens `text` to at most `limit` UTF-16 units, cutting only at a Unicode word boundary
 * (Intl.Segmenter, so CJK and Thai work too). When the last clause boundary (`,;.!?`) that
 * fits keeps at least 80% of what a word cut keeps, it cuts there instead, so no half
 * phrase dangles at the end. Only a single word longer than `limit` is cut inside, at a
 * grapheme boundary (never splitting a character or an emoji).
 */
export function trimToLimit(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let wordCut = 0;
  let clauseCut = 0;
  for (const segment of words.segment(text)) {
    const end = segment.index + segment.segment.length;
    if (segment.isWordLike && end <= limit) wordCut = end;
    if (
      !segment.isWordLike &&
      /[,;.!?。、，；！？]/u.test(segment.segment) &&
      segment.index <= limit
    ) {
      clauseCut = segment.index;
    }
    if (segment.index > limit) break;
  }
  let cut = clauseCut > 0 && clauseCut >= wordCut * 0.8 ? clauseCut : wordCut;
  if (cut === 0) {
    for (const g of graphemes.segment(text)) {
      if (g.index + g.segment.length > limit) break;
      cut = g.index + g.segment.length;
    }
  }
  return text.slice(0, cut).replace(DANGLING, '');
}
