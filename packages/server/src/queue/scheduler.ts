// The in-process queue. State lives in the database (Run.status), so a restart loses
// nothing: RUNNING runs are handed back to the engine, which reconciles them with their
// worker by prompt id; QUEUED runs are picked up again. Order: priority, then fairness across
// owners (fewest runs executing first), then age. Concurrency follows the executor's capacity.
import { randomUUID } from 'node:crypto';
import type { PrismaClient, Run } from '../generated/prisma/client.ts';
import type { Logger } from '../log.ts';
import type { RunEvents } from '../runs/run-events.ts';
import type { Executor } from './executor.ts';
import type { RunEngine } from './run-engine.ts';

interface Active {
  ownerId: string;
  controller: AbortController;
  done: Promise<void>;
}

export class RunScheduler {
  private readonly active = new Map<string, Active>();
  private stopping = false;
  private pumping = false;
  private again = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      engine: RunEngine;
      executor: Executor;
      events: RunEvents;
      log: Logger;
      /** Safety-net poll for capacity changes (ms). */
      pollMs: number;
    },
  ) {}

  /** Resumes runs left RUNNING by a previous process, then starts taking queued runs. */
  async start(): Promise<void> {
    const orphans = await this.deps.prisma.run.findMany({
      where: { status: 'RUNNING' },
      orderBy: { startedAt: 'asc' },
    });
    for (const run of orphans) {
      this.deps.log.info('resuming run left running', { runId: run.id, worker: run.workerUrl });
      this.launch(run);
    }
    this.timer = setInterval(() => this.notify(), this.deps.pollMs);
    this.timer.unref();
    this.notify();
  }

  /** Stops taking runs and detaches from the ones executing (they stay RUNNING for the next start). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
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
    if (this.stopping) return;
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
