// Stages 1–3 end to end: real catalog models and styles, the LLM through the local
// OpenAI-compatible stand-in, and the hooks a run engine would persist; skip and abort.
import { describe, expect, it } from 'vitest';
import type { StageKind } from '../generated/prisma/enums.ts';
import { LlmError } from '../llm/llm.client.ts';
import { FAKE_REWRITE_MARKER } from '../llm/llm.fixtures.ts';
import { runPromptStages, type StageOutcome } from './prompt-stages.ts';
import { recordHooks, useStageTestEnv } from './stages.fixtures.ts';

const env = useStageTestEnv();

describe('OPTIMIZE', () => {
  it('applies the model template within the limit and adds the default negative prompt', async () => {
    const inpaint = env.model('sd2-inpainting');
    const long = Array.from({ length: 80 }, (_, i) => `detail${i}`).join(' ');
    const rec = recordHooks();
    const result = await runPromptStages(
      env.input({ prompt: long, mode: 'INPAINT', model: inpaint }),
      { llm: null, blocklist: [] },
      rec.hooks,
    );
    const suffix = inpaint.promptTemplate!.split('{prompt}')[1]!;
    expect(result.prompt.endsWith(suffix)).toBe(true);
    expect(result.prompt.length).toBeLessThanOrEqual(inpaint.promptLimit);
    const kept = result.prompt.slice(0, -suffix.length);
    expect(long.startsWith(kept)).toBe(true);
    expect(long[kept.length]).toBe(' ');
    expect(result.negativePrompt).toBe(inpaint.defaultNegativePrompt);
    expect(rec.finished('OPTIMIZE')?.message).toBe(
      `Prompt shaped for ${inpaint.name}: template applied, ${long.length + suffix.length} → ${result.prompt.length} characters, default negative prompt added`,
    );
  });

  it("keeps the user's negative prompt, and drops it for a model that takes none", async () => {
    const sd = await runPromptStages(env.input({ negativePrompt: 'ugly' }), {
      llm: null,
      blocklist: [],
    });
    expect(sd.negativePrompt).toBe('ugly');
    const flux = env.model('flux1-dev');
    const rec = recordHooks();
    const result = await runPromptStages(
      env.input({ negativePrompt: 'ugly', model: flux }),
      { llm: null, blocklist: [] },
      rec.hooks,
    );
    expect(result.negativePrompt).toBeNull();
    expect(rec.finished('OPTIMIZE')?.message).toBe(
      `Prompt shaped for ${flux.name}: negative prompt dropped (${flux.name} takes none)`,
    );
  });
});

describe('skip and hooks', () => {
  it('passes input through for skipped stages and never calls the LLM', async () => {
    const rec = recordHooks();
    const result = await runPromptStages(
      env.input({
        prompt: '  ein roter   Fuchs  ',
        negativePrompt: 'ugly',
        style: env.style('comic'),
        model: env.model('flux1-dev'),
        skip: new Set<StageKind>(['TRANSLATE', 'STYLE', 'OPTIMIZE', 'GENERATE']),
      }),
      { llm: env.client, blocklist: ['ass'] },
      rec.hooks,
    );
    const skipped = {
      status: 'SKIPPED',
      output: '  ein roter   Fuchs  ',
      message: 'Skipped on request',
    };
    expect(rec.calls).toEqual([
      { hook: 'start', kind: 'TRANSLATE', input: '  ein roter   Fuchs  ' },
      {
        hook: 'finish',
        kind: 'TRANSLATE',
        outcome: { ...skipped, message: 'Safety check passed; translation skipped on request' },
      },
      { hook: 'start', kind: 'STYLE', input: '  ein roter   Fuchs  ' },
      { hook: 'finish', kind: 'STYLE', outcome: skipped },
      { hook: 'start', kind: 'OPTIMIZE', input: '  ein roter   Fuchs  ' },
      { hook: 'finish', kind: 'OPTIMIZE', outcome: skipped },
    ]);
    expect(result.prompt).toBe('  ein roter   Fuchs  ');
    // FLUX takes no negative prompt: there is nothing GENERATE could bind it to.
    expect(result.negativePrompt).toBeNull();
    expect(env.llm.requests).toHaveLength(0);
  });

  it("calls the hooks in order, each stage's output being the next one's input", async () => {
    const rec = recordHooks();
    const comic = env.style('comic');
    const sd = env.model('sd3.5-large');
    const result = await runPromptStages(
      env.input({ prompt: 'ein roter Fuchs im Schnee', style: comic, model: sd }),
      { llm: env.client, blocklist: [] },
      rec.hooks,
    );
    const styled = `${FAKE_REWRITE_MARKER} a red fox in the snow`;
    expect(rec.calls).toEqual([
      { hook: 'start', kind: 'TRANSLATE', input: 'ein roter Fuchs im Schnee' },
      {
        hook: 'finish',
        kind: 'TRANSLATE',
        outcome: {
          status: 'SUCCEEDED',
          output: 'a red fox in the snow',
          message: 'No safety check (the blocklist is off); translated from German with llama3',
        },
      },
      { hook: 'start', kind: 'STYLE', input: 'a red fox in the snow' },
      {
        hook: 'finish',
        kind: 'STYLE',
        outcome: {
          status: 'SUCCEEDED',
          output: styled,
          message: "Style 'Comic book' applied: prompt rewritten by llama3",
        },
      },
      { hook: 'start', kind: 'OPTIMIZE', input: styled },
      {
        hook: 'finish',
        kind: 'OPTIMIZE',
        outcome: {
          status: 'SUCCEEDED',
          output: styled,
          message: `Prompt shaped for ${sd.name}: default negative prompt added`,
        },
      },
    ]);
    expect(result).toEqual({
      prompt: styled,
      negativePrompt: sd.defaultNegativePrompt,
      stages: [
        {
          kind: 'TRANSLATE',
          input: 'ein roter Fuchs im Schnee',
          ...(rec.calls[1] as { outcome: StageOutcome }).outcome,
        },
        {
          kind: 'STYLE',
          input: 'a red fox in the snow',
          ...(rec.calls[3] as { outcome: StageOutcome }).outcome,
        },
        { kind: 'OPTIMIZE', input: styled, ...(rec.calls[5] as { outcome: StageOutcome }).outcome },
      ],
    });
  });

  it('propagates a failing hook', async () => {
    const boom = new Error('database down');
    const rec = recordHooks({
      onStageFinish: async (kind) => {
        if (kind === 'STYLE') throw boom;
      },
    });
    await expect(
      runPromptStages(env.input(), { llm: null, blocklist: [] }, rec.hooks),
    ).rejects.toBe(boom);
    expect(rec.calls.map((c) => `${c.hook} ${c.kind}`)).toEqual([
      'start TRANSLATE',
      'finish TRANSLATE',
      'start STYLE',
      'finish STYLE',
    ]);
  });
});

describe('abort', () => {
  it('rejects with an AbortError between stages', async () => {
    const controller = new AbortController();
    const rec = recordHooks({
      onStageStart: async (kind) => {
        if (kind === 'STYLE') controller.abort();
      },
    });
    const error = await runPromptStages(
      env.input({ style: env.style('comic') }),
      { llm: null, blocklist: [], signal: controller.signal },
      rec.hooks,
    ).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(rec.calls.map((c) => `${c.hook} ${c.kind}`)).toEqual([
      'start TRANSLATE',
      'finish TRANSLATE',
      'start STYLE',
    ]);
  });

  it('rejects promptly while the LLM is answering, instead of skipping', async () => {
    env.llm.fail('hang');
    const controller = new AbortController();
    const arrived = env.llm.nextRequest();
    const pending = runPromptStages(env.input({ prompt: 'ein roter Fuchs im Schnee' }), {
      llm: env.client,
      blocklist: [],
      signal: controller.signal,
    }).catch((e: unknown) => e);
    await arrived;
    controller.abort();
    const error = await pending;
    expect(error).not.toBeInstanceOf(LlmError);
    expect((error as Error).name).toBe('AbortError');
  });

  it('rejects before starting when already aborted', async () => {
    const rec = recordHooks();
    await expect(
      runPromptStages(
        env.input(),
        { llm: null, blocklist: [], signal: AbortSignal.abort() },
        rec.hooks,
      ),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(rec.calls).toHaveLength(0);
  });
});
