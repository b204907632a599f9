// The sandbox's state and its worker loop (`main.py` `prompt_worker`): take the next queued
// prompt, execute it, write history, broadcast status, then send `executing {node: null}`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { AbortedError, type ExecutionKnobs, type ExecutionResult, Executor } from './executor.ts';
import { Faults } from './faults.ts';
import type { Dirs } from './nodes/context.ts';
import { annotatedPath } from './nodes/files.ts';
import { implementations } from './nodes/registry.ts';
import { PyFloat } from './pyjson.ts';
import { PromptQueue, type QueueItem } from './queue.ts';
import { allNodeSpecs, type FileLists, type NodeClassSpec } from './specs.ts';
import { SocketHub } from './ws.ts';

/** One executed prompt, for the prompt log. */
export interface PromptLogEntry {
  promptId: string;
  clientId: string | null;
  number: number;
  outcome: ExecutionResult['outcome'];
  /** When POST /prompt accepted it (ms; its `extra_data.create_time`). */
  queuedAt: number | null;
  startedAt: number;
  endedAt: number;
  /** When an interrupt aimed at it first arrived while it ran (ms). */
  interruptRequestedAt?: number;
  /** When the interrupt took effect (`execution_interrupted`, ms), and at which node. */
  interruptedAt?: number;
  interruptedNode?: string;
  executed: string[];
  cached: string[];
  error?: Record<string, unknown>;
}

/** One HTTP request the sandbox received (the /sandbox control routes excluded). */
export interface RequestLogEntry {
  at: number;
  method: string;
  /** The path as requested, without the query string. */
  path: string;
}

export interface SandboxStats {
  /** Prompts that finished executing (any outcome but a restart). */
  promptsExecuted: number;
  succeeded: number;
  failed: number;
  interrupted: number;
  /** Prompts cut off by a restart or stop. */
  aborted: number;
  /** Most recent first is NOT guaranteed: entries are in completion order, capped. */
  log: PromptLogEntry[];
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.bmp', '.tif', '.tiff']);
const VIDEO_EXT = new Set(['.mp4', '.webm', '.mov', '.mkv', '.avi', '.gif']);
const AUDIO_EXT = new Set(['.wav', '.mp3', '.flac', '.ogg', '.opus', '.m4a', '.aac']);

function listFiles(dir: string, recursive: boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      const relName = rel ? `${rel}/${name}` : name;
      if (statSync(full).isDirectory()) {
        if (recursive) walk(full, relName);
      } else out.push(relName);
    }
  };
  walk(dir, '');
  return out.sort();
}

export interface CoreOptions {
  dirs: Dirs;
  knobs: ExecutionKnobs;
  /** Model files per folder, or how to list them (called at the first use). */
  models: Record<string, string[]> | (() => Record<string, string[]>);
  nodeClasses?: string[];
  disabledNodeClasses?: string[];
  maxHistory?: number;
  maxUploadBytes: number;
  log: (line: string) => void;
}

export class SandboxCore {
  readonly dirs: Dirs;
  readonly knobs: ExecutionKnobs;
  readonly faults = new Faults();
  readonly queue: PromptQueue;
  readonly hub: SocketHub;
  readonly executor: Executor;
  readonly maxUploadBytes: number;
  readonly log: (line: string) => void;
  private modelFiles: Record<string, string[]> | (() => Record<string, string[]>);
  readonly disabled: Set<string>;
  private readonly allowed: Set<string> | undefined;
  /** The server's prompt counter (`PromptServer.number`). */
  number = 0;
  readonly stats: SandboxStats = {
    promptsExecuted: 0,
    succeeded: 0,
    failed: 0,
    interrupted: 0,
    aborted: 0,
    log: [],
  };
  /** The latest HTTP requests, oldest first (capped). */
  readonly requests: RequestLogEntry[] = [];
  private epoch = new AbortController();
  private freeMemory = false;
  private loop: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(opts: CoreOptions) {
    this.dirs = opts.dirs;
    this.knobs = opts.knobs;
    this.modelFiles = opts.models;
    this.maxUploadBytes = opts.maxUploadBytes;
    this.log = opts.log;
    this.disabled = new Set(opts.disabledNodeClasses ?? []);
    this.allowed = opts.nodeClasses ? new Set(opts.nodeClasses) : undefined;
    this.queue = new PromptQueue(() => this.queueUpdated(), opts.maxHistory);
    this.hub = new SocketHub({
      queueInfo: () => this.queueInfo(),
      features: () => this.features(),
      executingNodeFor: (sid) => this.executor.executingNodeFor(sid),
    });
    this.executor = new Executor({
      hub: this.hub,
      faults: this.faults,
      knobs: this.knobs,
      dirs: this.dirs,
      spec: (c) => this.spec(c),
      impl: (c) => (this.spec(c) ? implementations().get(c) : undefined),
      log: (l) => this.log(l),
    });
  }

  /** Model files per folder the sandbox pretends to have. */
  get models(): Record<string, string[]> {
    if (typeof this.modelFiles === 'function') this.modelFiles = this.modelFiles();
    return this.modelFiles;
  }

  set models(models: Record<string, string[]>) {
    this.modelFiles = models;
  }

  /** The spec of a class this sandbox offers now (implemented, allowed, not disabled). */
  spec(classType: string): NodeClassSpec | undefined {
    if (typeof classType !== 'string') return undefined;
    if (this.disabled.has(classType)) return undefined;
    if (this.allowed && !this.allowed.has(classType)) return undefined;
    if (!implementations().has(classType)) return undefined;
    return allNodeSpecs()[classType];
  }

  availableClasses(): string[] {
    return [...implementations().keys()].filter((c) => this.spec(c) !== undefined);
  }

  readonly files: FileLists = {
    models: (folder) => [...(this.models[folder] ?? [])].sort(),
    inputs: (kinds) =>
      listFiles(this.dirs.input, false).filter((f) => {
        const ext = path.extname(f).toLowerCase();
        return (
          (kinds.includes('image') && IMAGE_EXT.has(ext)) ||
          (kinds.includes('video') && VIDEO_EXT.has(ext)) ||
          (kinds.includes('audio') && AUDIO_EXT.has(ext))
        );
      }),
    outputs: () =>
      listFiles(this.dirs.output, true)
        .filter((f) => IMAGE_EXT.has(path.extname(f).toLowerCase()))
        .map((f) => `${f} [output]`),
  };

  annotatedFileExists(name: string): boolean {
    const file = annotatedPath(name, this.dirs);
    return file !== undefined && existsSync(file) && statSync(file).isFile();
  }

  queueInfo(): Record<string, unknown> {
    return { exec_info: { queue_remaining: this.queue.tasksRemaining() } };
  }

  features(): Record<string, unknown> {
    return {
      supports_preview_metadata: true,
      supports_model_type_tags: true,
      max_upload_size: new PyFloat(this.maxUploadBytes),
      extension: { manager: { supports_v4: true } },
      node_replacements: true,
      assets: false,
    };
  }

  noteRequest(method: string, path: string): void {
    this.requests.push({ at: Date.now(), method, path });
    if (this.requests.length > 5000) this.requests.splice(0, this.requests.length - 5000);
  }

  /** `PromptServer.queue_updated`: a status broadcast. */
  private queueUpdated(): void {
    this.hub.send('status', { status: this.queueInfo() }, null);
    if (this.queue.tasksRemaining() === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.queue.tasksRemaining() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** `/free`: applied after the running prompt, or now when idle. */
  requestFree(freeMemory: boolean): void {
    if (!freeMemory) return;
    if (this.executor.runningPromptId === null) this.executor.clearCache();
    else this.freeMemory = true;
  }

  start(): void {
    const signal = this.epoch.signal;
    this.loop = this.workerLoop(signal).catch((e) => {
      if (!(e instanceof AbortedError)) this.log(`worker loop crashed: ${(e as Error).stack ?? e}`);
    });
  }

  private async workerLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const item = await this.queue.get(signal);
      if (!item || signal.aborted) return;
      await this.runItem(item, signal);
    }
  }

  private async runItem(item: QueueItem, signal: AbortSignal): Promise<void> {
    const startedAt = Date.now();
    this.faults.beginPrompt();
    let result: ExecutionResult;
    try {
      result = await this.executor.execute(item, signal);
    } finally {
      this.faults.endPrompt();
    }
    const n = typeof item.number === 'number' ? item.number : item.number.value;
    const entry: PromptLogEntry = {
      promptId: item.promptId,
      clientId: typeof item.extraData.client_id === 'string' ? item.extraData.client_id : null,
      number: n,
      outcome: result.outcome,
      queuedAt: typeof item.extraData.create_time === 'number' ? item.extraData.create_time : null,
      startedAt,
      endedAt: Date.now(),
      ...(result.interruptRequestedAt !== undefined
        ? { interruptRequestedAt: result.interruptRequestedAt }
        : {}),
      ...(result.interruptedAt !== undefined
        ? { interruptedAt: result.interruptedAt, interruptedNode: result.interruptedNode! }
        : {}),
      executed: result.executed,
      cached: result.cached,
      ...(result.error ? { error: result.error } : {}),
    };
    this.stats.log.push(entry);
    if (this.stats.log.length > 1000) this.stats.log.shift();
    if (result.outcome === 'aborted' || signal.aborted) {
      this.stats.aborted++;
      return;
    }
    this.stats.promptsExecuted++;
    if (result.outcome === 'success') this.stats.succeeded++;
    else if (result.outcome === 'error') this.stats.failed++;
    else this.stats.interrupted++;
    this.log(`prompt ${item.promptId} ${result.outcome} in ${entry.endedAt - startedAt} ms`);

    const success = result.outcome === 'success';
    this.queue.taskDone(
      item.promptId,
      { outputs: result.outputs, meta: result.meta },
      { status_str: success ? 'success' : 'error', completed: success, messages: result.messages },
    );
    if (entry.clientId !== null) {
      this.hub.send('executing', { node: null, prompt_id: item.promptId }, entry.clientId);
    }
    if (this.freeMemory) {
      this.freeMemory = false;
      this.executor.clearCache();
    }
  }

  /**
   * A process restart: sockets dropped, queue and the running prompt lost (it never reaches
   * history), caches and the prompt counter reset; history kept only if asked.
   */
  async reset(keepHistory: boolean): Promise<void> {
    this.epoch.abort();
    const old = this.loop;
    this.epoch = new AbortController();
    this.queue.reset(keepHistory);
    this.executor.clearCache();
    this.hub.drop();
    this.number = 0;
    this.freeMemory = false;
    await old;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  async shutdown(): Promise<void> {
    this.epoch.abort();
    this.hub.drop();
    await this.loop;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
