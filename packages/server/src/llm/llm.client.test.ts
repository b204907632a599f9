// The OpenAI-compatible client against the local stand-in server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  chatCompletionsUrl,
  cleanCompletion,
  LlmError,
  OpenAiCompatibleClient,
} from './llm.client.ts';
import { type FakeLlm, startFakeLlm } from './llm.fixtures.ts';

const translate = [
  { role: 'system' as const, content: 'Translate the text into English.' },
  { role: 'user' as const, content: 'ein roter Fuchs im Schnee' },
];

describe('chatCompletionsUrl', () => {
  it('adds /v1 to a bare origin and /chat/completions to any base path', () => {
    expect(chatCompletionsUrl('http://localhost:11434')).toBe(
      'http://localhost:11434/v1/chat/completions',
    );
    expect(chatCompletionsUrl('http://localhost:11434/')).toBe(
      'http://localhost:11434/v1/chat/completions',
    );
    expect(chatCompletionsUrl('http://localhost:8000/v1/')).toBe(
      'http://localhost:8000/v1/chat/completions',
    );
    expect(chatCompletionsUrl('https://example.com/v1beta/openai')).toBe(
      'https://example.com/v1beta/openai/chat/completions',
    );
    expect(chatCompletionsUrl('https://api.openai.com/v1/chat/completions')).toBe(
      'https://api.openai.com/v1/chat/completions',
    );
  });
});

describe('cleanCompletion', () => {
  it('strips preambles, labels, quotes, fences, think blocks and trailing notes', () => {
    expect(cleanCompletion('Here is the translation: "a red fox in the snow"')).toBe(
      'a red fox in the snow',
    );
    expect(cleanCompletion("Sure! Here's the rewritten prompt:\n\na fox, comic style")).toBe(
      'a fox, comic style',
    );
    expect(cleanCompletion('Translation: a fox')).toBe('a fox');
    expect(cleanCompletion('“a fox”')).toBe('a fox');
    expect(cleanCompletion('```\na fox\n```')).toBe('a fox');
    expect(cleanCompletion('<think>German, so...</think>\na fox')).toBe('a fox');
    expect(cleanCompletion('a fox\n\nNote: I kept the colour.')).toBe('a fox');
  });

  it('leaves text that only looks similar alone', () => {
    expect(cleanCompletion('Here is a garden: roses and tulips')).toBe(
      'Here is a garden: roses and tulips',
    );
    expect(cleanCompletion('"a fox" and "a hen"')).toBe('"a fox" and "a hen"');
    expect(cleanCompletion("a fox's den")).toBe("a fox's den");
  });
});

describe('OpenAiCompatibleClient', () => {
  let llm: FakeLlm;
  beforeAll(async () => {
    llm = await startFakeLlm();
  });
  afterAll(() => llm.close());
  afterEach(() => {
    llm.fail(null);
    llm.respond(null);
    llm.requests.length = 0;
  });

  it('posts model, messages and temperature and returns the answer', async () => {
    const client = new OpenAiCompatibleClient({ url: llm.url, model: 'llama3' });
    await expect(client.complete(translate, { maxTokens: 64 })).resolves.toBe(
      'a red fox in the snow',
    );
    const [request] = llm.requests;
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.body).toMatchObject({
      model: 'llama3',
      messages: translate,
      temperature: 0.2,
      max_tokens: 64,
    });
    expect(request?.headers.authorization).toBeUndefined();
  });

  it('reaches /v1 when configured with the bare origin', async () => {
    const client = new OpenAiCompatibleClient({ url: llm.origin, model: 'm' });
    await expect(client.complete(translate)).resolves.toBe('a red fox in the snow');
    expect(llm.requests[0]?.path).toBe('/v1/chat/completions');
  });

  it('sends the API key as a bearer token only when one is set', async () => {
    const secured = await startFakeLlm({ apiKey: 'sk-test' });
    try {
      const withKey = new OpenAiCompatibleClient({
        url: secured.url,
        model: 'm',
        apiKey: 'sk-test',
      });
      await expect(withKey.complete(translate)).resolves.toBe('a red fox in the snow');
      expect(secured.requests[0]?.headers.authorization).toBe('Bearer sk-test');

      const emptyKey = new OpenAiCompatibleClient({ url: secured.url, model: 'm', apiKey: '' });
      const error = await emptyKey.complete(translate).catch((e: unknown) => e);
      expect(secured.requests[1]?.headers.authorization).toBeUndefined();
      expect(error).toBeInstanceOf(LlmError);
      expect(error).toMatchObject({ code: 'LLM_FAILED', status: 401 });
      expect((error as Error).message).toMatch(/HTTP 401: Incorrect API key provided/);
      expect((error as Error).message).not.toContain('sk-test');
    } finally {
      await secured.close();
    }
  });

  it.each([
    ['http-500', /answered HTTP 500: model crashed/],
    ['bad-json', /invalid JSON/],
    ['no-choices', /without choices/],
    ['empty', /empty message/],
    ['truncated', /token limit/],
  ] as const)('turns %s into an LlmError', async (mode, message) => {
    llm.fail(mode);
    const client = new OpenAiCompatibleClient({ url: llm.url, model: 'm' });
    const error = await client.complete(translate).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).code).toBe('LLM_FAILED');
    expect((error as Error).message).toMatch(message);
  });

  it('gives up after its timeout', async () => {
    llm.fail('hang');
    const client = new OpenAiCompatibleClient({ url: llm.url, model: 'm', timeoutMs: 50 });
    await expect(client.complete(translate)).rejects.toThrow(/did not answer within 50 ms/);
  });

  it('reports an unreachable server', async () => {
    const gone = await startFakeLlm();
    await gone.close();
    const client = new OpenAiCompatibleClient({ url: gone.url, model: 'm' });
    const error = await client.complete(translate).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as Error).message).toMatch(/Cannot reach the LLM at .*ECONNREFUSED/);
  });

  it("rejects with the caller's AbortError when the signal aborts mid-request", async () => {
    llm.fail('hang');
    const client = new OpenAiCompatibleClient({ url: llm.url, model: 'm' });
    const controller = new AbortController();
    const arrived = llm.nextRequest();
    const pending = client.complete(translate, { signal: controller.signal });
    await arrived;
    controller.abort();
    const error = await pending.catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(LlmError);
    expect((error as Error).name).toBe('AbortError');
  });

  it('cleans the answer', async () => {
    llm.respond(() => 'Here is the English translation:\n"a red fox"');
    const client = new OpenAiCompatibleClient({ url: llm.url, model: 'm' });
    await expect(client.complete(translate)).resolves.toBe('a red fox');
  });
});
