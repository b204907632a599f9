// OPTIMIZE: whitespace, templates, trimming at word boundaries, negative prompts.
import { describe, expect, it } from 'vitest';
import { normalizeWhitespace, optimizePrompt, trimToLimit } from './optimize.stage.ts';
import type { PromptStageModel } from './prompt-stages.ts';

const model = (overrides: Partial<PromptStageModel> = {}): PromptStageModel => ({
  key: 'test-model',
  name: 'Test Model',
  promptLimit: 1000,
  promptTemplate: null,
  defaultNegativePrompt: 'blurry, low quality',
  ...overrides,
});

describe('trimToLimit', () => {
  it('keeps text within the limit as it is', () => {
    expect(trimToLimit('a red fox', 9)).toBe('a red fox');
  });

  it('cuts at a word boundary, never inside a word', () => {
    expect(trimToLimit('a red fox jumps', 12)).toBe('a red fox');
    expect(trimToLimit('a red fox jumps', 9)).toBe('a red fox');
    expect(trimToLimit('a red fox jumps', 8)).toBe('a red');
  });

  it('prefers a clause boundary when it keeps most of the text', () => {
    expect(trimToLimit('a red fox in the snow, oil painting', 28)).toBe('a red fox in the snow');
    // Too far back: cut at the word instead.
    expect(trimToLimit('fox, a very long description of it', 30)).toBe(
      'fox, a very long description',
    );
  });

  it('drops dangling separators', () => {
    expect(trimToLimit('alpha, beta, gamma delta', 13)).toBe('alpha, beta');
  });

  it('handles scripts without spaces and never splits a character', () => {
    const cut = trimToLimit('猫が屋根の上にいる', 5);
    expect(cut.length).toBeLessThanOrEqual(5);
    expect('猫が屋根の上にいる'.startsWith(cut)).toBe(true);
    expect(cut.length).toBeGreaterThan(0);
    // A single over-long "word" is cut at a grapheme boundary.
    expect(trimToLimit('😀😀😀', 3)).toBe('😀');
  });
});

describe('normalizeWhitespace', () => {
  it('collapses whitespace and empty list items', () => {
    expect(normalizeWhitespace('  a  fox ,\n\n red ,, , tail , ')).toBe('a fox, red, tail');
  });
});

describe('optimizePrompt', () => {
  it('leaves a short prompt alone and adds the default negative prompt', () => {
    const result = optimizePrompt('a fox', null, model());
    expect(result.prompt).toBe('a fox');
    expect(result.negativePrompt).toBe('blurry, low quality');
    expect(result.outcome).toEqual({
      status: 'SUCCEEDED',
      output: 'a fox',
      message: 'Prompt shaped for Test Model: default negative prompt added',
    });
  });

  it('says when nothing changed', () => {
    const result = optimizePrompt('a fox', 'ugly', model());
    expect(result.negativePrompt).toBe('ugly');
    expect(result.outcome.message).toBe(
      'Prompt checked for Test Model: no changes needed (within 1000 characters)',
    );
  });

  it('trims to the limit at a word boundary', () => {
    const prompt = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const result = optimizePrompt(prompt, null, model({ promptLimit: 1000 }));
    expect(result.prompt.length).toBeLessThanOrEqual(1000);
    expect(prompt.startsWith(result.prompt)).toBe(true);
    expect(prompt[result.prompt.length]).toBe(' ');
    expect(result.outcome.message).toBe(
      `Prompt shaped for Test Model: ${prompt.length} → ${result.prompt.length} characters, default negative prompt added`,
    );
  });

  it('applies the template and never cuts its fixed part', () => {
    const m = model({ promptLimit: 40, promptTemplate: '{prompt}, seamless, high quality' });
    const result = optimizePrompt('a red fox sitting in deep snow at dusk', null, m);
    expect(result.prompt.endsWith(', seamless, high quality')).toBe(true);
    expect(result.prompt.length).toBeLessThanOrEqual(40);
    expect(result.prompt).toBe('a red fox, seamless, high quality');
    expect(result.outcome.message).toMatch(
      /^Prompt shaped for Test Model: template applied, \d+ → \d+ characters/,
    );
  });

  it('does not apply a template longer than the limit on its own', () => {
    const m = model({ promptLimit: 10, promptTemplate: '{prompt}, a very long fixed suffix' });
    const result = optimizePrompt('a red fox in the snow', null, m);
    expect(result.prompt).toBe('a red fox');
    expect(result.outcome.message).toContain('template not applied');
  });

  it('drops the negative prompt for a model that takes none', () => {
    const result = optimizePrompt('a fox', 'blurry', model({ defaultNegativePrompt: null }));
    expect(result.negativePrompt).toBeNull();
    expect(result.outcome.message).toBe(
      'Prompt shaped for Test Model: negative prompt dropped (Test Model takes none)',
    );
    expect(
      optimizePrompt('a fox', null, model({ defaultNegativePrompt: null })).negativePrompt,
    ).toBeNull();
  });

  it('keeps an empty default as the empty string and treats a blank negative prompt as none', () => {
    const result = optimizePrompt('a fox', '   ', model({ defaultNegativePrompt: '' }));
    expect(result.negativePrompt).toBe('');
    expect(optimizePrompt('a fox', ' ', model()).negativePrompt).toBe('blurry, low quality');
  });

  it('trims the negative prompt to the same limit', () => {
    const result = optimizePrompt('a fox', 'blurry, low quality, ugly', model({ promptLimit: 12 }));
    expect(result.negativePrompt).toBe('blurry, low');
    expect(result.outcome.message).toContain('negative prompt 25 → 11 characters');
  });
});
