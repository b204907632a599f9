// The run queue on BullMQ (REDIS_URL). One BullMQ queue per capability (a model in one
// mode), so a process fetches only jobs it can execute; a job per run, its id the run's id
// (enqueueing twice is harmless), its BullMQ priority the queue order (job-queue.ts).
//
// A process that has a free slot looks at the head of every queue it can serve, picks the
// first in queue order, and fetches it with a BullMQ worker in manual mode: the job is then
// locked to this process (BullMQ's token and lock) while it claims the run in the database,
// and completed right after. From then on the run's lease (scheduler.ts) says who executes
// it, across restarts, exactly as with the database queue. A process that dies between fetch
// and claim leaves a locked job: BullMQ's stalled-job check puts it back for another once
// the lock (the run lease, 30 s at most) has run out.
import { randomUUID } from 'node:crypto';
import type { ConnectionOptions, Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { PrismaClient, Run } from '../generated/prisma/client.ts';
import type { Logger } from '../log.ts';
import { loadRedis, type RedisClass } from '../redis.ts';
import {
  bullPriority,
  type Capability,
  type Claim,
  type JobQueue,
  type QueueEntry,
} from './job-queue.ts';

interface RunJobData {
  runId: string;
}

export interface BullJobQueueOptions {
  url: string;
  /** Key prefix in Redis (REDIS_PREFIX), so installations and tests can share one Redis. */
  prefix: string;
  log: Logger;
  /**
   * The run lease (RUN_LEASE_MS, default 30 s). A fetched job is locked to its process for
   * this long, at most 30 s (the lock only has to cover fetch → claim, milliseconds), and
   * BullMQ looks this often for jobs whose fetching process died: such a job is back in the
   * queue within two leases (one minute at most), as a dead process's claimed runs are taken
   * over after one.
   */
  leaseMs?: number;
}

/** The longest lock of a fetched job (and stalled-job check interval), whatever the lease. */
const MAX_STALL_MS = 30_000;

/** BullMQ queue names may not contain ':' (its key separator). */
export function queueName(c: Capability): string {
  return `runs.${c.modelKey}.${c.mode}`.replace(/:/g, '_');
}

export class BullJobQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  readonly claimsOnCreate = false;
  private readonly connection: Redis;
  private readonly queues = new Map<string, Queue<RunJobData>>();
  private readonly workers = new Map<string, Worker<RunJobData>>();
  private closed = false;

  /**
   * A queue on the Redis at `options.url`. BullMQ and ioredis are loaded now, not at the top
   * of this module (redis.ts says why).
   */
  static async open(prisma: PrismaClient, options: BullJobQueueOptions): Promise<BullJobQueue> {
    const [bullmq, Redis] = await Promise.all([import('bullmq'), loadRedis()]);
    return new BullJobQueue(prisma, options, bullmq, Redis);
  }

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: BullJobQueueOptions,
    private readonly bullmq: Pick<typeof import('bullmq'), 'Queue' | 'Worker'>,
    Redis: RedisClass,
  ) {
    this.connection = new Redis(options.url, { maxRetriesPerRequest: null, lazyConnect: true });
    this.connection.on('error', (error) =>
      options.log.warn('redis connection error', { role: 'queue', error }),
    );
  }

  /** The lock of a fetched job, and how often dead fetchers' jobs are looked for. */
  private get stallMs(): number {
    return Math.min(this.options.leaseMs ?? MAX_STALL_MS, MAX_STALL_MS);
  }

  private queue(name: string): Queue<RunJobData> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new this.bullmq.Queue<RunJobData>(name, {
        connection: this.connection as unknown as ConnectionOptions,
        prefix: this.options.prefix,
      });
      queue.on('error', (error) =>
        this.options.log.warn('bullmq queue error', { queue: name, error }),
      );
      this.queues.set(name, queue);
    }
    return queue;
  }

  private worker(name: string): Worker<RunJobData> {
    let worker = this.workers.get(name);
    if (!worker) {
      worker = new this.bullmq.Worker<RunJobData>(name, null, {
        connection: this.connection as unknown as ConnectionOptions,
        prefix: this.options.prefix,
        autorun: false,
        lockDuration: this.stallMs,
        stalledInterval: this.stallMs,
        // A job whose fetcher died is put back, however often that happens: the run is
        // the record, and it is claimed at most once.
        maxStalledCount: 1_000,
      });
      worker.on('error', (error) =>
        this.options.log.warn('bullmq worker error', { queue: name, error }),
      );
      void worker.startStalledCheckTimer();
      this.workers.set(name, worker);
    }
    return worker;
  }

  async enqueue(entry: QueueEntry): Promise<void> {
    await this.queue(queueName(entry)).add(
      'run',
      { runId: entry.runId },
      {
        jobId: entry.runId,
        priority: bullPriority(entry),
        timestamp: entry.createdAt.getTime(),
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }

  async remove(entry: Pick<QueueEntry, 'runId' | 'modelKey' | 'mode'>): Promise<void> {
    // A job locked by a fetching process is not removed: that process completes it.
    await this.queue(queueName(entry)).remove(entry.runId);
  }

  async next(capable: Capability[], claim: Claim): Promise<Run | null> {
    if (this.closed || !capable.length) return null;
    // A worker per queue this process serves: BullMQ's stalled-job check runs for each, so a
    // job whose fetching process died between fetch and claim comes back.
    for (const c of capable) this.worker(queueName(c));
    for (let tries = 0; tries < 10; tries++) {
      const heads = await Promise.all(
        capable.map(async (c) => {
          const name = queueName(c);
          const queue = this.queue(name);
          // A stalled job comes back to the wait list, which BullMQ serves before the
          // prioritized set; new jobs are prioritized.
          const [waiting, prioritized] = await Promise.all([
            queue.getWaiting(0, 0),
            queue.getPrioritized(0, 0),
          ]);
          const job = waiting[0] ?? prioritized[0];
          return job ? { name, job } : null;
        }),
      );
      const first = heads
        .filter((h) => h !== null)
        .sort(
          (a, b) =>
            a.job.opts.priority! - b.job.opts.priority! || a.job.timestamp - b.job.timestamp,
        )[0];
      if (!first) return null;
      const token = randomUUID();
      const job = (await this.worker(first.name).getNextJob(token, { block: false })) as
        | Job<RunJobData>
        | undefined;
      if (!job) continue; // another process fetched it first: look again
      let run: Run | null = null;
      try {
        run = await claim.run(job.data.runId);
      } finally {
        // Claimed (the run's lease owns it now) or gone from the queue: the job is done.
        await job.moveToCompleted(null, token, false).catch((error: unknown) =>
          this.options.log.warn('bullmq job completion failed', {
            runId: job.data.runId,
            error,
          }),
        );
      }
      if (run) return run;
    }
    // Every job tried was taken by another process first: others may still wait.
    claim.contended?.();
    return null;
  }

  async repair(): Promise<number> {
    if (this.closed) return 0;
    const stale = await this.prisma.run.findMany({
      where: { status: 'QUEUED', createdAt: { lt: new Date(Date.now() - 5_000) } },
      select: {
        id: true,
        modelKey: true,
        mode: true,
        priority: true,
        queueRank: true,
        createdAt: true,
      },
      take: 500,
    });
    let added = 0;
    for (const run of stale) {
      const queue = this.queue(queueName(run));
      if (await queue.getJob(run.id)) continue;
      await this.enqueue({ ...run, runId: run.id });
      added++;
    }
    if (added) this.options.log.warn('re-enqueued runs the queue had lost', { count: added });
    return added;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.workers.values()].map((w) => w.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.connection.disconnect();
  }
}
