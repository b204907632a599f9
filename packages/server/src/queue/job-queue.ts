// The queue of runs waiting for an executing process, behind one interface with two
// implementations: the database itself (the embedded default, and several processes on one
// PostgreSQL without Redis) and BullMQ (REDIS_URL; bullmq-queue.ts). Nothing above this
// interface knows which one runs.
//
// The database stays the record of every run: a run is QUEUED in its row before it is
// enqueued, and an executing process owns it once it has *claimed* it there (QUEUED →
// RUNNING, one conditional update, with a lease: scheduler.ts). The queue decides which
// process takes which run next, in one order everywhere: priority (high first), then
// fairness across accounts (queueRank: how many of the owner's runs were already waiting,
// low first), then age. A process asks only for runs it can execute: its capability keys
// (model and mode) are those whose node classes and model files its ComfyUI servers have.
import type { Prisma, PrismaClient, Run } from '../generated/prisma/client.ts';
import type { GenerationMode } from '../generated/prisma/enums.ts';

/** What a queue needs to know of a run to order it. */
export interface QueueEntry {
  runId: string;
  modelKey: string;
  mode: GenerationMode;
  priority: number;
  queueRank: number;
  createdAt: Date;
}

/** A kind of job an executing process can take: a model in one mode. */
export interface Capability {
  modelKey: string;
  mode: GenerationMode;
}

/** Claims a queued run for this process; null when it left the queue or another took it. */
export type ClaimRun = (runId: string) => Promise<Run | null>;

export interface JobQueue {
  readonly kind: 'database' | 'bullmq';
  /** Makes a run committed as QUEUED visible to executing processes. */
  enqueue(entry: QueueEntry): Promise<void>;
  /** Drops the job of a run that left the queue without being claimed (canceled, timed out). */
  remove(entry: Pick<QueueEntry, 'runId' | 'modelKey' | 'mode'>): Promise<void>;
  /**
   * Claims the first run in queue order among those this process can execute; null when
   * none is waiting.
   */
  next(capable: Capability[], claim: ClaimRun): Promise<Run | null>;
  /**
   * Puts back runs QUEUED in the database that the queue does not hold (a Redis that lost
   * its data, an enqueue that failed after its run was committed). Safe to call anywhere.
   */
  repair(): Promise<number>;
  close(): Promise<void>;
}

/** The queue order, for Prisma queries. */
export const QUEUE_ORDER: Prisma.RunOrderByWithRelationInput[] = [
  { priority: 'desc' },
  { queueRank: 'asc' },
  { createdAt: 'asc' },
  { id: 'asc' },
];

/**
 * The queue kept in the database: the QUEUED rows are the jobs. Processes find new work on
 * the `queue` pub/sub topic and a short poll; the conditional claim makes one of them win.
 */
export class DatabaseJobQueue implements JobQueue {
  readonly kind = 'database' as const;

  constructor(private readonly prisma: PrismaClient) {}

  async enqueue(): Promise<void> {}

  async remove(): Promise<void> {}

  async repair(): Promise<number> {
    return 0;
  }

  async next(capable: Capability[], claim: ClaimRun): Promise<Run | null> {
    if (!capable.length) return null;
    const where: Prisma.RunWhereInput = {
      status: 'QUEUED',
      OR: capable.map((c) => ({ modelKey: c.modelKey, mode: c.mode })),
    };
    for (let tries = 0; tries < 5; tries++) {
      const candidates = await this.prisma.run.findMany({
        where,
        orderBy: QUEUE_ORDER,
        take: 5,
        select: { id: true },
      });
      if (!candidates.length) return null;
      for (const { id } of candidates) {
        const run = await claim(id);
        if (run) return run;
        // Someone else (a cancel, another process) took it: try the next one.
      }
    }
    return null;
  }

  async close(): Promise<void> {}
}

/**
 * BullMQ's priority for a run: lower runs first. Priority −100..100 first (high first), then
 * the fairness rank (capped), so equal runs keep their arrival order. Always ≥ 1: BullMQ
 * keeps every prioritized job in one sorted set.
 */
export function bullPriority(entry: Pick<QueueEntry, 'priority' | 'queueRank'>): number {
  const priority = Math.min(100, Math.max(-100, entry.priority));
  const rank = Math.min(999, Math.max(0, entry.queueRank));
  return (100 - priority) * 1000 + rank + 1;
}
