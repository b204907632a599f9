// The in-process queue. State lives in the database (Run.status), so a restart loses
// nothing: RUNNING runs are handed back to the engine, which reconciles them with their
// worker by prompt id; QUEUED runs are picked up again. Order: priority, then fairness across
// owners (fewest runs executing first), then age. Concurrency follows the executor's capacity.
//
// Several processes may execute from one PostgreSQL database. A run has one owner at a time:
// the process that claims it writes its instance id and a lease (leaseExpiresAt) and renews
// the lease while it works. A starting process resumes its own runs at once (a restart of
// the same installation) and, like every running process, takes over other RUNNING runs
// only once their lease has expired, i.e. their owner is gone. Cancel requests and "the
// queue changed" travel over pub/sub, so they reach the executing process wherever it is.
import { randomUUID } from 'node:crypto';
import type { PrismaClient, Run } from '../generated/prisma/client.ts';
import type { Logger } from '../log.ts';
import type { PubSub } from '../pubsub.ts';
import type { RunEvents } from '../runs/run-events.ts';
import type { Executor } from './executor.ts';
import type { RunEngine } from './run-engine.ts';

interface Active {
  ownerId: string;
  controller: AbortController;
  done: Promise<void>;
}

/** How long a claimed run stays its owner's without a renewal. */
export const DEFAULT_LEASE_MS = 30_000;

export class RunScheduler {
  private readonly active = new Map<string, Active>();
  private started = false;
  private stopping = false;
  private pumping = false;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly listeners: AsyncIterator<unknown>[] = [];

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      engine: RunEngine;
      executor: Executor;
      events: RunEvents;
      pubsub: PubSub;
      log: Logger;
      /** This installation's instance id: the lease owner of the runs it executes. */
      owner: string;
      /** Safety-net poll for capacity changes, expired leases and queue timeouts (ms). */
      pollMs: number;
      leaseMs?: number;
      /** A run still QUEUED this long after it was created fails with TIMED_OUT. */
      queueTimeoutMs: number;
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
  async start(): Promise<void> {
    this.started = true;
    this.listen('cancel', (payload) => this.cancelRunning((payload as { runId: string }).runId));
    this.listen('queue', () => this.notify());
    await this.adoptOrphans(true);
    this.timer = setInterval(() => {
      Promise.all([this.adoptOrphans(false), this.expireQueued()]).then(
        () => this.notify(),
        (error: unknown) => this.deps.log.error('queue upkeep failed', { error: String(error) }),
      );
    }, this.deps.pollMs);
    this.timer.unref();
    this.heartbeat = setInterval(
      () => {
        this.renewLeases().catch((error: unknown) =>
          // The next beat tries again; only a lease left unrenewed for leaseMs is lost.
          this.deps.log.warn('renewing run leases failed', { error: String(error) }),
        );
      },
      Math.max(100, Math.floor(this.leaseMs / 3)),
    );
    this.heartbeat.unref();
    this.notify();
  }

  /** Stops taking runs and detaches from the ones executing (they stay RUNNING for the next start). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    await Promise.all(this.listeners.map((l) => l.return?.()));
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
        (error: unknown) =>
          this.deps.log.error('pub/sub listener ended', { topic, error: String(error) }),
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
      select: { id: true },
    });
    for (const { id } of candidates) {
      if (this.stopping || this.active.has(id)) continue;
      const { count } = await prisma.run.updateMany({
        where: { id, ...orphanable },
        data: { leaseOwner: owner, leaseExpiresAt: this.leaseUntil() },
      });
      if (count !== 1) continue; // another process adopted it first
      const run = await prisma.run.findUnique({ where: { id } });
      if (run?.status !== 'RUNNING') continue;
      log.info('resuming run left running', { runId: run.id, worker: run.workerUrl });
      this.launch(run);
    }
  }

  /**
   * Fails runs that waited in the queue longer than the queue timeout (no healthy worker,
   * or a queue that long), so they end with RUN_FINISHED instead of waiting forever. Each is
   * claimed first, so a run another process just took is left alone.
   */
  private async expireQueued(): Promise<void> {
    if (this.stopping) return;
    const { prisma, engine, owner, queueTimeoutMs } = this.deps;
    const cutoff = new Date(Date.now() - queueTimeoutMs);
    const expired = await prisma.run.findMany({
      where: { status: 'QUEUED', createdAt: { lt: cutoff } },
      select: { id: true },
      take: 100,
    });
    for (const { id } of expired) {
      const { count } = await prisma.run.updateMany({
        where: { id, status: 'QUEUED' },
        data: { status: 'RUNNING', leaseOwner: owner, leaseExpiresAt: this.leaseUntil() },
      });
      if (count !== 1) continue;
      await engine.finish(id, 'FAILED', {
        code: 'TIMED_OUT',
        message: `No worker took the run within ${Math.round(queueTimeoutMs / 1000)} s (QUEUE_TIMEOUT_MS).`,
      });
      this.deps.events.queueChanged();
    }
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

  /** Wakes the queue (a run was created, one finished, capacity changed). */
  notify(): void {
    void this.pump().catch((error: unknown) =>
      this.deps.log.error('queue pump failed', { error: String(error) }),
    );
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
        while (!this.stopping && this.active.size < this.deps.executor.capacity()) {
          const run = await this.claimNext();
          if (!run) break;
          this.launch(run);
        }
      } while (this.again && !this.stopping);
    } finally {
      this.pumping = false;
    }
  }

  /** Picks the next queued run and marks it RUNNING atomically; null when none is left. */
  private async claimNext(): Promise<Run | null> {
    const { prisma, events } = this.deps;
    for (let tries = 0; tries < 5; tries++) {
      const candidates = await prisma.run.findMany({
        where: { status: 'QUEUED' },
        orderBy: [{ priority: 'desc' }, { createdAt: 'asc' }],
        take: 50,
        select: { id: true, ownerId: true, priority: true },
      });
      if (!candidates.length) return null;
      const top = candidates[0]!.priority;
      const load = new Map<string, number>();
      for (const a of this.active.values()) load.set(a.ownerId, (load.get(a.ownerId) ?? 0) + 1);
      const pick = candidates
        .filter((c) => c.priority === top)
        .reduce((best, c) =>
          (load.get(c.ownerId) ?? 0) < (load.get(best.ownerId) ?? 0) ? c : best,
        );
      const { count } = await prisma.run.updateMany({
        where: { id: pick.id, status: 'QUEUED' },
        data: {
          status: 'RUNNING',
          startedAt: new Date(),
          attempt: { increment: 1 },
          attemptId: randomUUID(),
          workerUrl: null,
          leaseOwner: this.deps.owner,
          leaseExpiresAt: this.leaseUntil(),
        },
      });
      if (count === 1) {
        events.queueChanged();
        return prisma.run.findUniqueOrThrow({ where: { id: pick.id } });
      }
      // Someone else (a cancel, another process) took it: look again.
    }
    return null;
  }

  private launch(run: Run): void {
    const controller = new AbortController();
    if (run.errorCode === 'CANCEL_REQUESTED') controller.abort();
    const done = this.deps.engine
      .execute(run, controller.signal, () => this.stopping)
      .catch((error: unknown) =>
        this.deps.log.error('run engine crashed', { runId: run.id, error: String(error) }),
      )
      .finally(() => {
        this.active.delete(run.id);
        this.deps.events.queueChanged();
        this.notify();
      });
    this.active.set(run.id, { ownerId: run.ownerId, controller, done });
  }
}
