// Test helpers of the prompt stages: the real catalog, the LLM stand-in with a client for
// it, run inputs, and hooks that record what a run engine would persist.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { OpenAiCompatibleClient } from '../llm/llm.client.ts';
import { type FakeLlm, startFakeLlm } from '../llm/llm.fixtures.ts';
import { CATALOG_DIR, TEST_NODE_SPECS_FILE } from '../models/catalog.fixtures.ts';
import { type Catalog, type CatalogModel, loadCatalog } from '../models/catalog.service.ts';
import type { CatalogStyle } from '../styles/styles.service.ts';
import type {
  PromptStageHooks,
  PromptStageKind,
  PromptStagesInput,
  StageOutcome,
} from './prompt-stages.ts';

export interface StageTestEnv {
  catalog: Catalog;
  /** The stand-in server; reset (no failure, built-in answers, no requests) after each test. */
  llm: FakeLlm;
  /** A client for `llm` with model name "llama3" and no API key. */
  client: OpenAiCompatibleClient;
  /** A model of the real catalog. */
  model(key: string): CatalogModel;
  /** A style of the real catalog. */
  style(key: string): CatalogStyle;
  /** "a red fox in the snow" for sd3.5-large, TEXT_TO_IMAGE, no style, nothing skipped. */
  input(overrides?: Partial<PromptStagesInput>): PromptStagesInput;
}

/** Registers the suite's beforeAll/afterEach/afterAll; the fields are set in beforeAll. */
export function useStageTestEnv(): StageTestEnv {
  const env = {
    model(key: string) {
      const found = env.catalog.model(key);
      if (!found) throw new Error(`catalog has no model ${key}`);
      return found;
    },
    style(key: string) {
      const found = env.catalog.style(key);
      if (!found) throw new Error(`catalog has no style ${key}`);
      return found;
    },
    input(overrides: Partial<PromptStagesInput> = {}): PromptStagesInput {
      return {
        prompt: 'a red fox in the snow',
        negativePrompt: null,
        mode: 'TEXT_TO_IMAGE',
        model: env.model('sd3.5-large'),
        style: null,
        skip: new Set(),
        ...overrides,
      };
    },
  } as StageTestEnv;
  beforeAll(async () => {
    env.catalog = await loadCatalog(CATALOG_DIR, { nodeSpecsFile: TEST_NODE_SPECS_FILE });
    env.llm = await startFakeLlm();
    env.client = new OpenAiCompatibleClient({ url: env.llm.url, model: 'llama3' });
  });
  afterAll(() => env.llm.close());
  afterEach(() => {
    env.llm.fail(null);
    env.llm.respond(null);
    env.llm.requests.length = 0;
  });
  return env;
}

export type HookCall =
  | { hook: 'start'; kind: PromptStageKind; input: string }
  | { hook: 'finish'; kind: PromptStageKind; outcome: StageOutcome };

/** Hooks that record every call (then run `extra`'s, e.g. to abort or fail). */
export function recordHooks(extra: Partial<PromptStageHooks> = {}) {
  const calls: HookCall[] = [];
  const hooks: PromptStageHooks = {
    onStageStart: async (kind, text) => {
      calls.push({ hook: 'start', kind, input: text });
      await extra.onStageStart?.(kind, text);
    },
    onStageFinish: async (kind, outcome) => {
      calls.push({ hook: 'finish', kind, outcome });
      await extra.onStageFinish?.(kind, outcome);
    },
  };
  /** The outcome reported for a stage, if it finished. */
  const finished = (kind: PromptStageKind) =>
    calls.find(
      (c): c is Extract<HookCall, { hook: 'finish' }> => c.hook === 'finish' && c.kind === kind,
    )?.outcome;
  return { calls, hooks, finished };
}
