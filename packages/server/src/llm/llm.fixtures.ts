// Test helper: a small OpenAI-compatible chat completions server on a free loopback port.
// It answers deterministically: a conversation whose system message asks to translate gets
// the user text looked up in FAKE_TRANSLATIONS (unknown text comes back unchanged, as a
// real model does with English); any other conversation gets the user text back with
// FAKE_REWRITE_MARKER in front. It can fail on demand and records every request.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ChatMessage, contentText } from './llm.client.ts';

/** What the stand-in translates (anything else is answered unchanged). */
export const FAKE_TRANSLATIONS: Record<string, string> = {
  'ein roter Fuchs im Schnee': 'a red fox in the snow',
  'eine Katze auf dem Dach, Ölgemälde': 'a cat on the roof, oil painting',
  'verschwommen, unscharf': 'blurry, out of focus',
  'un chat sur le toit': 'a cat on the roof',
  屋根の上の猫: 'a cat on the roof',
};

/** Prefix of every non-translation answer. */
export const FAKE_REWRITE_MARKER = '[rewritten]';

/** What the stand-in answers to a conversation holding an image (it sees nothing). */
export const FAKE_IMAGE_DESCRIPTION = 'slow waves on a pebble beach at dusk, warm ambient pads';

/** Ways the stand-in can fail. */
export type FakeLlmFailure =
  /** HTTP 500 with an OpenAI-style error body. */
  | 'http-500'
  /** 200 with a body that is not JSON. */
  | 'bad-json'
  /** 200 with `choices: []`. */
  | 'no-choices'
  /** 200 with an empty message. */
  | 'empty'
  /** 200 with `finish_reason: "length"`. */
  | 'truncated'
  /** Never answers (until the client gives up or the server closes). */
  | 'hang';

export interface FakeLlmRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: {
    model?: string;
    messages?: ChatMessage[];
    temperature?: number;
    max_tokens?: number;
    [key: string]: unknown;
  };
}

export interface FakeLlm {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:43121/v1`. */
  url: string;
  /** The origin only (`http://127.0.0.1:43121`), to test the `/v1` default. */
  origin: string;
  /** Every request received, in order. */
  requests: FakeLlmRequest[];
  /**
   * Fail every request this way from now on (null: answer normally again); with `when`,
   * only the requests it returns true for.
   */
  fail(mode: FakeLlmFailure | null, when?: (request: FakeLlmRequest) => boolean): void;
  /** Answer with this function's text instead of the built-in behaviour (null: built-in). */
  respond(answer: ((request: FakeLlmRequest) => string) | null): void;
  /** Resolves with the next request to arrive. */
  nextRequest(): Promise<FakeLlmRequest>;
  close(): Promise<void>;
}

export interface FakeLlmOptions {
  /** When set, requests without `Authorization: Bearer <apiKey>` get HTTP 401. */
  apiKey?: string;
}

/** Starts the stand-in on 127.0.0.1, port 0. */
export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const requests: FakeLlmRequest[] = [];
  const waiters: ((r: FakeLlmRequest) => void)[] = [];
  let failure: FakeLlmFailure | null = null;
  let failWhen: ((request: FakeLlmRequest) => boolean) | undefined;
  let answer: ((request: FakeLlmRequest) => string) | null = null;

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: FakeLlmRequest['body'] = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      return sendJson(res, 400, { error: { message: 'request body is not JSON' } });
    }
    const request: FakeLlmRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body,
    };
    requests.push(request);
    for (const waiter of waiters.splice(0)) waiter(request);

    if (request.method !== 'POST' || request.path !== '/v1/chat/completions') {
      return sendJson(res, 404, { error: { message: `no route ${request.path}` } });
    }
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendJson(res, 401, { error: { message: 'Incorrect API key provided' } });
    }
    switch (failWhen && !failWhen(request) ? null : failure) {
      case 'hang':
        return;
      case 'http-500':
        return sendJson(res, 500, { error: { message: 'model crashed' } });
      case 'bad-json':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"choices": [');
      case 'no-choices':
        return sendJson(res, 200, completion(body.model, null, 'stop'));
      case 'empty':
        return sendJson(res, 200, completion(body.model, '', 'stop'));
      case 'truncated':
        return sendJson(res, 200, completion(body.model, 'a cat on', 'length'));
    }
    const text = answer ? answer(request) : builtInAnswer(body.messages ?? []);
    sendJson(res, 200, completion(body.model, text, 'stop'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}/v1`,
    origin,
    requests,
    fail: (mode, when) => {
      failure = mode;
      failWhen = when;
    },
    respond: (fn) => {
      answer = fn;
    },
    nextRequest: () => new Promise((resolve) => waiters.push(resolve)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

/** The last user message of a request. */
export function lastUserMessage(request: FakeLlmRequest): string {
  const message = [...(request.body.messages ?? [])].reverse().find((m) => m.role === 'user');
  return message ? contentText(message.content) : '';
}

/** The image data URLs sent in a request. */
export function sentImages(request: FakeLlmRequest): string[] {
  return (request.body.messages ?? []).flatMap((m) =>
    typeof m.content === 'string'
      ? []
      : m.content.flatMap((p) => (p.type === 'image_url' ? [p.image_url.url] : [])),
  );
}

function builtInAnswer(messages: ChatMessage[]): string {
  if (messages.some((m) => typeof m.content !== 'string')) return FAKE_IMAGE_DESCRIPTION;
  const system = contentText(messages.find((m) => m.role === 'system')?.content ?? '');
  const user = contentText([...messages].reverse().find((m) => m.role === 'user')?.content ?? '');
  if (/translat/i.test(system)) return FAKE_TRANSLATIONS[user.trim()] ?? user;
  return `${FAKE_REWRITE_MARKER} ${user}`;
}

function completion(model: string | undefined, content: string | null, finishReason: string) {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 0,
    model: model ?? 'fake',
    choices:
      content === null
        ? []
        : [{ index: 0, message: { role: 'assistant', content }, finish_reason: finishReason }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
