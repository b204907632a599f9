// TRANSLATE through runPromptStages: the safety check (blocklist on prompt and negative
// prompt, before and after translation) and the translation via the LLM stand-in.
import { describe, expect, it } from 'vitest';
import type { StageKind } from '../generated/prisma/enums.ts';
import { OpenAiCompatibleClient } from '../llm/llm.client.ts';
import { lastUserMessage, startFakeLlm } from '../llm/llm.fixtures.ts';
import { runPromptStages } from './prompt-stages.ts';
import { ContentBlockedError } from './stages.errors.ts';
import { recordHooks, useStageTestEnv } from './stages.fixtures.ts';

const env = useStageTestEnv();

describe('safety check', () => {
  const blocklist = ['ass', 'forbidden thing'];

  it('rejects a blocked term in the prompt without naming it', async () => {
    const { calls, hooks } = recordHooks();
    const error = await runPromptStages(
      env.input({ prompt: 'a photo of my ASS' }),
      { llm: env.client, blocklist },
      hooks,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContentBlockedError);
    expect(error).toMatchObject({
      code: 'CONTENT_BLOCKED',
      field: 'prompt',
      afterTranslation: false,
    });
    expect((error as Error).message).not.toMatch(/ass\b/i);
    // TRANSLATE started and did not finish; nothing later ran; no LLM call.
    expect(calls).toEqual([{ hook: 'start', kind: 'TRANSLATE', input: 'a photo of my ASS' }]);
    expect(env.llm.requests).toHaveLength(0);
  });

  it('rejects a blocked term in the negative prompt', async () => {
    const error = await runPromptStages(
      env.input({ negativePrompt: 'blurry, forbidden   thing' }),
      {
        llm: null,
        blocklist,
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContentBlockedError);
    expect(error).toMatchObject({ field: 'negativePrompt' });
    expect((error as Error).message).toMatch(/^The negative prompt contains a term/);
  });

  it('does not match inside words', async () => {
    const result = await runPromptStages(
      env.input({ prompt: 'a classic car passing a glass house' }),
      {
        llm: null,
        blocklist,
      },
    );
    expect(result.prompt).toBe('a classic car passing a glass house');
  });

  it('runs even when TRANSLATE is skipped', async () => {
    const error = await runPromptStages(
      env.input({ prompt: 'ass', skip: new Set<StageKind>(['TRANSLATE', 'STYLE', 'OPTIMIZE']) }),
      { llm: null, blocklist },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContentBlockedError);
  });

  it('checks the English translation as well', async () => {
    env.llm.respond(() => 'a forbidden thing on a table');
    const error = await runPromptStages(
      env.input({ prompt: 'ein verbotenes Ding auf dem Tisch' }),
      {
        llm: env.client,
        blocklist,
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContentBlockedError);
    expect(error).toMatchObject({ field: 'prompt', afterTranslation: true });
  });
});

describe('TRANSLATE', () => {
  it('translates prompt and negative prompt through the LLM', async () => {
    const rec = recordHooks();
    const result = await runPromptStages(
      env.input({ prompt: 'ein roter Fuchs im Schnee', negativePrompt: 'verschwommen, unscharf' }),
      { llm: env.client, blocklist: [] },
      rec.hooks,
    );
    expect(rec.finished('TRANSLATE')).toEqual({
      status: 'SUCCEEDED',
      output: 'a red fox in the snow',
      message:
        'No safety check (the blocklist is off); translated from German with llama3; negative prompt translated',
    });
    expect(result.prompt).toBe('a red fox in the snow');
    expect(result.negativePrompt).toBe('blurry, out of focus');
    const [request] = env.llm.requests;
    expect(request?.body.model).toBe('llama3');
    expect(request?.body.temperature).toBe(0);
    expect(request?.body.messages?.[0]?.role).toBe('system');
    expect(request?.body.messages?.[0]?.content).toMatch(/into English/);
    expect(request?.headers.authorization).toBeUndefined();
  });

  it('names the language from its script', async () => {
    const rec = recordHooks();
    await runPromptStages(
      env.input({ prompt: '屋根の上の猫' }),
      { llm: env.client, blocklist: [] },
      rec.hooks,
    );
    expect(rec.finished('TRANSLATE')?.message).toBe(
      'No safety check (the blocklist is off); translated from Japanese with llama3',
    );
    expect(rec.finished('TRANSLATE')?.output).toBe('a cat on the roof');
  });

  it('sends the API key when one is configured', async () => {
    const secured = await startFakeLlm({ apiKey: 'sk-local' });
    try {
      const keyed = new OpenAiCompatibleClient({
        url: secured.url,
        model: 'm',
        apiKey: 'sk-local',
      });
      const result = await runPromptStages(env.input({ prompt: 'un chat sur le toit' }), {
        llm: keyed,
        blocklist: [],
      });
      expect(result.prompt).toBe('a cat on the roof');
      expect(secured.requests[0]?.headers.authorization).toBe('Bearer sk-local');
    } finally {
      await secured.close();
    }
  });

  it('does not call the LLM for obvious English', async () => {
    const rec = recordHooks();
    await runPromptStages(
      env.input({ prompt: 'a cat sitting on the roof' }),
      { llm: env.client, blocklist: [] },
      rec.hooks,
    );
    expect(env.llm.requests).toHaveLength(0);
    expect(rec.finished('TRANSLATE')).toEqual({
      status: 'SUCCEEDED',
      output: 'a cat sitting on the roof',
      message: 'No safety check (the blocklist is off); already in English (no LLM call needed)',
    });
  });

  it('keeps the text as written when the LLM returns it unchanged', async () => {
    const rec = recordHooks();
    await runPromptStages(
      env.input({ prompt: 'portrait, oil painting, dramatic light' }),
      { llm: env.client, blocklist: [] },
      rec.hooks,
    );
    expect(env.llm.requests).toHaveLength(1);
    expect(rec.finished('TRANSLATE')).toMatchObject({
      status: 'SUCCEEDED',
      output: 'portrait, oil painting, dramatic light',
      message: 'No safety check (the blocklist is off); already in English (checked with llama3)',
    });
  });

  it('is SKIPPED with the reason when no LLM is configured, and says the check ran', async () => {
    const rec = recordHooks();
    const result = await runPromptStages(
      env.input({ prompt: 'ein roter Fuchs im Schnee' }),
      { llm: null, blocklist: ['forbidden thing'] },
      rec.hooks,
    );
    expect(rec.finished('TRANSLATE')).toEqual({
      status: 'SKIPPED',
      output: 'ein roter Fuchs im Schnee',
      message: 'Safety check passed; translation skipped: no LLM configured (set LLM_URL)',
    });
    expect(result.prompt).toBe('ein roter Fuchs im Schnee');
  });

  it('is SKIPPED with the reason when the LLM is down, and the run goes on', async () => {
    const gone = await startFakeLlm();
    await gone.close();
    const down = new OpenAiCompatibleClient({ url: gone.url, model: 'llama3' });
    const rec = recordHooks();
    const result = await runPromptStages(
      env.input({ prompt: 'ein roter Fuchs im Schnee', style: env.style('comic') }),
      { llm: down, blocklist: [] },
      rec.hooks,
    );
    const translate = rec.finished('TRANSLATE');
    expect(translate?.status).toBe('SKIPPED');
    expect(translate?.message).toMatch(
      /^No safety check \(the blocklist is off\); translation failed \(Cannot reach the LLM at .*ECONNREFUSED\)\); the prompt is used as written$/,
    );
    expect(rec.finished('STYLE')?.message).toMatch(
      /^Style 'Comic book' applied with its template \(LLM rewrite failed: Cannot reach/,
    );
    expect(result.prompt.startsWith('ein roter Fuchs im Schnee, comic book illustration')).toBe(
      true,
    );
  });

  it('keeps a negative prompt whose translation failed', async () => {
    env.llm.fail('http-500', (request) => lastUserMessage(request) === 'verschwommen, unscharf');
    const rec = recordHooks();
    const result = await runPromptStages(
      env.input({ prompt: 'ein roter Fuchs im Schnee', negativePrompt: 'verschwommen, unscharf' }),
      { llm: env.client, blocklist: [] },
      rec.hooks,
    );
    expect(rec.finished('TRANSLATE')).toEqual({
      status: 'SUCCEEDED',
      output: 'a red fox in the snow',
      message: expect.stringMatching(
        /^No safety check \(the blocklist is off\); translated from German with llama3; negative prompt kept as written \(translation failed: .*HTTP 500: model crashed\)$/,
      ),
    });
    expect(result.negativePrompt).toBe('verschwommen, unscharf');
    expect(env.llm.requests).toHaveLength(2);
  });
});
