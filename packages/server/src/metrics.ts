// GET /metrics in the Prometheus text format: run counts by status, queue depth, workers,
// and process figures, read when scraped (nothing accumulates in memory).

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthService } from './auth/auth.service.ts';
import { isAdmin } from './auth/viewer.ts';
import { AtelierError } from './domain-errors.ts';
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

/**
 * GET /metrics for an admin (an admin key, or the local account in AUTH_MODE=local) or a
 * scraper with METRICS_TOKEN as its Bearer token; 401 without credentials, 403 otherwise.
 */
export async function handleMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  deps: {
    prisma: PrismaClient;
    executor: Executor;
    auth: AuthService;
    metricsToken: string | null;
  },
): Promise<void> {
  const authorization = req.headers.authorization;
  const token = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1];
  if (!(deps.metricsToken && token && sameSecret(token, deps.metricsToken))) {
    let admin = false;
    try {
      admin = isAdmin(await deps.auth.resolve(authorization));
    } catch (error) {
      if (!(error instanceof AtelierError)) throw error;
      return sendText(
        res,
        401,
        'Unauthorized: send an admin key or METRICS_TOKEN as a Bearer token.\n',
        {
          'www-authenticate': 'Bearer realm="atelier"',
        },
      );
    }
    if (!admin)
      return sendText(res, 403, 'Forbidden: /metrics needs an admin key or METRICS_TOKEN.\n');
  }
  const body = await renderMetrics(deps.prisma, deps.executor);
  res.writeHead(200, {
    'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}
