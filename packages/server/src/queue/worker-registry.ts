// Executing processes register in the database while they live (WorkerProcess): on every
// heartbeat a process rewrites its row with its ComfyUI servers' state and the capabilities
// they have. Every replica reads the live rows, so `queue.workers` shows the whole cluster,
// and the scheduler knows which runs no live process could ever execute.
import { hostname } from 'node:os';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../log.ts';
import type { WorkerStatus } from './executor.ts';

export interface WorkerProcessView {
  id: string;
  host: string;
  pid: number;
  role: string;
  startedAt: Date;
  heartbeatAt: Date;
  comfyui: WorkerStatus[];
  /** Capability keys (`model/MODE`), or ['*'] while not known. */
  capabilities: string[];
}

/** A row older than this many heartbeats belongs to a process that is gone. */
const STALE_BEATS = 3;

export class WorkerRegistry {
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt = new Date();
  /** The ComfyUI servers this installation's row listed before this start rewrote it. */
  private previous: string[] = [];

  constructor(
    private readonly prisma: PrismaClient,
    private readonly self: {
      id: string;
      role: 'serve' | 'worker';
      heartbeatMs: number;
      log: Logger;
      /** This process's state now. */
      state(): { comfyui: WorkerStatus[]; capabilities: string[] };
    },
  ) {}

  private get staleMs(): number {
    return this.self.heartbeatMs * STALE_BEATS;
  }

  /** Writes this process's row now and then on every heartbeat. */
  async start(): Promise<void> {
    // Rows of processes long gone are only clutter.
    await this.prisma.workerProcess.deleteMany({
      where: { heartbeatAt: { lt: new Date(Date.now() - 3_600_000) } },
    });
    this.previous = await this.reported(this.self.id);
    await this.beat();
    this.timer = setInterval(() => {
      this.beat().catch((error: unknown) =>
        this.self.log.warn('worker heartbeat failed', { error }),
      );
    }, this.self.heartbeatMs);
    this.timer.unref();
  }

  /**
   * The ComfyUI servers a process last reported (its row outlives it an hour); for this
   * installation, those of its life before this start: a run it held then may have a prompt
   * on a server it no longer uses.
   */
  async workersOf(processId: string): Promise<string[]> {
    return processId === this.self.id ? this.previous : this.reported(processId);
  }

  private async reported(processId: string): Promise<string[]> {
    const row = await this.prisma.workerProcess.findUnique({
      where: { id: processId },
      select: { comfyui: true },
    });
    const servers = Array.isArray(row?.comfyui) ? (row.comfyui as unknown as WorkerStatus[]) : [];
    return servers.map((s) => s.url).filter((url) => typeof url === 'string');
  }

  async beat(): Promise<void> {
    const { comfyui, capabilities } = this.self.state();
    const row = {
      host: hostname(),
      pid: process.pid,
      role: this.self.role,
      comfyui: comfyui as unknown as object,
      capabilities,
      heartbeatAt: new Date(),
    };
    await this.prisma.workerProcess.upsert({
      where: { id: this.self.id },
      create: { id: this.self.id, startedAt: this.startedAt, ...row },
      update: row,
    });
  }

  /**
   * Stops the heartbeat and leaves the cluster's live list at once. The row stays a while (its
   * heartbeat moved into the past): what it could execute still counts as "served recently",
   * so a worker's restart does not fail the runs waiting for it.
   */
  /**
   * Reports this process's state now, between heartbeats (a ComfyUI server it uses became
   * healthy: others see it at once); nothing before start or once stopped.
   */
  async report(): Promise<void> {
    if (this.timer) await this.beat();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.prisma.workerProcess
      .updateMany({
        where: { id: this.self.id },
        data: { heartbeatAt: new Date(Date.now() - this.staleMs - 1) },
      })
      .catch((error: unknown) =>
        this.self.log.warn('could not unregister the worker process', { error }),
      );
  }
}

export async function listWorkerProcesses(
  prisma: PrismaClient,
  staleMs: number,
): Promise<WorkerProcessView[]> {
  const rows = await prisma.workerProcess.findMany({
    where: { heartbeatAt: { gte: new Date(Date.now() - staleMs) } },
    orderBy: [{ startedAt: 'asc' }, { id: 'asc' }],
  });
  return rows.map((r) => ({
    ...r,
    comfyui: Array.isArray(r.comfyui) ? (r.comfyui as unknown as WorkerStatus[]) : [],
  }));
}

/**
 * One entry per ComfyUI server across processes (several may share one for availability):
 * healthy when any process reaches it, prompts summed, loaded models merged.
 */
export function mergeComfyServers(processes: WorkerProcessView[]): WorkerStatus[] {
  const byUrl = new Map<string, WorkerStatus>();
  for (const p of processes) {
    for (const w of p.comfyui) {
      const seen = byUrl.get(w.url);
      if (!seen) {
        byUrl.set(w.url, { ...w, loadedModels: [...w.loadedModels] });
        continue;
      }
      seen.healthy ||= w.healthy;
      seen.sandbox ||= w.sandbox;
      seen.running += w.running;
      seen.queued += w.queued;
      seen.loadedModels = [...new Set([...seen.loadedModels, ...w.loadedModels])];
      seen.lastError = seen.healthy ? null : (seen.lastError ?? w.lastError);
    }
  }
  return [...byUrl.values()];
}
