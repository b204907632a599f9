// What the pool knows about one worker: its client, health, capabilities (node classes from
// /object_info, model files from /models/{folder}), the slots our jobs hold there and the
// model it last ran.
import { BUSY_WINDOW_SECONDS, observeIdleGap } from '../instruments.ts';
import type { Logger } from '../log.ts';
import type { ExecutionJob } from '../queue/executor.ts';
import type { ComfyClient } from './client.ts';
import { GpuUsage } from './gpu-usage.ts';

export interface Capabilities {
  nodeClasses: Set<string>;
  modelFiles: Map<string, Set<string>>;
}

export class PoolWorker {
  /** The last health check succeeded. */
  healthOk = false;
  /** A job stalled here; cleared by the next sign of execution or a restart. */
  stalled = false;
  capabilities: Capabilities | null = null;
  capabilitiesAt = 0;
  /** Our jobs holding a slot here: submitted, or about to be. */
  slots = 0;
  /** Another process holds every slot here (slot-ledger.ts) until this time (ms). */
  fullUntil = 0;
  /** Of those, the one the worker executes now (0 or 1). */
  running = 0;
  /** Of those, canceled runs that ended unconfirmed: the worker may still run their prompts. */
  lingering = 0;
  /** Model keys of the job submitted last: what the worker has loaded after its queue. */
  loadedModels: string[] = [];
  lastError: string | null = null;
  /** Its WebSocket was open at the last news of it (a drop is logged once). */
  socketUp = false;
  /** How busy its GPU is with our prompts (atelier_comfyui_busy_*). */
  readonly usage = new GpuUsage(BUSY_WINDOW_SECONDS * 1000);
  private fingerprint: string | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(
    readonly url: string,
    readonly client: ComfyClient,
    public sandbox: boolean,
    private readonly log: Logger | undefined,
  ) {}

  /** One of our prompts started executing here. */
  promptStarted(): void {
    this.running++;
    const gap = this.usage.started();
    if (gap !== null) observeIdleGap(this.url, gap);
  }

  /** A prompt that started here is no longer executing. */
  promptEnded(): void {
    this.running--;
    this.usage.ended();
  }

  /** `GET /system_stats`; also detects the sandbox and a process that changed under us. */
  async healthCheck(timeoutMs: number): Promise<void> {
    try {
      const stats = await this.client.http.systemStats(timeoutMs);
      const system = (stats.system ?? {}) as Record<string, unknown>;
      if (system.deploy_environment === 'atelier-sandbox') this.sandbox = true;
      // Version and argv change only with a new process: a restart we may have missed.
      const fingerprint = JSON.stringify([
        system.comfyui_version,
        system.python_version,
        system.pytorch_version,
        system.argv,
      ]);
      if (this.fingerprint !== null && this.fingerprint !== fingerprint) {
        this.client.markRestarted();
      }
      this.fingerprint = fingerprint;
      if (!this.healthOk) this.log?.info('comfyui worker healthy', { worker: this.url });
      this.healthOk = true;
      if (this.client.connected && !this.stalled) this.lastError = null;
    } catch (e) {
      if (this.healthOk) {
        this.log?.warn('comfyui worker unhealthy', { worker: this.url, error: e });
      }
      this.healthOk = false;
      this.lastError = (e as Error).message;
    }
  }

  /** Re-reads node classes and model files (one refresh at a time). */
  refreshCapabilities(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      try {
        const [nodeClasses, modelFiles] = await Promise.all([
          this.client.http.nodeClasses(),
          this.client.http.modelFiles(),
        ]);
        this.capabilities = { nodeClasses, modelFiles };
        this.capabilitiesAt = Date.now();
      } catch (e) {
        this.lastError = `reading node classes and models: ${(e as Error).message}`;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** What the worker lacks for a job (empty: it can run it). */
  missing(req: ExecutionJob['requirements']): string[] {
    const caps = this.capabilities;
    if (!caps) return ['(node classes and models not read yet)'];
    const out: string[] = [];
    for (const c of req.nodeClasses) if (!caps.nodeClasses.has(c)) out.push(`node class ${c}`);
    for (const f of req.modelFiles) {
      if (!caps.modelFiles.get(f.folder)?.has(f.name)) out.push(`${f.folder}/${f.name}`);
    }
    return out;
  }

  satisfies(req: ExecutionJob['requirements']): boolean {
    return this.missing(req).length === 0;
  }
}
