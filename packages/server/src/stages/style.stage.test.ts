// STYLE through runPromptStages: templates, the LLM rewrite and its fallback.
import { describe, expect, it } from 'vitest';
import { FAKE_REWRITE_MARKER } from '../llm/llm.fixtures.ts';
import { runPromptStages } from './prompt-stages.ts';
import { recordHooks, useStageTestEnv } from './stages.fixtures.ts';

const env = useStageTestEnv();

describe('STYLE', () => {
  it('is SKIPPED without a style', async () => {
    const rec = recordHooks();
    await runPromptStages(env.input(), { llm: null, blocklist: [] }, rec.hooks);
    expect(rec.finished('STYLE')).toEqual({
      status: 'SKIPPED',
      output: 'a red fox in the snow',
      message: 'Skipped: no style chosen',
    });
  });

  it('applies the template without an LLM', async () => {
    const comic = env.style('comic');
    const rec = recordHooks();
    await runPromptStages(env.input({ style: comic }), { llm: null, blocklist: [] }, rec.hooks);
    expect(rec.finished('STYLE')).toEqual({
      status: 'SUCCEEDED',
      output: comic.template.replace('{prompt}', 'a red fox in the snow'),
      message: "Style 'Comic book' applied",
    });
  });

  it('applies the template when the style has no LLM instruction', async () => {
    const plain = { key: 'plain', name: 'Plain', template: 'an engraving of {prompt}' };
    const rec = recordHooks();
    await runPromptStages(
      env.input({ style: plain }),
      { llm: env.client, blocklist: [] },
      rec.hooks,
    );
    expect(rec.finished('STYLE')?.output).toBe('an engraving of a red fox in the snow');
    expect(env.llm.requests).toHaveLength(0);
  });

  it('lets the LLM rewrite the prompt following the instruction, for the mode', async () => {
    const comic = env.style('comic');
    const rec = recordHooks();
    const result = await runPromptStages(
      env.input({ style: comic, mode: 'TEXT_TO_VIDEO', model: env.model('wan2.2-t2v-14b') }),
      { llm: env.client, blocklist: [] },
      rec.hooks,
    );
    expect(rec.finished('STYLE')).toEqual({
      status: 'SUCCEEDED',
      output: `${FAKE_REWRITE_MARKER} a red fox in the snow`,
      message: "Style 'Comic book' applied: prompt rewritten by llama3",
    });
    expect(result.prompt).toBe(`${FAKE_REWRITE_MARKER} a red fox in the snow`);
    const system = env.llm.requests[0]?.body.messages?.[0]?.content ?? '';
    expect(system).toContain(comic.llmInstruction);
    expect(system).toContain('short videos');
    expect(system).toContain('bold ink outlines');
    expect(env.llm.requests[0]?.body.messages?.[1]).toEqual({
      role: 'user',
      content: 'a red fox in the snow',
    });
  });

  it('falls back to the template when the LLM fails, saying so', async () => {
    env.llm.fail('bad-json');
    const comic = env.style('comic');
    const rec = recordHooks();
    await runPromptStages(
      env.input({ style: comic }),
      { llm: env.client, blocklist: [] },
      rec.hooks,
    );
    expect(rec.finished('STYLE')).toEqual({
      status: 'SUCCEEDED',
      output: comic.template.replace('{prompt}', 'a red fox in the snow'),
      message: expect.stringMatching(
        /^Style 'Comic book' applied with its template \(LLM rewrite failed: .*invalid JSON/,
      ),
    });
  });
});
