// Stages 1–3 of a run: TRANSLATE, STYLE, OPTIMIZE turn the user's prompt into the effective
// prompt GENERATE binds. The run engine persists and publishes each stage through the hooks.
//
// Contract:
// - Every stage, skipped or not, gets `onStageStart(kind, input)` and then
//   `onStageFinish(kind, outcome)`, in the order TRANSLATE, STYLE, OPTIMIZE; a stage's
//   output is the next one's input. A skipped stage passes its input through unchanged.
// - The safety check is not skippable: it runs inside TRANSLATE even when TRANSLATE is in
//   `skip` (the stage then reports "Skipped on request" after the check passed). A hit
//   throws ContentBlockedError after `onStageStart('TRANSLATE')`, without a finish call:
//   the engine marks the stage it last started as FAILED.
// - Failures of the optional LLM never throw: TRANSLATE is SKIPPED with the reason, STYLE
//   falls back to the template; the message says what happened.
// - `deps.signal` aborting rejects with its reason (an AbortError by default): checked
//   before and after every hook and passed to every LLM call. Errors thrown by a hook
//   propagate unchanged.
import type { GenerationMode, StageKind } from '../generated/prisma/enums.ts';
import type { LlmClient } from '../llm/llm.client.ts';
import type { CatalogModel } from '../models/catalog.service.ts';
import type { CatalogStyle } from '../styles/styles.service.ts';
import { withSpan } from '../tracing.ts';
import { describeImage } from './describe.stage.ts';
import { optimizePrompt } from './optimize.stage.ts';
import { applyStyle } from './style.stage.ts';
import { checkContent, translatePrompts } from './translate.stage.ts';

/** The stages this module runs (GENERATE is the run engine's; DESCRIBE only for IMAGE_TO_AUDIO). */
export type PromptStageKind = 'DESCRIBE' | 'TRANSLATE' | 'STYLE' | 'OPTIMIZE';

/** In run order. */
export const PROMPT_STAGE_KINDS: readonly PromptStageKind[] = [
  'DESCRIBE',
  'TRANSLATE',
  'STYLE',
  'OPTIMIZE',
];

/** The stages of a run of `mode`, in order (GENERATE last). */
export function stageKindsFor(mode: GenerationMode): StageKind[] {
  return [
    ...(mode === 'IMAGE_TO_AUDIO' ? ['DESCRIBE' as const] : []),
    'TRANSLATE',
    'STYLE',
    'OPTIMIZE',
    'GENERATE',
  ];
}

/** Message of a stage skipped because the run asked for it (`skipStages`). */
export const SKIPPED_ON_REQUEST = 'Skipped on request';

/** The first half of TRANSLATE's message: what the safety check did. */
function safetyNote(blocklist: readonly string[]): string {
  return blocklist.length ? 'Safety check passed' : 'No safety check (the blocklist is off)';
}

/** The second half: what became of the translation ("Skipped: x" → "translation skipped: x"). */
function translationNote(message: string): string {
  if (message === SKIPPED_ON_REQUEST) return 'translation skipped on request';
  if (message.startsWith('Skipped: translation ')) return message.slice('Skipped: '.length);
  if (message.startsWith('Skipped: ')) return `translation skipped: ${message.slice(9)}`;
  return message.charAt(0).toLowerCase() + message.slice(1);
}

/** How a stage ended (a stage that throws has no outcome). */
export interface StageOutcome {
  status: 'SUCCEEDED' | 'SKIPPED';
  /** The stage's output text: the next stage's input. */
  output: string;
  /** Human-readable, e.g. "Translated from German with llama3". */
  message: string;
}

/** What the stages read of a model (a `CatalogModel` fits). */
export type PromptStageModel = Pick<
  CatalogModel,
  'key' | 'name' | 'promptLimit' | 'promptTemplate' | 'defaultNegativePrompt'
>;

/** What the stages read of a style (a `CatalogStyle` fits). */
export type PromptStageStyle = Pick<CatalogStyle, 'key' | 'name' | 'template' | 'llmInstruction'>;

export interface PromptStagesInput {
  prompt: string;
  /** The user's negative prompt; null (or empty) when none was given. */
  negativePrompt: string | null;
  mode: GenerationMode;
  model: PromptStageModel;
  style: PromptStageStyle | null;
  /** Stages to skip (`CreateRunInput.skipStages`); GENERATE in it is ignored here. */
  skip: ReadonlySet<StageKind>;
  /** IMAGE_TO_AUDIO: reads the source image DESCRIBE puts into words. */
  sourceImage?: () => Promise<Buffer>;
}

export interface PromptStagesDeps {
  /** Null: rule-based stages only (no translation, template styles). */
  llm: LlmClient | null;
  /** Terms of the safety check (see stages/blocklist.ts); empty: no check. */
  blocklist: readonly string[];
  /** The LLM takes images (LLM_VISION): DESCRIBE can use it. */
  vision?: boolean;
  signal?: AbortSignal;
}

export interface PromptStageHooks {
  onStageStart(kind: PromptStageKind, input: string): Promise<void>;
  onStageFinish(kind: PromptStageKind, outcome: StageOutcome): Promise<void>;
}

/** One finished stage, as reported to `onStageFinish`. */
export interface PromptStageRecord extends StageOutcome {
  kind: PromptStageKind;
  input: string;
}

export interface PromptStagesResult {
  /** The effective prompt for GENERATE. */
  prompt: string;
  /**
   * The negative prompt for GENERATE: null exactly when the model takes none; otherwise the
   * (translated, shaped) user's one or the model's default (possibly "").
   */
  negativePrompt: string | null;
  /** The three stages as reported to the hooks, in order. */
  stages: PromptStageRecord[];
}

const NO_HOOKS: PromptStageHooks = {
  onStageStart: async () => {},
  onStageFinish: async () => {},
};

/** Runs TRANSLATE, STYLE and OPTIMIZE (see the contract at the top of this file). */
export async function runPromptStages(
  input: PromptStagesInput,
  deps: PromptStagesDeps,
  hooks: PromptStageHooks = NO_HOOKS,
): Promise<PromptStagesResult> {
  const { signal } = deps;
  const stages: PromptStageRecord[] = [];
  let prompt = input.prompt;
  let negativePrompt = input.negativePrompt;

  const run = (
    kind: PromptStageKind,
    body: () => Promise<StageOutcome>,
    beforeSkip?: () => void,
    describe?: (message: string) => string,
  ) =>
    withSpan(`stage ${kind}`, { 'atelier.stage.kind': kind }, async () => {
      signal?.throwIfAborted();
      const stageInput = prompt;
      await hooks.onStageStart(kind, stageInput);
      signal?.throwIfAborted();
      let outcome: StageOutcome;
      if (input.skip.has(kind)) {
        beforeSkip?.();
        outcome = { status: 'SKIPPED', output: stageInput, message: SKIPPED_ON_REQUEST };
      } else {
        outcome = await body();
      }
      if (describe) outcome = { ...outcome, message: describe(outcome.message) };
      signal?.throwIfAborted();
      prompt = outcome.output;
      stages.push({ kind, input: stageInput, ...outcome });
      await hooks.onStageFinish(kind, outcome);
    });

  if (input.mode === 'IMAGE_TO_AUDIO') {
    const image = input.sourceImage;
    if (!image) throw new Error('IMAGE_TO_AUDIO needs its source image');
    await run('DESCRIBE', () =>
      describeImage({
        image,
        prompt,
        llm: deps.llm,
        vision: deps.vision ?? false,
        ...(signal ? { signal } : {}),
      }),
    );
  }

  await run(
    'TRANSLATE',
    async () => {
      checkContent(prompt, negativePrompt, deps.blocklist);
      const result = await translatePrompts(
        prompt,
        negativePrompt,
        deps.llm,
        deps.blocklist,
        signal,
      );
      negativePrompt = result.negativePrompt;
      return result.outcome;
    },
    // The safety check is not skippable.
    () => checkContent(prompt, negativePrompt, deps.blocklist),
    // Says what ran: the safety check always did, whatever became of the translation.
    (message) => `${safetyNote(deps.blocklist)}; ${translationNote(message)}`,
  );

  await run('STYLE', async () => {
    const result = await applyStyle(prompt, input.style, input.mode, deps.llm, signal);
    return result.outcome;
  });

  await run(
    'OPTIMIZE',
    async () => {
      const result = optimizePrompt(prompt, negativePrompt, input.model);
      negativePrompt = result.negativePrompt;
      return result.outcome;
    },
    // Skipped: the prompt goes through as it is, but a negative prompt still has to be
    // one GENERATE can bind (none for a model without one, the default when empty).
    () => {
      negativePrompt =
        input.model.defaultNegativePrompt === null
          ? null
          : negativePrompt?.trim()
            ? negativePrompt
            : input.model.defaultNegativePrompt;
    },
  );

  signal?.throwIfAborted();
  return { prompt, negativePrompt, stages };
}
