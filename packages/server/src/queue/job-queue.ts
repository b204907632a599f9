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
import { randomUUID } from 'node:crypto';
import { Prisma, type PrismaClient, type Run } from '../generated/prisma/client.ts';
import type { GenerationMode } from '../generated/prisma/enums.ts';
import { runFromJson } from '../runs/run-row.ts';

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

/**
 * How this process claims a queued run: QUEUED → RUNNING, a new attempt (attempt + 1, a new
 * attemptId), no worker yet, and this process's lease.
 */
export interface Claim {
  /** The lease owner (this installation's instance id). */
  owner: string;
  /** When the lease ends unless renewed. */
  leaseExpiresAt(): Date;
  /** Claims one run by id; null when it left the queue or another process took it. */
  run(runId: string): Promise<Run | null>;
  /** Told of a run the queue claimed in its own statement (instead of through `run`). */
  claimed(run: Run): void;
  /**
   * Told when `next` answers null with runs still waiting: other processes kept taking the
   * ones it tried, and it gave up. The queue is not empty, so the caller asks again at its
   * next wake-up.
   */
  contended?(): void;
}

export interface JobQueue {
  readonly kind: 'database' | 'bullmq';
  /**
   * A run may be claimed by the statement that creates it (RunsService.create with a
   * CreateClaim): the queue needs no job for it. The database queue only: BullMQ's claims
   * go through its own jobs.
   */
  readonly claimsOnCreate: boolean;
  /** Makes a run committed as QUEUED visible to executing processes. */
  enqueue(entry: QueueEntry): Promise<void>;
  /** Drops the job of a run that left the queue without being claimed (canceled, timed out). */
  remove(entry: Pick<QueueEntry, 'runId' | 'modelKey' | 'mode'>): Promise<void>;
  /**
   * Claims the first run in queue order among those this process can execute; null when
   * none is waiting.
   */
  next(capable: Capability[], claim: Claim): Promise<Run | null>;
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
  readonly claimsOnCreate = true;

  constructor(private readonly prisma: PrismaClient) {}

  async enqueue(): Promise<void> {}

  async remove(): Promise<void> {}

  async repair(): Promise<number> {
    return 0;
  }

  /**
   * Picks and claims in ONE statement: the first queued run in queue order that this process
   * can execute, locked with SKIP LOCKED (a run another process is claiming at this moment is
   * passed over, not waited for) and updated in the same statement, which returns the row.
   */
  async next(capable: Capability[], claim: Claim): Promise<Run | null> {
    if (!capable.length) return null;
    const now = Prisma.sql`(${new Date().toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
    const lease = Prisma.sql`(${claim.leaseExpiresAt().toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
    // One array parameter ("model/MODE" pairs), not an OR of two parameters per pair: with
    // dozens of pairs, planning the OR chain cost PostgreSQL about three times the claim.
    const servable = JSON.stringify(capable.map((c) => `${c.modelKey}/${c.mode}`));
    const rows = await this.prisma.$queryRaw<{ run: Record<string, unknown> }[]>`
      UPDATE "Run" AS r SET "status" = 'RUNNING', "startedAt" = ${now},
        "attempt" = r."attempt" + 1, "attemptId" = ${randomUUID()}::uuid, "workerUrl" = NULL,
        "leaseOwner" = ${claim.owner}, "leaseExpiresAt" = ${lease}, "updatedAt" = ${now}
      WHERE r."status" = 'QUEUED' AND r."id" = (
        SELECT "id" FROM "Run" WHERE "status" = 'QUEUED'
          AND ("modelKey" || '/' || "mode"::text) IN (SELECT jsonb_array_elements_text(${servable}::jsonb))
        ORDER BY "priority" DESC, "queueRank" ASC, "createdAt" ASC, "id" ASC
        LIMIT 1 FOR UPDATE SKIP LOCKED
      )
      RETURNING row_to_json(r.*) AS run`;
    if (!rows[0]) return null;
    const run = runFromJson(rows[0].run);
    claim.claimed(run);
    return run;
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
