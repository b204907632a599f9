// GET /metrics in the Prometheus text format (prom-client): the standard process metrics, the
// process's histograms and GPU figures (instruments.ts), and this app's gauges read when
// scraped: runs by status, pool capacity, ComfyUI workers up and their jobs.

import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { AuthService } from './auth/auth.service.ts';
import { isAdmin } from './auth/viewer.ts';
import { AtelierError } from './domain-errors.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import { processRegistry } from './instruments.ts';
import type { Logger } from './log.ts';
import type { Executor } from './queue/executor.ts';

const RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED'] as const;

let defaultMetrics = false;

/**
 * Starts the standard process metrics once per process. Called when an app is created, not at
 * the first scrape: prom-client counts CPU seconds from here, so a first scrape taken right
 * after registering read 0.
 */
export function startProcessMetrics(): void {
  if (defaultMetrics) return;
  // process_cpu_seconds_total, process_resident_memory_bytes, nodejs_eventloop_lag_*, ...
  collectDefaultMetrics({ register: processRegistry });
  defaultMetrics = true;
}

/** The registry of one app (its database and executor), merged with the process's. */
const registries = new WeakMap<Executor, Registry>();

function registryFor(prisma: PrismaClient, executor: Executor): Registry {
  let merged = registries.get(executor);
  if (merged) return merged;
  startProcessMetrics();
  const own = new Registry();
  const registers = [own];
  new Gauge({
    name: 'atelier_runs',
    help: 'Runs in the database by status.',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      const grouped = await prisma.run.groupBy({ by: ['status'], _count: { _all: true } });
      const byStatus = new Map(grouped.map((g) => [g.status, g._count._all]));
      for (const status of RUN_STATUSES) this.set({ status }, byStatus.get(status) ?? 0);
    },
  });
  new Gauge({
    name: 'atelier_pool_capacity',
    help: 'Jobs the worker pool takes at once.',
    registers,
    collect() {
      this.set(executor.capacity());
    },
  });
  new Gauge({
    name: 'atelier_worker_up',
    help: 'Whether a ComfyUI worker is connected and healthy (1) or not (0).',
    labelNames: ['url', 'sandbox'] as const,
    registers,
    collect() {
      this.reset();
      for (const w of executor.workers()) {
        this.set({ url: w.url, sandbox: String(w.sandbox) }, w.healthy ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'atelier_worker_jobs',
    help: 'Prompts on a worker, running or queued there.',
    labelNames: ['url', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const w of executor.workers()) {
        this.set({ url: w.url, state: 'running' }, w.running);
        this.set({ url: w.url, state: 'queued' }, w.queued);
      }
    },
  });
  merged = Registry.merge([processRegistry, own]);
  registries.set(executor, merged);
  return merged;
}

/** Renders the current metrics. */
export async function renderMetrics(
  prisma: PrismaClient,
  executor: Executor,
): Promise<{ body: string; contentType: string }> {
  const registry = registryFor(prisma, executor);
  return { body: await registry.metrics(), contentType: registry.contentType };
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
  const { body, contentType } = await renderMetrics(deps.prisma, deps.executor);
  res.writeHead(200, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** A listening metrics server (`listenForMetrics`). */
export interface MetricsListener {
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * An HTTP server answering GET /metrics (with handleMetrics' access rules) and /healthz only,
 * for `atelier worker`, which serves no API. Port 0 picks a free port.
 */
export async function listenForMetrics(
  port: number,
  host: string,
  deps: Parameters<typeof handleMetrics>[2],
  log: Logger,
): Promise<MetricsListener> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return sendText(res, 200, 'ok\n');
    if (path !== '/metrics')
      return sendText(res, 404, 'Not found: this process serves /metrics only.\n');
    handleMetrics(req, res, deps).catch((error: unknown) => {
      log.error('metrics request failed', { error });
      if (!res.headersSent) sendText(res, 500, 'Could not collect the metrics.\n');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
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
