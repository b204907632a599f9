// One ComfyUI worker: its WebSocket (one per worker, client id chosen here), the routing of
// messages and preview frames to the prompt they belong to, input uploads cached per content
// hash, restart detection, cancel by prompt id, and `run()` for a job (see run.ts).
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { ExecutionEvent, ExecutionImage, ExecutionJob } from '../queue/executor.ts';
import { ComfyHttp, type FetchLike, HttpFailure, type PromptLocation } from './http.ts';
import type { PreviewFrame, WsMessage } from './protocol.ts';
import { promptIdOf } from './protocol.ts';
import { PromptRun, type RunHooks, type RunResult, type RunTimings } from './run.ts';
import { ComfySocket } from './socket.ts';

export interface ComfyClientOptions {
  /** Base URL of the worker, e.g. `http://127.0.0.1:8188`. */
  url: string;
  /** The socket's `clientId` and every prompt's `client_id` (default: a fresh UUID). */
  clientId?: string;
  /** Negotiate event-4 previews (with prompt and node ids). Default true. */
  previewMetadata?: boolean;
  /**
   * `extra_data.preview_method` sent with every prompt (ComfyUI's default is `none`: no
   * previews). Default `auto`; null leaves the worker's setting.
   */
  previewMethod?: string | null;
  /** Use the jobs API when the worker has it (default); false forces queue/interrupt routes. */
  jobsApi?: boolean;
  /** HTTP timeout per request (default 30 s). */
  requestTimeoutMs?: number;
  heartbeatMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Timings of prompt tracking (poll on silence, history wait, ...); see RunTimings. */
  timings?: Partial<RunTimings>;
  fetch?: FetchLike;
  log?: Logger;
}

/** What a prompt's tracker receives from the client. */
export interface PromptListener {
  message(msg: WsMessage): void;
  preview(preview: { mimeType: string; data: Buffer; nodeId: string | null }): void;
  /** The socket came back: whatever happened meanwhile must be reconciled. */
  reconnected(): void;
  /** The client stops: tracking ends, the prompt stays on the worker (to be resumed). */
  stopped(): void;
}

export type ClientEvent =
  | { type: 'connected'; reconnect: boolean }
  | { type: 'disconnected'; reason: string }
  /** The worker lost its state (process restart): uploads and loaded models are gone. */
  | { type: 'restarted' }
  /** The worker executed something (a prompt event arrived). */
  | { type: 'activity' };

/** Message types that show a worker executing (not `status`, not monitoring extensions). */
const EXECUTION_TYPES = new Set([
  'execution_start',
  'execution_cached',
  'executing',
  'progress',
  'progress_state',
  'executed',
  'execution_success',
  'execution_error',
  'execution_interrupted',
]);

const EXTENSIONS: Record<string, string> = {
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/webp': '.webp',
  'image/gif': '.gif',
};

const MAX_CACHED_UPLOADS = 10_000;

export const DEFAULT_TIMINGS: RunTimings = {
  pollMs: 5_000,
  historyWaitMs: 10_000,
  lostAfterMs: 60_000,
  cancelConfirmMs: 10 * 60_000,
  stallTimeoutMs: 10 * 60_000,
};

export class ComfyClient {
  readonly url: string;
  readonly clientId: string;
  readonly http: ComfyHttp;
  readonly timings: RunTimings;
  readonly previewMethod: string | null;
  private readonly socket: ComfySocket;
  readonly log: Logger | undefined;
  private readonly watches = new Map<string, PromptListener>();
  private readonly listeners = new Set<(e: ClientEvent) => void>();
  private readonly uploads = new Map<string, Promise<string>>();
  /** Prompts given up while the worker was unreachable: cancelled when it answers again. */
  private readonly abandoned = new Set<string>();
  private readonly useJobsApi: boolean;
  private serverPreviewMetadata = false;
  /** Our prompt executing now (for event-1 previews, which carry no prompt id). */
  private executingPromptId: string | null = null;
  /** A prompt known to be in this worker's history: its disappearance means a restart. */
  private probePromptId: string | null = null;
  private lastNumber = -1;
  private queueRemaining: number | null = null;
  private started = false;
  private ready = false;
  private readyWaiters: Array<() => void> = [];
  /** Whether the worker serves `/api/jobs` (probed on every connect). */
  jobsApi = false;
  /** Time of the last execution message from this worker (any prompt). */
  lastActivityAt = Date.now();
  /** Uploads actually sent (cache misses), for observation. */
  uploadCount = 0;

  constructor(options: ComfyClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.clientId = options.clientId ?? randomUUID();
    this.log = options.log;
    this.previewMethod = options.previewMethod === undefined ? 'auto' : options.previewMethod;
    this.useJobsApi = options.jobsApi ?? true;
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.http = new ComfyHttp(this.url, {
      ...(options.requestTimeoutMs ? { timeoutMs: options.requestTimeoutMs } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    const wsUrl = new URL('ws', `${this.url}/`);
    wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
    wsUrl.searchParams.set('clientId', this.clientId);
    const previewMetadata = options.previewMetadata ?? true;
    this.socket = new ComfySocket(
      wsUrl.toString(),
      {
        open: (info) => {
          this.onOpen(info.reconnect).catch((e) =>
            this.log?.error('comfyui reconnect handling failed', {
              worker: this.url,
              error: e,
            }),
          );
        },
        message: (msg) => this.onMessage(msg),
        preview: (frame) => this.onPreview(frame),
        close: (reason) => {
          this.ready = false;
          this.emit({ type: 'disconnected', reason });
        },
      },
      {
        previewMetadata,
        ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
        ...(options.reconnectMinMs ? { reconnectMinMs: options.reconnectMinMs } : {}),
        ...(options.reconnectMaxMs ? { reconnectMaxMs: options.reconnectMaxMs } : {}),
      },
    );
    this.wantPreviewMetadata = previewMetadata;
  }

  private readonly wantPreviewMetadata: boolean;

  /** Started and not stopped. */
  get active(): boolean {
    return this.started;
  }

  /** Whether the WebSocket is open and what follows a (re)connect is done. */
  get connected(): boolean {
    return this.ready && this.socket.isOpen;
  }

  /** Opens the socket; resolves when connected or after `waitMs` (it keeps trying after that). */
  async start(waitMs = 5_000): Promise<void> {
    this.started = true;
    this.socket.start();
    await this.waitConnected(waitMs);
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const w of [...this.watches.values()]) w.stopped();
    await this.socket.stop();
    for (const w of this.readyWaiters.splice(0)) w();
  }

  /** Waits until connected (true) or `timeoutMs` passed (false). */
  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(this.connected);
      };
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
        resolve(this.connected);
      }, timeoutMs);
      this.readyWaiters.push(done);
    });
  }

  on(listener: (e: ClientEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: ClientEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Drops the socket and opens a new one (the old one is closed first). */
  reconnect(): Promise<void> {
    return this.socket.reconnect();
  }

  private async onOpen(reconnect: boolean): Promise<void> {
    this.log?.debug('comfyui socket open', { worker: this.url, reconnect });
    this.ready = false;
    this.serverPreviewMetadata = false;
    this.queueRemaining = null;
    if (this.useJobsApi) {
      try {
        this.jobsApi = await this.http.hasJobsApi();
      } catch (error) {
        // Unreachable again: the queue and interrupt routes work on every version.
        this.log?.debug('comfyui jobs API probe failed', { worker: this.url, error });
        this.jobsApi = false;
      }
    }
    if (reconnect) await this.checkRestart();
    this.flushAbandoned();
    this.ready = true;
    for (const w of this.readyWaiters.splice(0)) w();
    this.emit({ type: 'connected', reconnect });
    if (reconnect) for (const w of [...this.watches.values()]) w.reconnected();
  }

  /** After a reconnect: a prompt we saw in history is gone → the process restarted. */
  private async checkRestart(): Promise<void> {
    let restarted = true;
    if (this.probePromptId) {
      try {
        restarted = (await this.http.history(this.probePromptId)) === null;
      } catch (error) {
        // Cannot tell: forgetting uploads costs a re-upload, trusting them a failed prompt.
        this.log?.debug('comfyui restart probe failed; assuming a restart', {
          worker: this.url,
          error,
        });
        restarted = true;
      }
    }
    if (restarted) this.markRestarted();
  }

  /** The worker lost its uploads (restart, or a validation error saying a file is missing). */
  markRestarted(): void {
    this.log?.info('comfyui worker restarted; its uploads are forgotten', { worker: this.url });
    this.uploads.clear();
    this.probePromptId = null;
    this.lastNumber = -1;
    this.emit({ type: 'restarted' });
  }

  /** A prompt finished here and is in history (a restart probe). */
  noteHistory(promptId: string): void {
    this.probePromptId = promptId;
  }

  /** POST /prompt answered `number`: ComfyUI's counter only goes down when it restarts. */
  noteNumber(n: unknown): void {
    if (typeof n !== 'number' || !Number.isInteger(n)) return;
    if (n < this.lastNumber) this.markRestarted();
    this.lastNumber = n;
  }

  private onMessage(msg: WsMessage): void {
    if (msg.type === 'feature_flags') {
      this.serverPreviewMetadata =
        this.wantPreviewMetadata && msg.data.supports_preview_metadata === true;
      return;
    }
    if (msg.type === 'status') {
      // A shrinking queue means the worker finished something (maybe another client's).
      const info = msg.data.status as { exec_info?: { queue_remaining?: unknown } } | undefined;
      const remaining = info?.exec_info?.queue_remaining;
      if (typeof remaining === 'number') {
        if (this.queueRemaining !== null && remaining < this.queueRemaining) this.activity();
        this.queueRemaining = remaining;
      }
      return;
    }
    if (!EXECUTION_TYPES.has(msg.type)) return;
    this.activity();
    const promptId = promptIdOf(msg);
    if (promptId === null) {
      // The reconnect hint `executing {node}` has no prompt id: it is our executing prompt.
      if (msg.type === 'executing' && this.executingPromptId) {
        this.watches.get(this.executingPromptId)?.message(msg);
      }
      return;
    }
    const watch = this.watches.get(promptId);
    if (!watch) return;
    if (msg.type === 'execution_start' || (msg.type === 'executing' && msg.data.node !== null)) {
      this.executingPromptId = promptId;
    } else if (
      (msg.type === 'executing' && msg.data.node === null) ||
      msg.type === 'execution_success' ||
      msg.type === 'execution_error' ||
      msg.type === 'execution_interrupted'
    ) {
      if (this.executingPromptId === promptId) this.executingPromptId = null;
    }
    watch.message(msg);
  }

  private activity(): void {
    this.lastActivityAt = Date.now();
    this.emit({ type: 'activity' });
  }

  private onPreview(frame: PreviewFrame): void {
    this.activity();
    let promptId = frame.promptId;
    if (frame.event === 1) {
      // With metadata negotiated our prompts' previews come as event 4; an event 1 is then a
      // broadcast of someone else's prompt. Otherwise it belongs to our executing prompt.
      if (this.serverPreviewMetadata) return;
      promptId = this.executingPromptId;
    }
    promptId ??= this.executingPromptId;
    if (!promptId) return;
    this.watches
      .get(promptId)
      ?.preview({ mimeType: frame.mimeType, data: frame.data, nodeId: frame.nodeId });
  }

  /** Routes the events of `promptId` to `listener` until the returned function is called. */
  watch(promptId: string, listener: PromptListener): () => void {
    this.watches.set(promptId, listener);
    return () => {
      if (this.watches.get(promptId) === listener) this.watches.delete(promptId);
      if (this.executingPromptId === promptId) this.executingPromptId = null;
    };
  }

  /** The name an input gets on the worker: derived from its hash, so re-uploads overwrite. */
  static uploadName(image: ExecutionImage): string {
    const ext = EXTENSIONS[image.mimeType] ?? '.png';
    const hash = /^[0-9a-f]{16,}$/i.test(image.sha256)
      ? image.sha256.slice(0, 40).toLowerCase()
      : createHash('sha256').update(image.sha256).digest('hex').slice(0, 40);
    return `atelier-${image.mask ? 'mask-' : ''}${hash}${ext}`;
  }

  /**
   * Uploads an input once per content hash (concurrent callers share the upload); returns the
   * name to write into the LoadImage input.
   */
  upload(image: ExecutionImage, signal?: AbortSignal): Promise<string> {
    const key = `${image.mask ? 'mask:' : ''}${image.sha256}`;
    let pending = this.uploads.get(key);
    if (!pending) {
      pending = (async () => {
        const data = await image.read();
        this.uploadCount++;
        return this.http.upload(ComfyClient.uploadName(image), data, image.mimeType);
      })();
      this.uploads.set(key, pending);
      // Names only, but a long-lived process sees many inputs: forget the oldest.
      if (this.uploads.size > MAX_CACHED_UPLOADS) {
        const oldest = this.uploads.keys().next().value;
        if (oldest !== undefined) this.uploads.delete(oldest);
      }
      const p = pending;
      // The callers get the failure through `pending`; here it only leaves the cache.
      p.catch(() => {
        if (this.uploads.get(key) === p) this.uploads.delete(key);
      });
    }
    if (!signal) return pending;
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => reject(signal.reason ?? new Error('aborted'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Where a prompt is on this worker. */
  locate(promptId: string): Promise<PromptLocation> {
    return this.http.locate(promptId, this.jobsApi);
  }

  /**
   * Cancels one prompt: the jobs API when the worker has it, else a targeted interrupt if it
   * runs or removal from the queue if it waits. Never a global interrupt.
   */
  async cancelPrompt(promptId: string): Promise<void> {
    if (this.jobsApi) {
      await this.http.cancelJob(promptId);
      return;
    }
    // A pending prompt may start between reading the queue and deleting it: look again.
    for (let i = 0; i < 3; i++) {
      const q = await this.http.queue();
      if (q.running.includes(promptId)) {
        await this.http.interrupt(promptId);
        return;
      }
      if (!q.pending.includes(promptId)) return;
      await this.http.deleteFromQueue([promptId]);
    }
  }

  /** Gives a prompt up while the worker is unreachable; it is cancelled when it answers. */
  abandon(promptId: string): void {
    this.abandoned.add(promptId);
    if (this.connected) this.cancelAbandoned(promptId);
  }

  /** Takes a prompt back from the abandoned list; true if it was there. */
  reclaim(promptId: string): boolean {
    return this.abandoned.delete(promptId);
  }

  private flushAbandoned(): void {
    for (const id of [...this.abandoned]) this.cancelAbandoned(id);
  }

  private cancelAbandoned(id: string): void {
    this.cancelPrompt(id)
      .then(() => this.abandoned.delete(id))
      .catch((e: unknown) => {
        // Unreachable again: the next reconnect tries once more.
        this.log?.debug('canceling an abandoned prompt failed', {
          worker: this.url,
          promptId: id,
          error: e,
        });
        if (!(e instanceof HttpFailure)) this.abandoned.delete(id);
      });
  }

  /**
   * Runs a job on this worker: uploads its images, submits it with the attempt id as
   * `prompt_id` (or, with `track`, only follows a prompt already there), reports events, and
   * returns its outputs. Throws ExecutionError for outcomes and WorkerFailure for
   * infrastructure failures (`retryable` when the prompt is known not to be on the worker).
   */
  run(
    job: ExecutionJob,
    onEvent: (event: ExecutionEvent) => void,
    signal: AbortSignal,
    hooks: RunHooks = {},
    mode: 'submit' | 'track' = 'submit',
  ): Promise<RunResult> {
    if (!this.started) throw new Error(`ComfyClient for ${this.url} is not started`);
    return new PromptRun(this, job, onEvent, signal, hooks).execute(mode);
  }
}
