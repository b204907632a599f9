// Where the queue stands, computed once for the whole cluster from the database (the record
// of every run): counts in one query, the positions of any set of runs in one query (a
// window over the queued runs in queue order, the order every queue implementation takes
// them in), and the executing processes from the worker registry. Every replica answers
// the same.
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Executor, WorkerStatus } from './executor.ts';
import {
  listWorkerProcesses,
  mergeComfyServers,
  type WorkerProcessView,
} from './worker-registry.ts';

export class QueueService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly self: {
      /** This process's instance id, and its executor when it executes runs. */
      id: string;
      executor: Executor | null;
      heartbeatMs: number;
    },
  ) {}

  async counts(): Promise<{ queued: number; running: number }> {
    const groups = await this.prisma.run.groupBy({
      by: ['status'],
      where: { status: { in: ['QUEUED', 'RUNNING'] } },
      _count: { _all: true },
    });
    const count = (status: string) => groups.find((g) => g.status === status)?._count._all ?? 0;
    return { queued: count('QUEUED'), running: count('RUNNING') };
  }

  /** 1-based queue positions of those of `runIds` that are QUEUED. */
  async positions(runIds: readonly string[]): Promise<Map<string, number>> {
    if (!runIds.length) return new Map();
    // Each run's position is 1 + the queued runs ahead of it in queue order, counted on the
    // queue index (status, priority, queueRank, createdAt): no sort of the whole queue, so a
    // run asking for its place costs little even with thousands waiting.
    const rows = await this.prisma.$queryRaw<{ id: string; position: bigint | number }[]>`
      SELECT r.id::text AS id, 1 + (
        SELECT count(*) FROM "Run" q
        WHERE q.status = 'QUEUED' AND (
          q.priority > r.priority
          OR (q.priority = r.priority
              AND (q."queueRank", q."createdAt", q.id) < (r."queueRank", r."createdAt", r.id))
        )
      ) AS position
      FROM "Run" r
      WHERE r.id = ANY(${[...runIds]}::uuid[]) AND r.status = 'QUEUED'`;
    return new Map(rows.map((r) => [r.id, Number(r.position)]));
  }

  /** The live executing processes; this process's own entry is its state now. */
  async processes(): Promise<WorkerProcessView[]> {
    const live = await listWorkerProcesses(this.prisma, this.self.heartbeatMs * 3);
    const executor = this.self.executor;
    if (!executor) return live;
    return live.map((p) => (p.id === this.self.id ? { ...p, comfyui: executor.workers() } : p));
  }

  /** Every ComfyUI server of the cluster, once each. */
  async comfyServers(processes?: WorkerProcessView[]): Promise<WorkerStatus[]> {
    return mergeComfyServers(processes ?? (await this.processes()));
  }
}

/**
 * Batches the queue positions one GraphQL request asks for (a list of runs) into one query:
 * every `load` in the same tick shares it.
 */
export class PositionLoader {
  private pending: { ids: Set<string>; result: Promise<Map<string, number>> } | null = null;

  constructor(private readonly queue: QueueService) {}

  load(runId: string): Promise<number | null> {
    if (!this.pending) {
      const ids = new Set<string>();
      const result = new Promise<Map<string, number>>((resolve, reject) => {
        queueMicrotask(() => {
          this.pending = null;
          this.queue.positions([...ids]).then(resolve, reject);
        });
      });
      this.pending = { ids, result };
    }
    this.pending.ids.add(runId);
    return this.pending.result.then((positions) => positions.get(runId) ?? null);
  }
}

const loaders = new WeakMap<object, PositionLoader>();

/** The position loader of one request (keyed by its context object). */
export function positionLoader(context: object, queue: QueueService): PositionLoader {
  let loader = loaders.get(context);
  if (!loader) {
    loader = new PositionLoader(queue);
    loaders.set(context, loader);
  }
  return loader;
}
