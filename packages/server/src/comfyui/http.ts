// ComfyUI's HTTP routes as typed calls on `fetch`, each with a timeout, and failures classified
// by what they say about the request: refused (it never reached the worker, safe to send
// elsewhere) or ambiguous (reset, timeout, 5xx: the worker may have acted on it).
import http from 'node:http';
import https from 'node:https';
import { SpanKind } from '@opentelemetry/api';
import type { ApiGraph } from '../models/workflow.ts';
import { withSpan } from '../tracing.ts';
import type { FileRef, HistoryEntry, PromptErrorBody } from './protocol.ts';

/** A request that failed at the transport level or with an unexpected status. */
export class HttpFailure extends Error {
  constructor(
    message: string,
    /** `refused`: no connection was made, the worker did not see the request. */
    readonly kind: 'refused' | 'network' | 'timeout' | 'status',
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'HttpFailure';
  }
}

const REFUSED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

function causeCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export type FetchLike = typeof fetch;

/** Statuses whose Response must have no body. */
const NO_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A request with a JSON or empty body through node:http(s) on the default keep-alive agent,
 * answered as a fetch Response. The calls on a run's path (POST /prompt, GET /history, GET
 * /view) go this way: Node 20's fetch costs about four times the CPU per call (measured
 * here: ≈ 1.5 ms against ≈ 0.4 ms with the Response built), which a run pays in sequence
 * between ComfyUI and its client. Errors keep their `code` (ECONNREFUSED …) as fetch's
 * `cause` does; an abort rejects like fetch.
 */
function nodeSend(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal,
): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(
      url,
      {
        method,
        headers:
          body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const answer = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            for (const v of Array.isArray(value) ? value : [value]) answer.append(name, v);
          }
          resolve(
            new Response(NO_BODY.has(status) ? null : Buffer.concat(chunks), {
              status,
              statusText: res.statusMessage ?? '',
              headers: answer,
            }),
          );
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A span name's route: the path without its query and with ids replaced (low cardinality). */
function route(path: string): string {
  const bare = path.split('?')[0] ?? path;
  return bare
    .replace(/\/(history|api\/jobs)\/[^/]+/, '/$1/{id}')
    .replace(/\/models\/[^/]+/, '/models/{folder}');
}

export interface HttpOptions {
  /** Per-request timeout (default 30 s; uploads and downloads get 4×). */
  timeoutMs?: number;
  fetch?: FetchLike;
}

/** The parts of a `GET /queue` item the adapter reads: `[number, prompt_id, ...]`. */
type QueueItem = [unknown, string, ...unknown[]];

/** Where a prompt is on a worker, from its queue, jobs API or history. */
export type PromptLocation =
  | { state: 'pending' }
  | { state: 'running' }
  | { state: 'finished'; entry: HistoryEntry }
  | { state: 'unknown' };

export class ComfyHttp {
  private readonly timeoutMs: number;
  /** A fetch given in the options (tests); else node:http for JSON calls, fetch for forms. */
  private readonly fetchImpl: FetchLike | null;

  readonly baseUrl: string;

  constructor(baseUrl: string, options: HttpOptions = {}) {
    // A trailing slash keeps a path prefix (a ComfyUI behind a reverse proxy at /comfy/).
    this.baseUrl = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchImpl = options.fetch ?? null;
  }

  /**
   * Sends a request (a span `comfyui <METHOD> <route>`); throws HttpFailure for transport
   * errors, returns any HTTP status.
   */
  request(
    method: string,
    path: string,
    init: { json?: unknown; body?: FormData; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const url = new URL(path.replace(/^\//, ''), this.baseUrl);
    return withSpan(
      `comfyui ${method} ${route(path)}`,
      {
        'http.request.method': method,
        'server.address': url.hostname,
        'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
        'url.path': url.pathname,
      },
      async (span) => {
        const res = await this.send(method, url, path, init);
        span.setAttribute('http.response.status_code', res.status);
        return res;
      },
      { kind: SpanKind.CLIENT },
    );
  }

  private async send(
    method: string,
    url: URL,
    path: string,
    init: { json?: unknown; body?: FormData; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(init.timeoutMs ?? this.timeoutMs);
    const signal = init.signal ? AbortSignal.any([timeout, init.signal]) : timeout;
    const headers: Record<string, string> = {};
    let body: string | FormData | undefined = init.body;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    try {
      if (!this.fetchImpl && typeof body !== 'object') {
        return await nodeSend(method, url, headers, body, signal);
      }
      return await (this.fetchImpl ?? fetch)(url, {
        method,
        headers,
        body,
        signal,
      });
    } catch (e) {
      if (init.signal?.aborted) throw e;
      if (timeout.aborted) {
        throw new HttpFailure(`${method} ${path}: no answer within the timeout`, 'timeout');
      }
      const code = causeCode(e);
      const kind = code && REFUSED.has(code) ? 'refused' : 'network';
      throw new HttpFailure(`${method} ${path}: ${code ?? (e as Error).message}`, kind);
    }
  }

  /** GET returning JSON; non-2xx statuses throw HttpFailure('status'). */
  async getJson<T>(path: string, timeoutMs?: number): Promise<T> {
    const res = await this.request('GET', path, timeoutMs ? { timeoutMs } : {});
    if (!res.ok) {
      await res.body?.cancel();
      throw new HttpFailure(`GET ${path}: HTTP ${res.status}`, 'status', res.status);
    }
    try {
      return (await res.json()) as T;
    } catch {
      throw new HttpFailure(`GET ${path}: invalid JSON`, 'status', res.status);
    }
  }

  /** POST expecting 200 with an empty (or JSON) body. */
  async post(path: string, json: unknown): Promise<Response> {
    const res = await this.request('POST', path, { json });
    if (!res.ok) {
      await res.body?.cancel();
      throw new HttpFailure(`POST ${path}: HTTP ${res.status}`, 'status', res.status);
    }
    return res;
  }

  systemStats(timeoutMs?: number): Promise<Record<string, unknown>> {
    return this.getJson('/system_stats', timeoutMs);
  }

  /** Node class names the worker has (`/object_info` keys). */
  async nodeClasses(): Promise<Set<string>> {
    const info = await this.getJson<Record<string, unknown>>('/object_info', this.timeoutMs * 4);
    return new Set(Object.keys(info));
  }

  /** Model files per folder (`/models` then `/models/{folder}`; unknown folders skipped). */
  async modelFiles(): Promise<Map<string, Set<string>>> {
    const folders = await this.getJson<unknown>('/models');
    const out = new Map<string, Set<string>>();
    if (!Array.isArray(folders)) return out;
    await Promise.all(
      folders
        .filter((f): f is string => typeof f === 'string')
        .map(async (folder) => {
          try {
            const files = await this.getJson<unknown>(`/models/${encodeURIComponent(folder)}`);
            if (Array.isArray(files)) out.set(folder, new Set(files.map(String)));
          } catch (e) {
            if (!(e instanceof HttpFailure && e.status === 404)) throw e;
          }
        }),
    );
    return out;
  }

  /** Whether the worker serves the jobs API (`/api/jobs`, ComfyUI 2025-12 and later). */
  async hasJobsApi(): Promise<boolean> {
    const res = await this.request('GET', '/api/jobs?limit=1');
    await res.body?.cancel();
    return res.ok;
  }

  /** `GET /history/{id}`: the entry, or null while ComfyUI answers `{}`. */
  async history(promptId: string): Promise<HistoryEntry | null> {
    const all = await this.getJson<Record<string, HistoryEntry>>(
      `/history/${encodeURIComponent(promptId)}`,
    );
    return all?.[promptId] ?? null;
  }

  /** Pending and running prompt ids (`GET /queue`). */
  async queue(): Promise<{ running: string[]; pending: string[] }> {
    const q = await this.getJson<{ queue_running?: QueueItem[]; queue_pending?: QueueItem[] }>(
      '/queue',
    );
    const ids = (items: QueueItem[] | undefined) =>
      (items ?? []).map((i) => i?.[1]).filter((id): id is string => typeof id === 'string');
    return { running: ids(q.queue_running), pending: ids(q.queue_pending) };
  }

  /**
   * Where `promptId` is. The queue is read before history: ComfyUI moves a prompt from
   * running to history atomically, so a prompt seen in neither is really unknown.
   */
  async locate(promptId: string, jobsApi: boolean): Promise<PromptLocation> {
    if (jobsApi) {
      const res = await this.request('GET', `/api/jobs/${encodeURIComponent(promptId)}`);
      if (res.status === 404) {
        await res.body?.cancel();
        return { state: 'unknown' };
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new HttpFailure(
          `GET /api/jobs/${promptId}: HTTP ${res.status}`,
          'status',
          res.status,
        );
      }
      const job = (await res.json()) as { status?: string };
      if (job.status === 'pending') return { state: 'pending' };
      if (job.status === 'in_progress') return { state: 'running' };
    } else {
      const q = await this.queue();
      if (q.running.includes(promptId)) return { state: 'running' };
      if (q.pending.includes(promptId)) return { state: 'pending' };
    }
    const entry = await this.history(promptId);
    return entry ? { state: 'finished', entry } : { state: 'unknown' };
  }

  /** `POST /prompt`; the caller interprets the status. */
  async submit(body: {
    prompt: ApiGraph;
    client_id?: string;
    prompt_id: string;
    extra_data?: Record<string, unknown>;
  }): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await this.request('POST', '/prompt', { json: body });
    // The status is the answer; a body cut off is read as empty (the caller goes by the
    // status, and reconciles by prompt id when the outcome is unclear).
    const text = await res.text().catch(() => '');
    let json: Record<string, unknown> = {};
    try {
      const v = JSON.parse(text);
      if (v && typeof v === 'object') json = v as Record<string, unknown>;
    } catch {
      // aiohttp's 500 pages and empty bodies are text
    }
    return { status: res.status, json };
  }

  /** Validation error body of a 400, typed. */
  static promptError(json: Record<string, unknown>): PromptErrorBody {
    return json as PromptErrorBody;
  }

  /** `POST /api/jobs/{id}/cancel`: whether the worker acted. */
  async cancelJob(promptId: string): Promise<boolean> {
    const res = await this.post(`/api/jobs/${encodeURIComponent(promptId)}/cancel`, {});
    // A body that is not JSON confirms nothing (false); the prompt ending confirms a cancel.
    const body = (await res.json().catch(() => ({}))) as { cancelled?: unknown };
    return body.cancelled === true;
  }

  /** Targeted interrupt: acts only if `promptId` is the running prompt. */
  async interrupt(promptId: string): Promise<void> {
    await (await this.post('/interrupt', { prompt_id: promptId })).body?.cancel();
  }

  /** Removes pending prompts. */
  async deleteFromQueue(promptIds: string[]): Promise<void> {
    await (await this.post('/queue', { delete: promptIds })).body?.cancel();
  }

  /** `POST /upload/image` with `overwrite=true`; returns the stored name. */
  async upload(
    name: string,
    data: Buffer,
    mimeType: string,
    signal?: AbortSignal,
  ): Promise<string> {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(data)], { type: mimeType }), name);
    form.append('type', 'input');
    form.append('overwrite', 'true');
    const res = await this.request('POST', '/upload/image', {
      body: form,
      timeoutMs: this.timeoutMs * 4,
      ...(signal ? { signal } : {}),
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new HttpFailure(`POST /upload/image: HTTP ${res.status}`, 'status', res.status);
    }
    const body = (await res.json()) as { name?: unknown; subfolder?: unknown };
    const stored = typeof body.name === 'string' ? body.name : name;
    return typeof body.subfolder === 'string' && body.subfolder
      ? `${body.subfolder}/${stored}`
      : stored;
  }

  /** Downloads an output file (`GET /view`). */
  async view(ref: FileRef): Promise<{ data: Buffer; contentType: string | null }> {
    const q = new URLSearchParams({
      filename: ref.filename,
      subfolder: ref.subfolder,
      type: ref.type,
    });
    const res = await this.request('GET', `/view?${q}`, { timeoutMs: this.timeoutMs * 4 });
    if (!res.ok) {
      await res.body?.cancel();
      throw new HttpFailure(`GET /view ${ref.filename}: HTTP ${res.status}`, 'status', res.status);
    }
    return {
      data: Buffer.from(await res.arrayBuffer()),
      contentType: res.headers.get('content-type'),
    };
  }
}
