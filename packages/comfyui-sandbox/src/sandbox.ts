// The sandbox as a library: `startSandbox()` starts an HTTP + WebSocket server speaking
// ComfyUI's protocol on a loopback port and returns a handle with its URL, `stop()`,
// `restart()` and the knobs tests and benchmarks turn.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { type Controllable, controlRoute } from './control.ts';
import {
  type PromptLogEntry,
  type RequestLogEntry,
  SandboxCore,
  type SandboxStats,
} from './core.ts';
import type { ExecutionKnobs } from './executor.ts';
import type {
  ArmedFaults,
  DropSocketFault,
  HangFault,
  HttpFault,
  NodeFault,
  SlowNodeFault,
} from './faults.ts';
import { comfyRoute } from './http.ts';
import { DEFAULT_MODELS, mergeModels, modelsFromCatalogDir, normalizeModels } from './models.ts';
import type { Dirs } from './nodes/context.ts';
import { HttpError, INTERNAL_ERROR, sendText } from './respond.ts';

export interface SandboxOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Delay before each sampler step, ms (default 0). */
  stepDelayMs?: number;
  /** Extra delay when a loader node runs (a model load), ms (default 0). */
  modelLoadDelayMs?: number;
  /** Send latent previews at each sampler step (default true). */
  previews?: boolean;
  /** Longest edge of preview JPEGs in pixels (default 128). */
  previewSize?: number;
  /**
   * A cached output node sends `executed` again (default true, as current ComfyUI); false
   * behaves like ComfyUI before its 2024 execution rewrite (its UI only in the history).
   */
  resendCachedUi?: boolean;
  /** Model files per folder the sandbox pretends to have; replaces the defaults. */
  models?: Record<string, string[]>;
  /** Model files added to `models` (or to the defaults). */
  extraModels?: Record<string, string[]>;
  /** Also pretend to have every model file the workflows in `*.json` under this folder load. */
  catalogDir?: string;
  /** Only these node classes exist (default: every class the sandbox implements). */
  nodeClasses?: string[];
  /** These node classes do not exist (a worker lacking a custom node). */
  disabledNodeClasses?: string[];
  /** Root for input/, output/ and temp/ (default: a fresh temp dir removed on stop). */
  baseDir?: string;
  inputDir?: string;
  outputDir?: string;
  tempDir?: string;
  /** History entries kept (default 10000, ComfyUI's MAXIMUM_HISTORY_SIZE). */
  maxHistory?: number;
  /** Request body limit in MB (default 100, like --max-upload-size). */
  maxUploadMb?: number;
  /** Like --enable-cors-header: send CORS headers instead of the same-origin check. */
  enableCorsHeader?: string;
  /** Log sink (default: stderr lines prefixed with [comfyui-sandbox]); false for silence. */
  log?: ((line: string) => void) | false;
}

export interface RestartOptions {
  /** Keep /history across the restart (default false, like a process restart). */
  keepHistory?: boolean;
  /** Close the listener for this long before listening again on the same port (default 0). */
  downtimeMs?: number;
}

export type { PromptLogEntry, RequestLogEntry, SandboxStats };

function defaultLog(line: string): void {
  process.stderr.write(`[comfyui-sandbox] ${line}\n`);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

/** A running ComfyUI stand-in. */
export class Sandbox implements Controllable {
  private server: Server | undefined;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private listening = false;
  private constructor(
    private readonly core: SandboxCore,
    private readonly opts: SandboxOptions,
    private readonly ownedBaseDir: string | undefined,
    public port: number,
    public readonly host: string,
  ) {}

  /** Starts a sandbox; resolves once it listens. */
  static async start(options: SandboxOptions = {}): Promise<Sandbox> {
    const log = options.log === false ? () => {} : (options.log ?? defaultLog);
    const owned = options.baseDir
      ? undefined
      : mkdtempSync(path.join(os.tmpdir(), 'comfyui-sandbox-'));
    const base = options.baseDir ?? owned!;
    const dirs: Dirs = {
      input: options.inputDir ?? path.join(base, 'input'),
      output: options.outputDir ?? path.join(base, 'output'),
      temp: options.tempDir ?? path.join(base, 'temp'),
    };
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
    // Listed at the first request that needs them, not before the sandbox listens: the
    // catalog's workflows are read and resolved against every node class's specification
    // (≈ 90 ms of the thread at start, which the bundled sandbox shares with the server).
    const models = () => {
      let listed = normalizeModels(options.models ?? DEFAULT_MODELS);
      if (options.extraModels) listed = mergeModels(listed, options.extraModels);
      if (options.catalogDir) {
        listed = mergeModels(listed, modelsFromCatalogDir(options.catalogDir));
      }
      return listed;
    };
    const core = new SandboxCore({
      dirs,
      knobs: {
        stepDelayMs: options.stepDelayMs ?? 0,
        modelLoadDelayMs: options.modelLoadDelayMs ?? 0,
        previews: options.previews ?? true,
        previewSize: options.previewSize ?? 128,
        resendCachedUi: options.resendCachedUi ?? true,
      },
      models,
      nodeClasses: options.nodeClasses,
      disabledNodeClasses: options.disabledNodeClasses,
      maxHistory: options.maxHistory,
      maxUploadBytes: Math.round((options.maxUploadMb ?? 100) * 1024 * 1024),
      log,
    });
    const sandbox = new Sandbox(
      core,
      options,
      owned,
      options.port ?? 0,
      options.host ?? '127.0.0.1',
    );
    await sandbox.listen();
    core.start();
    return sandbox;
  }

  /** Base URL, e.g. `http://127.0.0.1:54321`. */
  get url(): string {
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${h}:${this.port}`;
  }

  /** WebSocket URL for a client id: `ws://host:port/ws?clientId=...`. */
  wsUrl(clientId?: string): string {
    return `${this.url.replace(/^http/, 'ws')}/ws${clientId ? `?clientId=${encodeURIComponent(clientId)}` : ''}`;
  }

  get dirs(): Readonly<Dirs> {
    return this.core.dirs;
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        const status = e instanceof HttpError ? e.status : 500;
        const body = e instanceof HttpError ? e.body : INTERNAL_ERROR;
        if (!(e instanceof HttpError)) this.core.log(`request failed: ${(e as Error).stack ?? e}`);
        if (!res.headersSent) sendText(res, status, body);
        else res.destroy();
      });
    });
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://sandbox');
      if (url.pathname !== '/ws' && url.pathname !== '/api/ws') {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      if (!this.opts.enableCorsHeader && !this.originAllowed(req)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      if (this.core.faults.httpStatus('GET', '/ws') !== undefined) {
        socket.end('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.core.hub.accept(ws, url.searchParams.get('clientId'));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.listening = true;
  }

  private async closeListener(): Promise<void> {
    const server = this.server;
    if (!server || !this.listening) return;
    this.listening = false;
    this.core.hub.drop();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private originAllowed(req: IncomingMessage): boolean {
    if (req.headers['sec-fetch-site'] === 'cross-site') return false;
    const host = req.headers.host;
    const origin = req.headers.origin;
    if (!host || !origin) return true;
    let o: URL;
    let h: URL;
    try {
      o = new URL(origin);
      h = new URL(`http://${host.toLowerCase()}`);
    } catch {
      return true;
    }
    if (!isLoopback(h.hostname)) return true;
    const hostDomain = o.port ? h.host : h.hostname;
    const originDomain = h.port ? o.host : o.hostname;
    return hostDomain === originDomain;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const pathname = url.pathname;
    if (pathname === '/sandbox' || pathname.startsWith('/sandbox/')) {
      if (await controlRoute(this, req, res, pathname)) return;
      sendText(res, 404, '404: Not Found');
      return;
    }
    if (this.opts.enableCorsHeader) {
      res.setHeader('Access-Control-Allow-Origin', this.opts.enableCorsHeader);
      res.setHeader('Access-Control-Allow-Methods', 'POST, GET, DELETE, PUT, OPTIONS, PATCH');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      if (req.method === 'OPTIONS') {
        res.writeHead(200).end();
        return;
      }
    } else if (!this.originAllowed(req)) {
      res.writeHead(403).end();
      return;
    }
    this.core.noteRequest(req.method ?? 'GET', pathname);
    const api = pathname === '/api' || pathname.startsWith('/api/');
    const route = api ? pathname.slice(4) || '/' : pathname;
    const status = this.core.faults.httpStatus(req.method ?? 'GET', route);
    if (status !== undefined) {
      req.resume();
      sendText(res, status, status >= 500 ? INTERNAL_ERROR : `${status}`);
      return;
    }
    if (await comfyRoute(this.core, req, res, route, api, url.searchParams)) return;
    // Quirk kept from aiohttp route aliasing: the jobs routes also exist under /api/api.
    if (api && route.startsWith('/api/jobs')) {
      if (await comfyRoute(this.core, req, res, route.slice(4), true, url.searchParams)) return;
    }
    req.resume();
    sendText(res, 404, '404: Not Found');
  }

  /** Stops listening, drops every socket, ends the worker and removes its temp dir. */
  async stop(): Promise<void> {
    await this.core.shutdown();
    await this.closeListener();
    this.wss.close();
    if (this.ownedBaseDir) rmSync(this.ownedBaseDir, { recursive: true, force: true });
  }

  /**
   * Simulates a ComfyUI process restart: every WebSocket is dropped, the queue and the
   * running prompt are lost (no history entry, no messages), caches and the prompt counter
   * reset, history kept only with `keepHistory`. With `downtimeMs` the port stops answering
   * for that long (connections refused), then listens again.
   */
  async restart(opts: RestartOptions = {}): Promise<void> {
    this.core.log(
      `restart (keepHistory=${opts.keepHistory ?? false}, downtimeMs=${opts.downtimeMs ?? 0})`,
    );
    if ((opts.downtimeMs ?? 0) > 0) await this.closeListener();
    await this.core.reset(opts.keepHistory ?? false);
    this.core.faults.endPrompt();
    if ((opts.downtimeMs ?? 0) > 0) {
      await new Promise((r) => setTimeout(r, opts.downtimeMs));
      await this.listen();
    }
    this.core.start();
  }

  // ---- knobs ----

  get knobs(): Readonly<ExecutionKnobs> {
    return { ...this.core.knobs };
  }

  /** Sets the per-step delay of samplers (ms). */
  setStepDelay(ms: number): void {
    this.core.knobs.stepDelayMs = Math.max(0, ms);
  }

  /** Changes any of stepDelayMs, modelLoadDelayMs, previews, previewSize, resendCachedUi. */
  setKnobs(knobs: Partial<ExecutionKnobs> | Record<string, unknown>): void {
    const k = this.core.knobs;
    if (typeof knobs.stepDelayMs === 'number') k.stepDelayMs = Math.max(0, knobs.stepDelayMs);
    if (typeof knobs.modelLoadDelayMs === 'number')
      k.modelLoadDelayMs = Math.max(0, knobs.modelLoadDelayMs);
    if (typeof knobs.previews === 'boolean') k.previews = knobs.previews;
    if (typeof knobs.previewSize === 'number') k.previewSize = Math.max(8, knobs.previewSize);
    if (typeof knobs.resendCachedUi === 'boolean') k.resendCachedUi = knobs.resendCachedUi;
  }

  /** Model files per folder (sorted copies). */
  models(): Record<string, string[]> {
    return normalizeModels(this.core.models);
  }

  /** Replaces the model files the sandbox pretends to have. */
  setModels(models: Record<string, string[]>): void {
    this.core.models = normalizeModels(models);
  }

  addModel(folder: string, file: string): void {
    this.core.models = mergeModels(this.core.models, { [folder]: [file] });
  }

  removeModel(folder: string, file: string): void {
    const files = (this.core.models[folder] ?? []).filter((f) => f !== file);
    this.core.models = { ...this.core.models, [folder]: files };
  }

  /** The node classes this sandbox offers now. */
  nodeClasses(): string[] {
    return this.core.availableClasses();
  }

  /** Makes node classes disappear (from /object_info and validation). */
  disableNodeClass(...names: string[]): void {
    for (const n of names) this.core.disabled.add(n);
  }

  enableNodeClass(...names: string[]): void {
    for (const n of names) this.core.disabled.delete(n);
  }

  // ---- faults ----

  /** Makes nodes of `fault.classType` (any class when omitted) raise, every time or `times`. */
  failNode(fault: NodeFault): void {
    this.core.faults.failNode(fault);
  }

  /** The next prompt that executes fails at its first executed node (or of `classType`). */
  failNextPrompt(fault: Partial<NodeFault> = {}): void {
    this.core.faults.failNextPrompt({ kind: 'error', ...fault });
  }

  /** Answer `status` (default 500) on POST /prompt (`scope: 'prompt'`) or every route. */
  failHttp(fault: Partial<HttpFault> = {}): void {
    this.core.faults.failHttp({ status: 500, scope: 'prompt', ...fault });
  }

  /** Drops WebSockets during the next prompt after `afterSteps` sampler steps. */
  dropSocketsNextPrompt(fault: Partial<DropSocketFault> = {}): void {
    this.core.faults.dropSocketsNextPrompt({ afterSteps: 1, ...fault });
  }

  /** The next prompt stops progressing after `afterSteps` steps and never finishes. */
  hangNextPrompt(fault: Partial<HangFault> = {}): void {
    this.core.faults.hangNextPrompt({ afterSteps: 0, ...fault });
  }

  /**
   * Makes nodes of `fault.classType` (any class when omitted) take `delayMs` longer, without
   * progress checks: an interrupt meanwhile lands at the next node boundary, as in ComfyUI.
   */
  slowNode(fault: Partial<SlowNodeFault> & { delayMs: number }): void {
    this.core.faults.slowNode({ ...fault, delayMs: Math.max(0, fault.delayMs) });
  }

  /** True while a prompt is blocked by a `hang` fault (see hangNextPrompt). */
  get hanging(): boolean {
    return this.core.executor.hanging;
  }

  /** Lets a hung prompt continue. */
  releaseHang(): void {
    this.core.executor.releaseHang();
  }

  clearFaults(): void {
    this.core.faults.clear();
  }

  faults(): ArmedFaults {
    return this.core.faults.snapshot();
  }

  /** Like POST /interrupt (targeted when `promptId` is given); true if something was running. */
  interrupt(promptId?: string): boolean {
    return this.core.executor.interrupt(promptId);
  }

  // ---- observation ----

  /** Counters and the log of executed prompts. */
  stats(): SandboxStats {
    return structuredClone(this.core.stats);
  }

  /** The HTTP requests received lately (ComfyUI routes; not /sandbox), oldest first. */
  requests(): RequestLogEntry[] {
    return this.core.requests.map((r) => ({ ...r }));
  }

  resetStats(): void {
    this.core.requests.length = 0;
    Object.assign(this.core.stats, {
      promptsExecuted: 0,
      succeeded: 0,
      failed: 0,
      interrupted: 0,
      aborted: 0,
      log: [],
    });
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    return this.core.idle();
  }

  /** Number of connected WebSockets. */
  get socketCount(): number {
    return this.core.hub.size;
  }

  /** Everything the /sandbox route reports. */
  state(): Record<string, unknown> {
    return {
      sandbox: true,
      url: this.url,
      knobs: this.knobs,
      faults: this.faults(),
      models: this.models(),
      disabledNodeClasses: [...this.core.disabled],
      nodeClassCount: this.nodeClasses().length,
      sockets: this.socketCount,
      queueRemaining: this.core.queue.tasksRemaining(),
      stats: this.stats(),
    };
  }
}

/** Starts a ComfyUI stand-in (see SandboxOptions); `await sandbox.stop()` when done. */
export function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  return Sandbox.start(options);
}
