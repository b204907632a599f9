// GET /metrics in the Prometheus text format: run counts by status, queue depth, workers,
// and process figures, read when scraped (nothing accumulates in memory).
import type { ServerResponse } from 'node:http';
import type { PrismaClient } from './generated/prisma/client.ts';
import type { Executor } from './queue/executor.ts';

const RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED'] as const;

function metric(name: string, help: string, type: 'gauge' | 'counter', samples: string[]) {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples].join('\n');
}

const label = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Renders the current metrics. */
export async function renderMetrics(prisma: PrismaClient, executor: Executor): Promise<string> {
  const grouped = await prisma.run.groupBy({ by: ['status'], _count: { _all: true } });
  const byStatus = new Map(grouped.map((g) => [g.status, g._count._all]));
  const workers = executor.workers();
  const memory = process.memoryUsage();
  return `${[
    metric(
      'atelier_runs',
      'Runs in the database by status.',
      'gauge',
      RUN_STATUSES.map((s) => `atelier_runs{status="${s}"} ${byStatus.get(s) ?? 0}`),
    ),
    metric('atelier_pool_capacity', 'Jobs the worker pool takes at once.', 'gauge', [
      `atelier_pool_capacity ${executor.capacity()}`,
    ]),
    metric(
      'atelier_worker_up',
      'Whether a ComfyUI worker is connected and healthy (1) or not (0).',
      'gauge',
      workers.map(
        (w) =>
          `atelier_worker_up{url="${label(w.url)}",sandbox="${w.sandbox}"} ${w.healthy ? 1 : 0}`,
      ),
    ),
    metric(
      'atelier_worker_jobs',
      'Prompts on a worker, running or queued there.',
      'gauge',
      workers.flatMap((w) => [
        `atelier_worker_jobs{url="${label(w.url)}",state="running"} ${w.running}`,
        `atelier_worker_jobs{url="${label(w.url)}",state="queued"} ${w.queued}`,
      ]),
    ),
    metric('process_resident_memory_bytes', 'Resident memory of the server process.', 'gauge', [
      `process_resident_memory_bytes ${memory.rss}`,
    ]),
    metric('process_uptime_seconds', 'Seconds since the server process started.', 'gauge', [
      `process_uptime_seconds ${process.uptime().toFixed(1)}`,
    ]),
  ].join('\n')}\n`;
}

export async function handleMetrics(
  res: ServerResponse,
  prisma: PrismaClient,
  executor: Executor,
): Promise<void> {
  const body = await renderMetrics(prisma, executor);
  res.writeHead(200, {
    'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}
