// Takes runs from the job queue (job-queue.ts: the database, or BullMQ with REDIS_URL) and
// executes them. State lives in the database (Run.status), so a restart loses nothing:
// RUNNING runs are handed back to the engine, which reconciles them with their worker by
// prompt id; QUEUED runs are picked up again. Concurrency follows the executor's capacity,
// and a process asks the queue only for runs its ComfyUI servers can execute.
//
// Several processes may execute from one PostgreSQL database. A run has one owner at a time:
// the process that claims it writes its instance id and a lease (leaseExpiresAt) and renews
// the lease while it works. A starting process resumes its own runs at once (a restart of
// the same installation) and, like every running process, takes over other RUNNING runs
// only once their lease has expired, i.e. their owner is gone. Cancel requests and "the
// queue changed" travel over pub/sub, so they reach the executing process wherever it is.
import { randomUUID } from 'node:crypto';
import type { PrismaClient, Run } from '../generated/prisma/client.ts';
import { GenerationMode } from '../generated/prisma/enums.ts';
import { observeQueueWait } from '../instruments.ts';
import type { Logger } from '../log.ts';
import type { Catalog } from '../models/catalog.service.ts';
import type { PubSub } from '../pubsub.ts';
import type { RunEngine } from '../runs/run-engine.ts';
import type { RunEvents } from '../runs/run-events.ts';
import type { CreateClaim } from '../runs/runs.service.ts';
import type { Executor, WorkerStatus } from './executor.ts';
import type { Capability, JobQueue } from './job-queue.ts';
import { listWorkerProcesses } from './worker-registry.ts';

interface Active {
  ownerId: string;
  controller: AbortController;
  done: Promise<void>;
  /**
   * Counts against dispatch: the run is preparing (prompt stages, inputs), waiting for a
   * ComfyUI slot or holding one. False once its ComfyUI server let go of the prompt and the
   * run only downloads and stores outputs.
   */
  inFlight: boolean;
}

/** How long a claimed run stays its owner's without a renewal. */
export const DEFAULT_LEASE_MS = 30_000;

/** How long a run no live process can execute waits before it fails (registrations settle). */
const UNSERVABLE_GRACE_MS = 3_000;

/** A capability some process had within this long still counts as served (restarts). */
const UNSERVABLE_MEMORY_MS = 10 * 60_000;

/** Runs and registry rows name a capability `model/MODE`. */
export function capabilityKey(c: { modelKey: string; mode: string }): string {
  return `${c.modelKey}/${c.mode}`;
}

export class RunScheduler {
  private readonly active = new Map<string, Active>();
  private started = false;
  private stopping = false;
  private pumping = false;
  private again = false;
  /** Slots offered to runs being created in this process (reserve), not yet settled. */
  private reserved = 0;
  /** A claim of the pump in flight (counts as a slot taken until it answers). */
  private claiming = 0;
  /**
   * The last claim found no run this process can execute, and none was queued since: a slot
   * freed or a run ended then wakes the pump without asking the queue again (at the end of
   * every run that would be a statement on its way to RUN_FINISHED's subscribers). A run
   * queued anywhere (notify(true), the `queue` topic) and the safety-net poll clear it.
   */
  private empty = false;
  /**
   * Counts the wake-ups for queued runs (and claims that gave up under contention), so a
   * claim that raced one does not set `empty`.
   */
  private queuedWakes = 0;
  private timer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private stopHealthy: (() => void) | null = null;
  private readonly listeners: AsyncIterator<unknown>[] = [];

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      engine: RunEngine;
      executor: Executor;
      events: RunEvents;
      pubsub: PubSub;
      queue: JobQueue;
      catalog: Catalog;
      log: Logger;
      /** The worker registry's heartbeat (ms): a process is gone after three missed beats. */
      heartbeatMs: number;
      /** This installation's instance id: the lease owner of the runs it executes. */
      owner: string;
      /** Safety-net poll for capacity changes, expired leases and queue timeouts (ms). */
      pollMs: number;
      leaseMs?: number;
      /** A run still QUEUED this long after it was created fails with TIMED_OUT. */
      queueTimeoutMs: number;
      /**
       * Runs prepared beyond the ComfyUI slots (prompt stages done, waiting in the pool for
       * the next free slot, which they take in the tick it frees). Default: one per healthy
       * ComfyUI server.
       */
      dispatchAhead?: number | null;
      /**
       * The ComfyUI servers a process (live or gone; this installation's own: before this
       * start) last reported in the worker registry. Default: none known.
       */
      workersOf?: (processId: string) => Promise<string[]>;
    },
  ) {}

  private get leaseMs(): number {
    return this.deps.leaseMs ?? DEFAULT_LEASE_MS;
  }

  private leaseUntil(): Date {
    return new Date(Date.now() + this.leaseMs);
  }

  /**
   * Resumes this installation's runs left RUNNING by its previous process and any run
   * whose owner's lease has expired, then starts taking queued runs.
   */
  async start(options: { execute: boolean } = { execute: true }): Promise<void> {
    if (!options.execute) {
      // An API replica executes nothing, but still ends runs that wait too long or that no
      // process can execute: with no executing process at all, somebody has to.
      this.timer = setInterval(() => void this.upkeep(), this.deps.pollMs);
      this.timer.unref();
      return;
    }
    this.started = true;
    this.listen('cancel', (payload) => this.cancelRunning((payload as { runId: string }).runId));
    // A message without the flag (another version) counts as a run queued.
    this.listen('queue', (payload) =>
      this.notify((payload as { queued?: boolean }).queued !== false),
    );
    // The executor connects to its workers after start (it does not wait for them): queued
    // runs are taken once one is healthy, not at the next poll.
    this.stopHealthy = this.deps.executor.onHealthy(() => this.notify(true));
    await this.adoptOrphans(true);
    this.timer = setInterval(() => {
      void this.upkeep().then(() => this.notify(true));
    }, this.deps.pollMs);
    this.timer.unref();
    this.heartbeat = setInterval(
      () => {
        this.renewLeases().catch((error: unknown) =>
          // The next beat tries again; only a lease left unrenewed for leaseMs is lost.
          this.deps.log.warn('renewing run leases failed', { error }),
        );
      },
      Math.max(100, Math.floor(this.leaseMs / 3)),
    );
    this.heartbeat.unref();
    this.notify(true);
  }

  private ticks = 0;
  /** The upkeep under way (stop waits for it: the database closes after). */
  private upkeeping: Promise<void> | null = null;

  /**
   * Expired leases, queue timeouts, unservable runs; now and then, jobs the queue lost and
   * the queued-run counts of accounts that stopped creating runs.
   */
  private upkeep(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    this.upkeeping ??= this.keepUp().finally(() => {
      this.upkeeping = null;
    });
    return this.upkeeping;
  }

  private async keepUp(): Promise<void> {
    const tick = this.ticks++;
    try {
      await Promise.all([
        this.started ? this.adoptOrphans(false) : null,
        this.expireQueued(),
        this.failUnservable(),
        tick % 10 === 0 ? this.deps.queue.repair() : null,
        tick % 60 === 30 ? this.foldQueueCounts() : null,
      ]);
    } catch (error) {
      this.deps.log.error('queue upkeep failed', { error });
    }
  }

  /**
   * Adds the changes to accounts' counts of queued runs that no createRun has added yet
   * (an account that stopped creating runs still has its runs claimed and canceled) to
   * those counts, 100 accounts at a time; answers how many accounts it folded. See
   * "atelier_fold_queue_deltas" (migration queued_runs_counter).
   */
  async foldQueueCounts(): Promise<number> {
    const [row] = await this.deps.prisma.$queryRaw<{ folded: number }[]>`
      SELECT "atelier_fold_queue_deltas"(100) AS folded`;
    return row?.folded ?? 0;
  }

  /**
   * Stops taking runs and detaches from the ones executing (they stay RUNNING for the next
   * start). An upkeep under way ends first.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.stopHealthy?.();
    await Promise.all([...this.listeners.map((l) => l.return?.()), this.upkeeping]);
  }

  /** Runs `handle` for every message on a pub/sub topic until stop(). */
  private listen(topic: 'cancel' | 'queue', handle: (payload: unknown) => void): void {
    const iterator = this.deps.pubsub.subscribe(topic)[Symbol.asyncIterator]();
    this.listeners.push(iterator);
    const next = (): void => {
      iterator.next().then(
        (result) => {
          if (result.done) return;
          handle(result.value);
          next();
        },
        (error: unknown) => this.deps.log.error('pub/sub listener ended', { topic, error }),
      );
    };
    next();
  }

  /**
   * Claims RUNNING runs nobody owns any more (lease expired) — at start, also this
   * installation's own — and launches them; the engine reconciles each with its worker.
   */
  private async adoptOrphans(atStart: boolean): Promise<void> {
    if (this.stopping) return;
    const { prisma, log, owner } = this.deps;
    const now = new Date();
    const orphanable = {
      status: 'RUNNING' as const,
      OR: [
        { leaseExpiresAt: null },
        { leaseExpiresAt: { lt: now } },
        ...(atStart ? [{ leaseOwner: owner }] : []),
      ],
    };
    const candidates = await prisma.run.findMany({
      where: orphanable,
      orderBy: { startedAt: 'asc' },
      select: {
        id: true,
        leaseOwner: true,
        workerUrl: true,
        attemptId: true,
        modelKey: true,
        mode: true,
        priority: true,
        queueRank: true,
        createdAt: true,
      },
    });
    const capable = new Set(this.capabilities().healthy.map(capabilityKey));
    // Servers that did not answer in this pass: asked once, not once per run.
    const silent = new Set<string>();
    for (const c of candidates) {
      if (this.stopping || this.active.has(c.id)) continue;
      const own = c.leaseOwner === owner;
      // A prompt already on a ComfyUI server is followed there by whoever adopts the run. A
      // run that never got that far goes back to the queue unless this process can run it
      // now: the queue then gives it to a process that can (or it fails as unservable).
      let here = own || c.workerUrl !== null || (capable.has(capabilityKey(c)) && this.admits());
      // Its worker is written as its prompt leaves, not before: a process that went away in
      // between left its prompt on a server nobody recorded. Requeued, the run would be
      // claimed under a new attempt id and its prompt run a second time: it is looked for
      // first (on the servers of the process that held it and ours) and, found, followed.
      let found: string | null = null;
      // Where the process that held it sent prompts (its registry row outlives it an hour),
      // read once for both uses below.
      let previous: string[] | null = null;
      const previousWorkers = async () =>
        (previous ??= c.leaseOwner ? await this.workersOf(c.leaseOwner) : []);
      if (!here && c.attemptId && this.deps.executor.find) {
        const where = await this.deps.executor.find(c.attemptId, await previousWorkers(), silent);
        found = where.at;
        // A server that did not answer may have it: a process that can run the run takes it
        // over (and asks again before it submits anything).
        here = found !== null || (where.unanswered && capable.has(capabilityKey(c)));
      }
      if (!here) {
        const { count } = await prisma.run.updateMany({
          where: { id: c.id, ...orphanable },
          data: { status: 'QUEUED', leaseOwner: null, leaseExpiresAt: null },
        });
        if (count === 1) {
          log.info('requeued a run whose process is gone', { runId: c.id });
          await this.deps.queue
            .enqueue({ ...c, runId: c.id })
            .catch((error: unknown) =>
              log.warn('could not enqueue a requeued run', { runId: c.id, error }),
            );
          this.deps.events.queueChanged(true);
        }
        continue;
      }
      const { count } = await prisma.run.updateMany({
        where: { id: c.id, ...orphanable, ...(found ? { workerUrl: null } : {}) },
        data: {
          leaseOwner: owner,
          leaseExpiresAt: this.leaseUntil(),
          ...(found ? { workerUrl: found } : {}),
        },
      });
      if (count !== 1) continue; // another process adopted it first
      const run = await prisma.run.findUnique({ where: { id: c.id } });
      if (run?.status !== 'RUNNING') continue;
      log.info('resuming run left running', { runId: run.id, worker: run.workerUrl });
      // With no worker recorded, the prompt may be on one of the former process's servers.
      this.launch(run, false, true, run.workerUrl === null ? await previousWorkers() : []);
    }
  }

  /**
   * Fails runs that waited in the queue longer than the queue timeout (no healthy worker,
   * or a queue that long), so they end with RUN_FINISHED instead of waiting forever. Each is
   * claimed first, so a run another process just took is left alone.
   */
  private async expireQueued(): Promise<void> {
    if (this.stopping) return;
    const { prisma, queueTimeoutMs } = this.deps;
    const cutoff = new Date(Date.now() - queueTimeoutMs);
    const expired = await prisma.run.findMany({
      where: { status: 'QUEUED', createdAt: { lt: cutoff } },
      select: { id: true, modelKey: true, mode: true },
      take: 100,
    });
    for (const run of expired) {
      await this.failQueued(run, {
        code: 'TIMED_OUT',
        message: `No worker took the run within ${Math.round(queueTimeoutMs / 1000)} s (QUEUE_TIMEOUT_MS).`,
      });
    }
  }

  /**
   * Fails runs that no executing process seen in the last ten minutes could run (no ComfyUI
   * server had the node classes and model files their model needs in their mode), after a
   * short grace so a process that is starting can register first.
   */
  private async failUnservable(): Promise<void> {
    if (this.stopping) return;
    const { prisma } = this.deps;
    // What processes seen lately could execute: a worker restarting (or briefly gone) still
    // serves its models; its runs wait for it, up to the queue timeout.
    const recent = await listWorkerProcesses(
      prisma,
      Math.min(this.deps.queueTimeoutMs, UNSERVABLE_MEMORY_MS),
    );
    const served = new Set(recent.flatMap((p) => p.capabilities));
    if (served.has('*') || !recent.length) return; // unknown yet, or nobody to ask: the timeout decides
    // Only the runs no process serves are read: this runs every second, and reading queued
    // runs to drop the served ones in JavaScript parsed up to 500 rows each time under a
    // burst (a stall of the event loop every second: the cheap query's tail in bench/).
    // (A mode this version does not know, from another version's process, serves none of
    // these runs.)
    const modes = new Set<string>(Object.values(GenerationMode));
    const servedPairs = [...served].flatMap((key) => {
      const slash = key.lastIndexOf('/');
      const mode = key.slice(slash + 1);
      return modes.has(mode)
        ? [{ modelKey: key.slice(0, slash), mode: mode as GenerationMode }]
        : [];
    });
    const waiting = await prisma.run.findMany({
      where: {
        status: 'QUEUED',
        createdAt: { lt: new Date(Date.now() - UNSERVABLE_GRACE_MS) },
        NOT: servedPairs,
      },
      select: { id: true, modelKey: true, mode: true },
      take: 500,
    });
    for (const run of waiting) {
      await this.failQueued(run, {
        code: 'MODEL_UNAVAILABLE',
        message: `No worker has the node classes and model files model ${run.modelKey} needs for ${run.mode}.`,
      });
    }
  }

  /** Claims a queued run only to fail it (so a run another process just took is left alone). */
  private async failQueued(
    run: { id: string; modelKey: string; mode: GenerationMode },
    error: { code: string; message: string },
  ): Promise<void> {
    const { prisma, engine, owner, queue } = this.deps;
    const { count } = await prisma.run.updateMany({
      where: { id: run.id, status: 'QUEUED' },
      data: { status: 'RUNNING', leaseOwner: owner, leaseExpiresAt: this.leaseUntil() },
    });
    if (count !== 1) return;
    await engine.finish(run.id, 'FAILED', error);
    this.deps.events.queueChanged();
    await queue
      .remove({ runId: run.id, modelKey: run.modelKey, mode: run.mode })
      .catch((e: unknown) =>
        this.deps.log.warn('could not remove a failed run from the queue', { error: e }),
      );
  }

  /** Extends the leases of the runs this process executes. */
  private async renewLeases(): Promise<void> {
    const ids = [...this.active.keys()];
    if (!ids.length || this.stopping) return;
    await this.deps.prisma.run.updateMany({
      where: { id: { in: ids }, status: 'RUNNING', leaseOwner: this.deps.owner },
      data: { leaseExpiresAt: this.leaseUntil() },
    });
  }

  /** Waits until every run this process was executing has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.active.values()].map((a) => a.done));
  }

  /** Number of runs executing in this process. */
  get running(): number {
    return this.active.size;
  }

  isActive(runId: string): boolean {
    return this.active.has(runId);
  }

  /**
   * A slot for a run this process is creating, when it would take a queued run now (the
   * database queue only): the create statement then claims the run itself unless queued runs
   * this process could execute are waiting (RunsService.create, "atelier_create_run"). This
   * saves the claim statement between createRun and the prompt going out. Null when the
   * process is not executing, the queue is BullMQ, or no slot is free.
   */
  reserve(capability: string): CreateClaim | null {
    if (!this.started || this.stopping || !this.deps.queue.claimsOnCreate) return null;
    if (!this.admits()) return null;
    const capable = this.capabilities().healthy.map(capabilityKey);
    if (!capable.includes(capability)) return null;
    this.reserved++;
    let open = true;
    const settle = () => {
      if (!open) return false;
      open = false;
      this.reserved--;
      return true;
    };
    return {
      owner: this.deps.owner,
      leaseExpiresAt: this.leaseUntil(),
      attemptId: randomUUID(),
      capable,
      started: (run) => {
        if (!settle()) return;
        // Stopping meanwhile: the lease runs out and another process (or the next start)
        // takes the run over.
        if (!this.stopping) this.launch(run, true);
        observeQueueWait(run);
        this.deps.events.queueChanged();
      },
      release: () => {
        // The slot may be taken by a queued run now.
        if (settle()) this.notify();
      },
    };
  }

  /**
   * Wakes the queue (a run was created, one finished, capacity changed). `queued`: a run may
   * have entered the queue, so it is asked even when its last answer was "nothing".
   */
  notify(queued = false): void {
    if (queued) {
      this.empty = false;
      this.queuedWakes++;
    }
    void this.pump().catch((error: unknown) => this.deps.log.error('queue pump failed', { error }));
  }

  /** Cancels a run executing in this process; false when it is not executing here. */
  cancelRunning(runId: string): boolean {
    const active = this.active.get(runId);
    if (!active) return false;
    active.controller.abort();
    return true;
  }

  private async pump(): Promise<void> {
    if (!this.started || this.stopping) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        while (!this.stopping && !this.empty && this.admits()) {
          this.claiming++;
          const wakes = this.queuedWakes;
          let run: Run | null;
          try {
            run = await this.claimNext();
          } finally {
            this.claiming--;
          }
          if (!run) {
            if (wakes === this.queuedWakes) this.empty = true;
            break;
          }
          observeQueueWait(run);
          // A first attempt has nothing to read back (no stage done, no output stored).
          this.launch(run, run.attempt === 1);
        }
      } while (this.again && !this.stopping);
    } finally {
      this.pumping = false;
    }
  }

  /** Runs this process prepares, waits a slot for, or has on a ComfyUI server. */
  private inFlight(): number {
    let n = 0;
    for (const a of this.active.values()) if (a.inFlight) n++;
    return n;
  }

  /**
   * Whether to take another run: its ComfyUI slots plus a few runs prepared ahead. A run
   * stops counting when its server is done with its prompt, not when its outputs are
   * stored, so storing never keeps a GPU waiting.
   */
  private admits(): boolean {
    const { executor, dispatchAhead } = this.deps;
    const capacity = executor.capacity();
    if (capacity <= 0) return false;
    const ahead = dispatchAhead ?? executor.workers().filter((w) => w.healthy).length;
    return this.inFlight() + this.reserved + this.claiming < capacity + ahead;
  }

  /** This process's capabilities: what its healthy workers can run now, and what any could. */
  private capabilities(): { healthy: Capability[]; known: string[] } {
    const { catalog, executor } = this.deps;
    const healthy: Capability[] = [];
    const known: string[] = [];
    for (const model of catalog.models) {
      for (const [mode, req] of Object.entries(model.requirements)) {
        if (!req) continue;
        const requirements = { nodeClasses: req.nodes, modelFiles: req.modelFiles };
        const c = { modelKey: model.key, mode: mode as GenerationMode };
        if (executor.canRun(requirements)) healthy.push(c);
        if (executor.mayRun(requirements)) known.push(capabilityKey(c));
      }
    }
    return { healthy, known: executor.capabilitiesKnown() ? known : ['*'] };
  }

  /** What the registry publishes for this process. */
  registryState(): { comfyui: WorkerStatus[]; capabilities: string[] } {
    return { comfyui: this.deps.executor.workers(), capabilities: this.capabilities().known };
  }

  /** Picks the next queued run this process can execute and claims it; null when none is left. */
  private async claimNext(): Promise<Run | null> {
    return this.deps.queue.next(this.capabilities().healthy, {
      owner: this.deps.owner,
      leaseExpiresAt: () => this.leaseUntil(),
      run: (id) => this.claim(id),
      claimed: () => this.deps.events.queueChanged(),
      // Runs are still waiting: the queue is not marked empty after this answer.
      contended: () => {
        this.queuedWakes++;
      },
    });
  }

  /** Marks a queued run RUNNING with this process's lease; null when it is not QUEUED any more. */
  private async claim(id: string): Promise<Run | null> {
    const { prisma, events } = this.deps;
    // One statement: the conditional update returns the claimed row.
    const run = await prisma.run
      .update({
        where: { id, status: 'QUEUED' },
        data: {
          status: 'RUNNING',
          startedAt: new Date(),
          attempt: { increment: 1 },
          attemptId: randomUUID(),
          workerUrl: null,
          leaseOwner: this.deps.owner,
          leaseExpiresAt: this.leaseUntil(),
        },
      })
      .catch((error: { code?: string }) => {
        if (error.code === 'P2025') return null; // not QUEUED any more (or gone)
        throw error;
      });
    if (run) events.queueChanged();
    return run;
  }

  /** The ComfyUI servers a process last reported; none when unknown. */
  private async workersOf(processId: string): Promise<string[]> {
    if (!this.deps.workersOf) return [];
    return this.deps.workersOf(processId).catch((error: unknown) => {
      this.deps.log.warn('could not read the worker registry', { processId, error });
      return [];
    });
  }

  private launch(run: Run, fresh = false, adopted = false, previousWorkers: string[] = []): void {
    const controller = new AbortController();
    if (run.errorCode === 'CANCEL_REQUESTED') controller.abort();
    const entry: Active = {
      ownerId: run.ownerId,
      controller,
      done: Promise.resolve(),
      inFlight: true,
    };
    const done = this.deps.engine
      .execute(run, controller.signal, () => this.stopping, {
        fresh,
        adopted,
        previousWorkers,
        onSlot: (held) => {
          if (entry.inFlight === held) return;
          entry.inFlight = held;
          // The slot went back to the pool, which handed it to a run waiting for one in the
          // same tick; take the next run now so one is prepared again.
          if (!held) this.notify();
        },
      })
      .catch((error: unknown) =>
        this.deps.log.error('run engine crashed', { runId: run.id, error }),
      )
      .finally(() => {
        this.active.delete(run.id);
        this.deps.events.queueChanged();
        this.notify();
      });
    entry.done = done;
    this.active.set(run.id, entry);
  }
}
