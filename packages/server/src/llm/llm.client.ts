// The LLM adapter used by the prompt stages (TRANSLATE, STYLE): any OpenAI-compatible chat
// completions endpoint (Ollama, vLLM, llama.cpp server, LM Studio, OpenAI, ...). Services
// depend on `LlmClient`; `OpenAiCompatibleClient` is the one implementation.
import { AtelierError } from '../domain-errors.ts';

/** One chat message, as in the OpenAI chat completions API. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  /** Text, or text and image parts (models that see images; `LLM_VISION=true`). */
  content: string | ChatContentPart[];
}

/** A part of a multimodal message: text, or an image as a URL (here always a data URL). */
export type ChatContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } };

/** The text of a message's content (its text parts joined). */
export function contentText(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  return content
    .filter((p): p is { type: 'text'; text: string } => p.type === 'text')
    .map((p) => p.text)
    .join('\n');
}

/** Per-call options of `LlmClient.complete`. */
export interface CompleteOptions {
  /** Aborts the call; the promise then rejects with the signal's reason (an AbortError). */
  signal?: AbortSignal;
  /** Upper bound on the answer's length in tokens (`max_tokens`). */
  maxTokens?: number;
  /** Overrides the client's default temperature for this call. */
  temperature?: number;
}

/** A chat model that answers a conversation with one text. */
export interface LlmClient {
  /** The model's name as configured (shown in stage messages, e.g. "with llama3"). */
  readonly model: string;
  /**
   * Sends the messages and returns the assistant's answer, cleaned by `cleanCompletion`.
   * Rejects with `LlmError` on any failure (unreachable, timeout, HTTP error, bad answer),
   * or with the signal's reason when `options.signal` aborts.
   */
  complete(messages: ChatMessage[], options?: CompleteOptions): Promise<string>;
}

/** The LLM could not be used: unreachable, timed out, an HTTP error or an unusable answer. */
export class LlmError extends AtelierError {
  readonly code = 'LLM_FAILED';
  /** HTTP status when the server answered with an error status. */
  readonly status: number | null;
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LlmError';
    this.status = options.status ?? null;
  }
}

export interface OpenAiCompatibleClientOptions {
  /** Base URL, see `chatCompletionsUrl` for what is accepted. */
  url: string;
  /** Model name sent as `model`, e.g. `llama3.1:8b` (Ollama) or `gpt-4o-mini`. */
  model: string;
  /** Sent as `Authorization: Bearer <key>`; no Authorization header when unset or empty. */
  apiKey?: string | null;
  /** Whole-request deadline (connect, answer and body). Default 30 000 ms. */
  timeoutMs?: number;
  /** Default 0.2: the stages want faithful, repeatable rewrites, not creativity. */
  temperature?: number;
}

/** Default whole-request deadline of `OpenAiCompatibleClient`. */
export const DEFAULT_LLM_TIMEOUT_MS = 30_000;

/**
 * The chat completions endpoint for a configured base URL:
 * - a URL already ending in `/chat/completions` is used as it is;
 * - a bare origin (`http://localhost:11434`, `https://api.openai.com`) gets `/v1`, which is
 *   where Ollama, vLLM, llama.cpp, LM Studio and OpenAI serve the API;
 * - any other path is taken as the API base as it is (`http://host:8000/v1`,
 *   `https://example.com/openai/v1`, `.../v1beta/openai`) and gets `/chat/completions`.
 * Trailing slashes are ignored; query strings are kept.
 */
export function chatCompletionsUrl(base: string): string {
  const url = new URL(base);
  let pathname = url.pathname.replace(/\/+$/, '');
  if (!pathname.endsWith('/chat/completions')) {
    if (pathname === '') pathname = '/v1';
    pathname = `${pathname}/chat/completions`;
  }
  url.pathname = pathname;
  return url.toString();
}

/** The URL without credentials, for messages. */
function displayUrl(endpoint: string): string {
  const url = new URL(endpoint);
  url.username = '';
  url.password = '';
  url.search = '';
  return url.toString();
}

/** Client for `POST <base>/chat/completions` of an OpenAI-compatible server. */
export class OpenAiCompatibleClient implements LlmClient {
  readonly model: string;
  /** The resolved endpoint (see `chatCompletionsUrl`). */
  readonly endpoint: string;
  readonly timeoutMs: number;
  private readonly apiKey: string | null;
  private readonly temperature: number;

  constructor(options: OpenAiCompatibleClientOptions) {
    this.endpoint = chatCompletionsUrl(options.url);
    this.model = options.model;
    this.apiKey = options.apiKey ? options.apiKey : null;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS;
    this.temperature = options.temperature ?? 0.2;
  }

  async complete(messages: ChatMessage[], options: CompleteOptions = {}): Promise<string> {
    const { signal } = options;
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const where = displayUrl(this.endpoint);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const body: Record<string, unknown> = {
      model: this.model,
      messages,
      temperature: options.temperature ?? this.temperature,
      stream: false,
    };
    if (options.maxTokens !== undefined) body.max_tokens = options.maxTokens;

    let status: number;
    let text: string;
    try {
      const response = await fetch(this.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: combined,
      });
      status = response.status;
      text = await response.text();
      if (!response.ok) {
        throw new LlmError(
          `The LLM at ${where} answered HTTP ${status}${excerpt(errorDetail(text))}.`,
          { status },
        );
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof LlmError) throw error;
      if (timeout.aborted) {
        throw new LlmError(`The LLM at ${where} did not answer within ${this.timeoutMs} ms.`, {
          cause: error,
        });
      }
      throw new LlmError(`Cannot reach the LLM at ${where} (${networkReason(error)}).`, {
        cause: error,
      });
    }
    return parseAnswer(text, where);
  }
}

/** Extracts the assistant's text from a chat completions response body. */
function parseAnswer(text: string, where: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LlmError(`The LLM at ${where} answered with invalid JSON${excerpt(text)}.`, {
      cause: error,
    });
  }
  const choices = (json as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices) || choices.length === 0) {
    throw new LlmError(`The LLM at ${where} answered without choices.`);
  }
  const choice = choices[0] as {
    message?: { content?: unknown };
    finish_reason?: unknown;
  } | null;
  if (choice?.finish_reason === 'length') {
    throw new LlmError(`The LLM at ${where} stopped at its token limit before finishing.`);
  }
  const content = messageText(choice?.message?.content);
  const cleaned = content === null ? '' : cleanCompletion(content);
  if (cleaned === '') throw new LlmError(`The LLM at ${where} answered with an empty message.`);
  return cleaned;
}

/** `content` is a string, or (some servers) an array of `{ type: 'text', text }` parts. */
function messageText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const parts = content
      .map((p) => (p && typeof p === 'object' && 'text' in p ? (p as { text: unknown }).text : ''))
      .filter((t): t is string => typeof t === 'string');
    return parts.join('');
  }
  return null;
}

/** The `error.message` of an OpenAI-style error body, else the body itself. */
function errorDetail(body: string): string {
  try {
    const json = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof json.error === 'string') return json.error;
    if (typeof json.error?.message === 'string') return json.error.message;
    if (typeof json.message === 'string') return json.message;
  } catch {
    // not JSON: show the text
  }
  return body;
}

function excerpt(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  if (!oneLine) return '';
  return `: ${oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine}`;
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

const QUOTE_PAIRS: [string, string][] = [
  ['"', '"'],
  ["'", "'"],
  ['“', '”'],
  ['„', '“'],
  ['‘', '’'],
  ['«', '»'],
  ['`', '`'],
];

// "Here is the translation:", "Sure! Here's the rewritten prompt:" — only when the sentence
// names what follows (translation, prompt, ...), so a prompt like "Here is a garden: roses"
// that happens to start the same way is left alone.
const PREAMBLE =
  /^(?:(?:sure|certainly|okay|ok|of course)[,.!]?\s*)?here(?:'s|’s| is| are)\b[^:\n]{0,80}\b(?:translation|translated|prompt|rewrite|rewritten|version|english|text)\b[^:\n]{0,40}:\s*/i;
const LABEL = /^(?:english translation|translation|english|rewritten prompt|prompt)\s*:\s*/i;

/**
 * Minimal clean-up of a chat answer: drops `<think>` blocks of reasoning models, a code
 * fence around the whole answer, a "Here is the translation:" preamble or a "Translation:"
 * label, a trailing "Note: ..." paragraph, and one pair of quotes around the whole text.
 * Anything else is left as the model wrote it.
 */
export function cleanCompletion(raw: string): string {
  let text = raw.replace(/<think>[\s\S]*?<\/think>/gi, '').trim();
  const fence = /^```[\w-]*\n([\s\S]*?)\n?```$/.exec(text);
  if (fence) text = fence[1]!.trim();
  text = text.replace(PREAMBLE, '').replace(LABEL, '').trim();
  const note = /\n\s*\(?(?:note|notes|explanation)\s*:/i.exec(text);
  if (note && note.index > 0) text = text.slice(0, note.index).trim();
  for (const [open, close] of QUOTE_PAIRS) {
    if (text.length >= 2 && text.startsWith(open) && text.endsWith(close)) {
      const inner = text.slice(open.length, text.length - close.length);
      if (!inner.includes(open) && !inner.includes(close)) text = inner.trim();
      break;
    }
  }
  return text;
}
