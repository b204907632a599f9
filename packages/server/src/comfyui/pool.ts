// The worker pool: the Executor the run engine uses. Per worker one running and one queued
// prompt (the GPU never idles between jobs), workers chosen by what they have (node classes,
// model files), then by the model they last ran, then by load; health checks; bounded retries
// on another worker for infrastructure failures whose outcome is known; two timeouts
// (waiting for a slot, a worker that stops progressing).
import { createHash } from 'node:crypto';
import { registerGpuSource } from '../instruments.ts';
import type { Logger } from '../log.ts';
import {
  ExecutionError,
  type ExecutionEvent,
  type ExecutionJob,
  type ExecutionResult,
  type Executor,
  type WorkerStatus,
} from '../queue/executor.ts';
import { withTimeout } from '../timeout.ts';
import { withSpan } from '../tracing.ts';
import { ComfyClient, type ComfyClientOptions } from './client.ts';
import { canceled, WorkerFailure } from './errors.ts';
import type { FetchLike } from './http.ts';
import type { RunTimings } from './run.ts';
import { LocalSlotLedger, type SlotLedger } from './slot-ledger.ts';
import { PoolWorker } from './worker.ts';

export interface ComfyPoolOptions {
  /** Worker base URLs, e.g. `['http://gpu1:8188', 'http://gpu2:8188']`. */
  urls: string[];
  /** How long a job may wait for a free slot before TIMED_OUT. Default 10 min. */
  queueTimeoutMs?: number;
  /** No event from a worker for this long while it holds a job → TIMED_OUT. Default 10 min. */
  stallTimeoutMs?: number;
  /** Retries on another worker after an infrastructure failure. Default 2. */
  retries?: number;
  /**
   * First wait before a retry (ms), doubled for each further one, up to 5 s. Default 250.
   */
  retryBackoffMs?: number;
  /**
   * A worker that went away with the job and is back by the next attempt (a restart) does not
   * use up a retry, up to this many times per job. Default 10.
   */
  maxComebacks?: number;
  /** Prompts per worker: one running plus extras queued on the worker. Default 2. */
  slotsPerWorker?: number;
  /**
   * How long a cancel waits for the worker to confirm the prompt stopped before the run ends
   * CANCELED unconfirmed (the slot stays taken until the worker is done). Default 10 min.
   */
  cancelConfirmMs?: number;
  /** Health check interval (`GET /system_stats`). Default 10 s. */
  healthIntervalMs?: number;
  /**
   * Timeout of one health check, and of asking a server whether it holds a prompt (a run
   * taken over from a process that is gone). Default 5 s.
   */
  healthTimeoutMs?: number;
  /** Re-read node classes and model files this often (also on every reconnect). Default 5 min. */
  capabilitiesIntervalMs?: number;
  /** Prompt tracking timings (poll on silence, history wait, lost worker, cancel confirmation). */
  timings?: Partial<Omit<RunTimings, 'stallTimeoutMs'>>;
  /** Passed to every ComfyClient. */
  client?: Omit<ComfyClientOptions, 'url' | 'timings' | 'fetch' | 'log'>;
  /**
   * A name for this executor process that survives its restarts (e.g. a persisted id). Each
   * worker's client id is derived from it, so after a restart the socket receives the events
   * of prompts submitted before (`resumeOn`). Two live processes must not share it: ComfyUI
   * routes a client id to its latest socket only. Default: a fresh id per process (resumed
   * prompts are then followed by polling).
   */
  instanceId?: string;
  /** Treat these URLs as the bundled sandbox (also detected from `/system_stats`). */
  sandboxUrls?: string[];
  /** Counts slots across processes that share ComfyUI servers (default: this process only). */
  ledger?: SlotLedger;
  fetch?: FetchLike;
  log?: Logger;
}

interface Waiter {
  job: ExecutionJob;
  avoid: Set<string>;
  resolve(worker: PoolWorker): void;
  reject(error: Error): void;
}

/** A UUID-shaped client id, stable for one executor instance and one worker. */
export function derivedClientId(instanceId: string, url: string): string {
  const h = createHash('sha256').update(`${instanceId}\n${url}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function normalizeUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

export class ComfyPool implements Executor {
  private readonly workersByUrl = new Map<string, PoolWorker>();
  private readonly waiters: Waiter[] = [];
  private readonly unsubscribers: Array<() => void> = [];
  private readonly queueTimeoutMs: number;
  private readonly stallTimeoutMs: number;
  private readonly retries: number;
  private readonly retryBackoffMs: number;
  private readonly maxComebacks: number;
  private readonly slotsPerWorker: number;
  private readonly healthIntervalMs: number;
  private readonly healthTimeoutMs: number;
  private readonly capabilitiesIntervalMs: number;
  private readonly log: Logger | undefined;
  private healthTimer: NodeJS.Timeout | null = null;
  private running = false;
  private lastOnDemandRefresh = 0;
  private readonly newClient: (url: string) => ComfyClient;
  private readonly ledger: SlotLedger;
  private fullTimer: NodeJS.Timeout | null = null;
  /** The first round of connections, capabilities and health checks (see start). */
  private probing: Promise<void> = Promise.resolve();
  private readonly healthyListeners = new Set<() => void>();

  constructor(options: ComfyPoolOptions) {
    // No URLs: the pool of an API replica (`serve --no-worker`), which is never started.
    this.queueTimeoutMs = options.queueTimeoutMs ?? 10 * 60_000;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 10 * 60_000;
    this.retries = options.retries ?? 2;
    this.retryBackoffMs = options.retryBackoffMs ?? 250;
    this.maxComebacks = options.maxComebacks ?? 10;
    this.slotsPerWorker = Math.max(1, options.slotsPerWorker ?? 2);
    this.healthIntervalMs = options.healthIntervalMs ?? 10_000;
    this.healthTimeoutMs = options.healthTimeoutMs ?? 5_000;
    this.capabilitiesIntervalMs = options.capabilitiesIntervalMs ?? 5 * 60_000;
    this.log = options.log;
    this.ledger = options.ledger ?? new LocalSlotLedger();
    const sandboxUrls = new Set((options.sandboxUrls ?? []).map(normalizeUrl));
    this.newClient = (url) =>
      new ComfyClient({
        ...options.client,
        url,
        ...(options.instanceId ? { clientId: derivedClientId(options.instanceId, url) } : {}),
        timings: {
          ...options.timings,
          ...(options.cancelConfirmMs ? { cancelConfirmMs: options.cancelConfirmMs } : {}),
          stallTimeoutMs: this.stallTimeoutMs,
        },
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.log ? { log: options.log } : {}),
      });
    for (const raw of options.urls) {
      const url = normalizeUrl(raw);
      if (this.workersByUrl.has(url)) continue;
      const client = this.newClient(url);
      const worker = new PoolWorker(url, client, sandboxUrls.has(url), this.log);
      this.workersByUrl.set(url, worker);
    }
  }

  /** Follows a worker's connection: capabilities on (re)connect, health, stalls. */
  private subscribe(worker: PoolWorker): () => void {
    return worker.client.on((e) => {
      switch (e.type) {
        case 'connected':
          if (e.reconnect) this.log?.info('comfyui worker reconnected', { worker: worker.url });
          worker.socketUp = true;
          void this.refreshCapabilities(worker).then(() => this.healthCheck(worker));
          break;
        case 'disconnected':
          // Said once: the attempts to reconnect that fail after it are not news.
          if (worker.socketUp) {
            this.log?.warn('comfyui worker disconnected', { worker: worker.url, reason: e.reason });
          }
          worker.socketUp = false;
          worker.lastError = e.reason;
          this.wake();
          break;
        case 'restarted':
          worker.loadedModels = [];
          worker.stalled = false;
          break;
        case 'activity':
          if (worker.stalled) {
            const before = this.healthy(worker);
            worker.stalled = false;
            this.wake();
            this.toldIfHealthy(worker, before);
          }
          break;
      }
    });
  }

  /** The ComfyClient of a worker (for tests and diagnostics). */
  client(url: string): ComfyClient | undefined {
    return this.workersByUrl.get(normalizeUrl(url))?.client;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const all = [...this.workersByUrl.values()];
    for (const w of all) this.unsubscribers.push(this.subscribe(w));
    this.unsubscribers.push(
      registerGpuSource(() =>
        all.map((w) => ({
          url: w.url,
          busySeconds: w.usage.busySeconds(),
          busyRatio: w.usage.busyRatio(),
        })),
      ),
    );
    await this.ledger.start(all.map((w) => w.url));
    this.unsubscribers.push(
      this.ledger.onRelease((url) => {
        const w = this.workersByUrl.get(url);
        if (w) w.fullUntil = 0;
        this.wake();
      }),
    );
    // Not awaited: the API does not wait for its GPUs. A worker that is down or slow to
    // answer at start held the server's readiness back by the connect timeout (5 s), and
    // a reachable one by its round trips and its /object_info. Runs created meanwhile wait
    // in the queue; the scheduler takes them as soon as a worker is healthy (onHealthy).
    this.probing = Promise.all(
      all.map(async (w) => {
        await w.client.start(5_000);
        await this.refreshCapabilities(w);
        await this.healthCheck(w);
      }),
    ).then(
      () => {},
      (error: unknown) => this.log?.error('probing the ComfyUI workers failed', { error }),
    );
    this.healthTimer = setInterval(() => {
      for (const w of this.workersByUrl.values()) {
        void this.healthCheck(w);
        if (Date.now() - w.capabilitiesAt > this.capabilitiesIntervalMs) {
          void this.refreshCapabilities(w);
        }
      }
    }, this.healthIntervalMs);
    this.healthTimer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.healthTimer = null;
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    for (const w of this.workersByUrl.values()) w.healthOk = false;
    for (const waiter of [...this.waiters]) {
      waiter.reject(new ExecutionError('WORKER_UNAVAILABLE', 'The worker pool stopped.'));
    }
    await Promise.all([...this.workersByUrl.values()].map((w) => w.client.stop()));
    if (this.fullTimer) clearTimeout(this.fullTimer);
    await this.ledger.stop();
  }

  // ---- health and capabilities ----

  private healthy(w: PoolWorker): boolean {
    return (
      this.running && w.client.connected && w.healthOk && !w.stalled && w.capabilities !== null
    );
  }

  /** Settles when start's first round of connections and checks has ended, healthy or not. */
  probed(): Promise<void> {
    return this.probing;
  }

  onHealthy(listener: () => void): () => void {
    this.healthyListeners.add(listener);
    return () => this.healthyListeners.delete(listener);
  }

  /** Tells the onHealthy listeners when `w`, unable to take jobs `before`, now can. */
  private toldIfHealthy(w: PoolWorker, before: boolean): void {
    if (before || !this.healthy(w)) return;
    for (const listener of this.healthyListeners) listener();
  }

  /**
   * Jobs waiting for a slot that no worker can run, now that every worker's capabilities are
   * known (a job that started waiting before they were read, e.g. a run resumed at start):
   * failed as acquire fails them, not left waiting until the queue timeout.
   */
  private failIncapableWaiters(): void {
    const all = [...this.workersByUrl.values()];
    for (const waiter of [...this.waiters]) {
      const { job } = waiter;
      if (all.some((w) => w.capabilities === null || w.satisfies(job.requirements))) continue;
      waiter.reject(
        new ExecutionError(
          'MODEL_UNAVAILABLE',
          `No worker has what model ${job.modelKey} needs: ${this.describeMissing(job)}.`,
        ),
      );
    }
  }

  private async healthCheck(w: PoolWorker): Promise<void> {
    if (!this.running) return;
    const before = this.healthy(w);
    await w.healthCheck(this.healthTimeoutMs);
    this.wake();
    this.toldIfHealthy(w, before);
  }

  private async refreshCapabilities(w: PoolWorker): Promise<void> {
    const before = this.healthy(w);
    await w.refreshCapabilities();
    this.wake();
    this.failIncapableWaiters();
    this.toldIfHealthy(w, before);
  }

  /** Re-reads every worker's node classes and model files now. */
  async refresh(): Promise<void> {
    await Promise.all([...this.workersByUrl.values()].map((w) => this.refreshCapabilities(w)));
  }

  canRun(requirements: ExecutionJob['requirements']): boolean {
    for (const w of this.workersByUrl.values()) {
      if (this.healthy(w) && w.satisfies(requirements)) return true;
    }
    return false;
  }

  mayRun(requirements: ExecutionJob['requirements']): boolean {
    for (const w of this.workersByUrl.values()) if (w.satisfies(requirements)) return true;
    return false;
  }

  capabilitiesKnown(): boolean {
    for (const w of this.workersByUrl.values()) if (w.capabilities === null) return false;
    return true;
  }

  capacity(): number {
    let free = 0;
    for (const w of this.workersByUrl.values()) {
      // Slots other processes hold on a shared server are not ours to fill, nor slots of
      // canceled runs the worker has not let go of yet (no run of ours is counted for them).
      if (this.healthy(w))
        free += Math.max(0, this.slotsPerWorker - this.ledger.heldElsewhere(w.url) - w.lingering);
    }
    return free;
  }

  /** Slots taken on a worker, by this process and (on a shared server) by others. */
  private taken(w: PoolWorker): number {
    return w.slots + this.ledger.heldElsewhere(w.url);
  }

  workers(): WorkerStatus[] {
    return [...this.workersByUrl.values()].map((w) => ({
      url: w.url,
      healthy: this.healthy(w),
      sandbox: w.sandbox,
      running: w.running,
      queued: Math.max(0, w.slots - w.running),
      loadedModels: [...w.loadedModels],
      lastError: w.lastError,
    }));
  }

  // ---- slots ----

  /** The best worker with a free slot for `job`, or null. */
  private pick(job: ExecutionJob, avoid: Set<string>): PoolWorker | null {
    const capable = [...this.workersByUrl.values()].filter(
      (w) => this.healthy(w) && w.satisfies(job.requirements),
    );
    // Workers that failed this job are used again only when no other can run it.
    const fresh = capable.filter((w) => !avoid.has(w.url));
    const now = Date.now();
    const candidates = (fresh.length > 0 ? fresh : capable).filter(
      (w) => this.taken(w) < this.slotsPerWorker && w.fullUntil <= now,
    );
    if (candidates.length === 0) return null;
    candidates.sort((a, b) => {
      const am = a.loadedModels.includes(job.modelKey) ? 0 : 1;
      const bm = b.loadedModels.includes(job.modelKey) ? 0 : 1;
      return am - bm || this.taken(a) - this.taken(b);
    });
    return candidates[0] ?? null;
  }

  /** Hands free slots to waiting jobs, in arrival order. */
  private wake(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i]!;
      const w = this.pick(waiter.job, waiter.avoid);
      if (w) {
        this.waiters.splice(i, 1);
        w.slots++;
        waiter.resolve(w);
      } else {
        i++;
      }
    }
  }

  private release(w: PoolWorker, hold: string | null): void {
    w.slots--;
    if (hold) {
      this.ledger.release(w.url, hold).catch((error: unknown) =>
        this.log?.warn('releasing a ComfyUI slot failed', {
          worker: w.url,
          error,
        }),
      );
    }
    this.wake();
  }

  /**
   * A slot on a worker that can run the job, counted across processes: the local pick is
   * confirmed in the slot ledger; a server whose slots other processes hold is skipped for a
   * moment (or until they release one) and the pick made again.
   */
  private async acquireSlot(
    job: ExecutionJob,
    avoid: Set<string>,
    signal: AbortSignal,
  ): Promise<{ w: PoolWorker; hold: string | null }> {
    for (;;) {
      const w = await this.acquire(job, avoid, signal);
      let hold: string | null;
      try {
        hold = await withTimeout(this.ledger.take(w.url, this.slotsPerWorker), 2_000);
      } catch (error) {
        // The ledger (Redis) is unreachable: count locally rather than stop working.
        this.log?.warn('the ComfyUI slot ledger failed; counting this slot locally', {
          worker: w.url,
          error,
        });
        return { w, hold: null };
      }
      if (hold) return { w, hold };
      w.slots--;
      w.fullUntil = Date.now() + 1_000;
      if (this.fullTimer) clearTimeout(this.fullTimer);
      this.fullTimer = setTimeout(() => this.wake(), 1_000);
      this.fullTimer.unref();
      this.wake();
    }
  }

  /** Whether some worker (healthy or not) is known to be able to run the job. */
  private async anyCapable(job: ExecutionJob): Promise<boolean> {
    const all = [...this.workersByUrl.values()];
    if (all.some((w) => w.capabilities === null || w.satisfies(job.requirements))) return true;
    // Nobody has it: the lists may be stale (a model file just copied in). Look again, rarely.
    if (Date.now() - this.lastOnDemandRefresh > 5_000) {
      this.lastOnDemandRefresh = Date.now();
      await this.refresh();
      return all.some((w) => w.capabilities === null || w.satisfies(job.requirements));
    }
    return false;
  }

  private describeMissing(job: ExecutionJob): string {
    const parts = [...this.workersByUrl.values()].map(
      (w) => `${w.url} lacks ${w.missing(job.requirements).join(', ')}`,
    );
    return parts.join('; ');
  }

  /** Waits for a slot on a worker that can run the job. */
  private async acquire(
    job: ExecutionJob,
    avoid: Set<string>,
    signal: AbortSignal,
  ): Promise<PoolWorker> {
    if (!this.running) {
      throw new ExecutionError('WORKER_UNAVAILABLE', 'The worker pool is stopped.');
    }
    if (!(await this.anyCapable(job))) {
      throw new ExecutionError(
        'MODEL_UNAVAILABLE',
        `No worker has what model ${job.modelKey} needs: ${this.describeMissing(job)}.`,
      );
    }
    if (signal.aborted) throw canceled(undefined);
    const now = this.pick(job, avoid);
    if (now) {
      now.slots++;
      return now;
    }
    return new Promise<PoolWorker>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
      };
      const waiter: Waiter = {
        job,
        avoid,
        resolve: (w) => {
          cleanup();
          resolve(w);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      const onAbort = () => {
        cleanup();
        reject(canceled(undefined, 'The run was canceled before it reached a worker.'));
      };
      const timer = setTimeout(() => {
        cleanup();
        const anyHealthy = [...this.workersByUrl.values()].some(
          (w) => this.healthy(w) && w.satisfies(job.requirements),
        );
        const seconds = Math.round(this.queueTimeoutMs / 100) / 10;
        reject(
          anyHealthy
            ? new ExecutionError('TIMED_OUT', `No worker slot became free within ${seconds} s.`)
            : new ExecutionError(
                'WORKER_UNAVAILABLE',
                `No healthy worker could take the run within ${seconds} s.`,
              ),
        );
      }, this.queueTimeoutMs);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  // ---- execution ----

  async execute(
    job: ExecutionJob,
    onEvent: (event: ExecutionEvent) => void,
    signal: AbortSignal,
  ): Promise<ExecutionResult> {
    if (!this.running)
      throw new ExecutionError('WORKER_UNAVAILABLE', 'The worker pool is stopped.');
    // A canceled run whose prompt may be on a worker is canceled there (resume) first.
    if (signal.aborted && !job.resumeOn && !job.takenOver) throw canceled(undefined);
    if (job.resumeOn || job.takenOver) {
      const resumed = await this.resume(job, onEvent, signal);
      if (resumed) return resumed;
      if (signal.aborted) throw canceled(undefined); // on no worker: nothing to stop
    }
    const avoid = new Set<string>();
    let lastFailure = '';
    let comebacks = 0;
    let waits = 0;
    for (let attempt = 0; ; attempt++) {
      const { w, hold } = await this.acquireSlot(job, avoid, signal);
      // Where the prompt goes is recorded while it goes (not before: that write was the
      // longest wait between createRun and the POST). A failed record cancels the prompt.
      const recording = record(job, w.url, signal);
      try {
        const result = await withSpan('comfyui prompt', promptAttributes(w, job, 'submit'), () =>
          this.runOn(w, job, onEvent, recording.signal, 'submit', hold),
        );
        await recording.done();
        return result;
      } catch (e) {
        await recording.done();
        if (!(e instanceof WorkerFailure)) throw e;
        lastFailure = e.message;
        this.log?.warn('comfyui infrastructure failure', {
          worker: w.url,
          run: job.runId,
          attempt,
          retryable: e.retryable,
          error: e.message,
        });
        if (e.capabilitiesStale) {
          // Choose again with what the worker really has now.
          await w.refreshCapabilities();
          if (!w.satisfies(job.requirements)) {
            attempt--;
            avoid.add(w.url);
            continue;
          }
        }
        if (!e.retryable) {
          throw new ExecutionError('WORKER_UNAVAILABLE', `The worker failed: ${lastFailure}`, {
            worker: w.url,
          });
        }
        // Back off before trying again: a worker that is restarting gets a moment to return.
        await backoff(Math.min(5_000, this.retryBackoffMs * 2 ** waits++), signal);
        if (e.wentAway && comebacks < this.maxComebacks && this.healthy(w)) {
          // It restarted and is back: the job did not fail there, its worker did and returned.
          comebacks++;
          attempt--;
          this.log?.info('comfyui worker came back; trying the job again there', {
            worker: w.url,
            run: job.runId,
            comebacks,
          });
          continue;
        }
        if (attempt >= this.retries) {
          throw new ExecutionError(
            'WORKER_UNAVAILABLE',
            `The worker failed${attempt > 0 ? ` after ${attempt + 1} attempts` : ''}: ${lastFailure}`,
            { worker: w.url },
          );
        }
        avoid.add(w.url);
      }
    }
  }

  /** Runs on a worker that holds a slot for the job, releasing it after. */
  private async runOn(
    w: PoolWorker,
    job: ExecutionJob,
    onEvent: (event: ExecutionEvent) => void,
    signal: AbortSignal,
    mode: 'submit' | 'track',
    hold: string | null,
  ): Promise<ExecutionResult> {
    let started = false;
    let finished = false;
    let lingering = false;
    try {
      const { outputs } = await w.client.run(
        job,
        onEvent,
        signal,
        {
          submitted: () => {
            // The worker runs its queue in order: this model is the one loaded after it.
            w.loadedModels = [job.modelKey];
          },
          started: () => {
            if (!started && !finished) {
              started = true;
              w.promptStarted();
            }
          },
          settled: () => {
            // Done on the worker: its slot is free while we download the outputs.
            if (finished) return;
            finished = true;
            if (started) w.promptEnded();
            if (lingering) w.lingering--;
            this.release(w, hold);
            onEvent({ type: 'released', worker: w.url });
          },
          lingering: () => {
            // The run ends, the prompt may still run there: the slot is released by settled.
            lingering = true;
            w.lingering++;
            this.log?.warn('a canceled prompt was not confirmed stopped; its slot stays taken', {
              worker: w.url,
              run: job.runId,
            });
          },
          stalled: () => {
            w.stalled = true;
            w.lastError = `stalled on run ${job.runId}`;
            this.wake();
          },
        },
        mode,
      );
      return { worker: w.url, outputs };
    } catch (e) {
      if (e instanceof WorkerFailure) w.lastError = e.message;
      if (e instanceof ExecutionError && e.code === 'OUT_OF_MEMORY') {
        // ComfyUI unloads every model after an OOM.
        w.loadedModels = [];
      }
      throw e;
    } finally {
      if (!finished && !lingering) {
        finished = true;
        if (started) w.promptEnded();
        this.release(w, hold);
      }
    }
  }

  /**
   * After a server restart: asks the worker the job was on where its prompt is. Finished →
   * its outputs; queued or running → tracked again; unknown (or no such worker) → null, and
   * the caller submits it anew.
   */
  private async resume(
    job: ExecutionJob,
    onEvent: (event: ExecutionEvent) => void,
    signal: AbortSignal,
  ): Promise<ExecutionResult | null> {
    const url = job.resumeOn ? normalizeUrl(job.resumeOn) : null;
    const found = url ? await this.resumeAt(url, job, onEvent, signal) : null;
    if (found || !job.takenOver) return found;
    // Its worker may not be recorded (the process went away between the prompt and that
    // write): every other worker of this pool is asked for it by its prompt id.
    for (const w of this.workersByUrl.values()) {
      if (w.url === url) continue;
      if (!w.client.connected) {
        // Canceled there if it turns out to be there once the worker answers again.
        w.client.abandon(job.attemptId);
        continue;
      }
      const state = await w.client.locate(job.attemptId).then(
        (loc) => loc.state,
        () => null,
      );
      if (state === null) w.client.abandon(job.attemptId);
      else if (state !== 'unknown') {
        this.log?.info('found a taken-over run on a ComfyUI server not recorded for it', {
          run: job.runId,
          worker: w.url,
        });
        // Recorded now, so the next process to take it over asks there first.
        const recording = record(job, w.url, signal);
        try {
          const resumed = await this.resumeOn(w, job, onEvent, recording.signal);
          await recording.done();
          if (resumed) return resumed;
        } catch (error) {
          await recording.done();
          throw error;
        }
      }
    }
    // The servers of the process that held the run that this pool does not use: asked over
    // HTTP first (a server that is gone costs one short request, not a socket's wait), then
    // a prompt there is followed over a connection of its own.
    for (const other of new Set((job.askAlso ?? []).map(normalizeUrl))) {
      if (other === url || this.workersByUrl.has(other)) continue;
      if (signal.aborted) break;
      const state = await this.ask(other, job.attemptId, job.runId);
      if (state === null || state === 'unknown') continue;
      const recording = record(job, other, signal);
      try {
        const resumed = await this.resumeAt(other, job, onEvent, recording.signal);
        await recording.done();
        if (resumed) {
          this.log?.info('found a taken-over run on a ComfyUI server of the process that held it', {
            run: job.runId,
            worker: other,
          });
          return resumed;
        }
      } catch (error) {
        await recording.done();
        throw error;
      }
    }
    return null;
  }

  /**
   * Asks every server of this pool and `also` (a former process's) at once, each within
   * the health check's timeout, whether it holds prompt `attemptId` (see Executor.find).
   * A server in `silent` is not asked (it counts as unanswered); one that does not answer is
   * added to it, so a pass over many runs waits for a hanging server once, not once per run.
   */
  async find(
    attemptId: string,
    also: string[],
    silent?: Set<string>,
  ): Promise<{ at: string | null; unanswered: boolean }> {
    const urls = new Set([...this.workersByUrl.keys(), ...also.map(normalizeUrl)]);
    const answers = await Promise.all(
      [...urls].map(async (url) => {
        if (silent?.has(url)) return { url, state: null };
        const state = await this.ask(url, attemptId);
        if (state === null) silent?.add(url);
        return { url, state };
      }),
    );
    return {
      at: answers.find((a) => a.state !== null && a.state !== 'unknown')?.url ?? null,
      unanswered: answers.some((a) => a.state === null),
    };
  }

  /**
   * Where prompt `attemptId` is on server `url` (this pool's worker, or another server over
   * a connection of its own), asked over HTTP within the health check's timeout; null (logged) when
   * the server did not answer.
   */
  private async ask(url: string, attemptId: string, runId?: string) {
    const own = this.workersByUrl.get(url);
    const client = own?.client ?? this.newClient(url);
    try {
      return (await withTimeout(client.locate(attemptId), this.healthTimeoutMs)).state;
    } catch (error) {
      this.log?.warn('a ComfyUI server did not say whether it has a prompt', {
        worker: url,
        run: runId,
        promptId: attemptId,
        error,
      });
      return null;
    } finally {
      if (!own) await client.stop();
    }
  }

  /** Follows a job's prompt on `url` (this pool's worker or another server); null: not there. */
  private async resumeAt(
    url: string,
    job: ExecutionJob,
    onEvent: (event: ExecutionEvent) => void,
    signal: AbortSignal,
  ): Promise<ExecutionResult | null> {
    const own = this.workersByUrl.get(url);
    if (own) return this.resumeOn(own, job, onEvent, signal);
    // The run was taken over from a process that is gone, and its prompt went to a ComfyUI
    // server this process does not use: look there all the same (a prompt that is queued,
    // running or done there is followed or collected, never run a second time elsewhere).
    if (!/^https?:\/\//.test(url)) return null;
    const guest = new PoolWorker(url, this.newClient(url), false, this.log);
    this.log?.info('reconciling a taken-over run on the ComfyUI server it was on', {
      run: job.runId,
      worker: url,
    });
    try {
      await guest.client.start(guest.client.timings.lostAfterMs);
      return await this.resumeOn(guest, job, onEvent, signal);
    } finally {
      await guest.client.stop();
    }
  }

  private async resumeOn(
    w: PoolWorker,
    job: ExecutionJob,
    onEvent: (event: ExecutionEvent) => void,
    signal: AbortSignal,
  ): Promise<ExecutionResult | null> {
    const lostAfter = w.client.timings.lostAfterMs;
    if (!(await w.client.waitConnected(lostAfter))) {
      // It may come back with the prompt: cancel it then, run it elsewhere now.
      w.client.abandon(job.attemptId);
      return null;
    }
    // A canceled run is followed there too: it ends once the worker confirms it stopped.
    let state: string;
    try {
      state = (await w.client.locate(job.attemptId)).state;
    } catch (error) {
      this.log?.warn('could not find a resumed prompt on its ComfyUI server; submitting it anew', {
        worker: w.url,
        run: job.runId,
        error,
      });
      w.client.abandon(job.attemptId);
      return null;
    }
    if (state === 'unknown') return null;
    // Pending, running or finished: follow it there (a finished one is read from history).
    // The prompt is on the server already: its slot is counted whatever the others hold.
    w.slots++;
    const hold = await withTimeout(this.ledger.force(w.url), 2_000).catch((error: unknown) => {
      this.log?.warn('the ComfyUI slot ledger failed; counting this slot locally', {
        worker: w.url,
        error,
      });
      return null;
    });
    try {
      return await withSpan('comfyui prompt', promptAttributes(w, job, 'track'), () =>
        this.runOn(w, job, onEvent, signal, 'track', hold),
      );
    } catch (e) {
      if (e instanceof WorkerFailure && e.retryable) return null;
      if (e instanceof WorkerFailure) {
        throw new ExecutionError('WORKER_UNAVAILABLE', e.message, { worker: w.url });
      }
      throw e;
    }
  }
}

/**
 * Starts `job.beforeSubmit` for worker `url` without waiting for it. `signal` aborts with the
 * run's, or when that record fails; `done` waits for the record and throws its failure, which
 * then wins over the error the aborted prompt ended with.
 */
function record(job: ExecutionJob, url: string, runSignal: AbortSignal) {
  if (!job.beforeSubmit) return { signal: runSignal, done: async () => {} };
  const failed = new AbortController();
  let failure: { cause: unknown } | null = null;
  const written = job.beforeSubmit(url).catch((cause: unknown) => {
    failure = { cause };
    failed.abort();
  });
  return {
    signal: AbortSignal.any([runSignal, failed.signal]),
    done: async () => {
      await written;
      if (failure) throw failure.cause;
    },
  };
}

/** Attributes of a prompt's span: where it runs, for which run, submitted or followed. */
function promptAttributes(w: PoolWorker, job: ExecutionJob, mode: 'submit' | 'track') {
  return {
    'atelier.comfyui.url': w.url,
    'atelier.run.id': job.runId,
    'atelier.comfyui.prompt_id': job.attemptId,
    'atelier.comfyui.mode': mode,
  };
}

/** Waits `ms`, or until `signal` aborts (then rejects as canceled). */
function backoff(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(canceled(undefined));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref();
    const onAbort = () => {
      clearTimeout(timer);
      reject(canceled(undefined, 'The run was canceled while waiting to retry.'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
