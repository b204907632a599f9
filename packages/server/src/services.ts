// The domain services one server instance uses, built once at startup.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AuthService } from './auth/auth.service.ts';
import { loadMediaUrlSecret, MediaUrlSigner } from './auth/media-urls.ts';
import { RequestLimiter } from './auth/rate-limit.ts';
import { ComfyPool } from './comfyui/pool.ts';
import { RedisSlotLedger } from './comfyui/slot-ledger.ts';
import type { Config } from './config.ts';
import { CreditsService } from './credits/credits.service.ts';
import type { Database } from './db/database.ts';
import { EmbeddedVacuum } from './db/vacuum.ts';
import { type LlmClient, OpenAiCompatibleClient } from './llm/llm.client.ts';
import type { Logger } from './log.ts';
import { MediaService } from './media/media.service.ts';
import { Thumbnails } from './media/outputs.ts';
import { StorageSweeper } from './media/sweep.ts';
import { type Catalog, loadCatalog, syncCatalog } from './models/catalog.service.ts';
import { connectRedisEventTarget, createAtelierPubSub, type PubSub } from './pubsub.ts';
import type { Executor } from './queue/executor.ts';
import { DatabaseJobQueue, type JobQueue } from './queue/job-queue.ts';
import { QueueService } from './queue/queue.service.ts';
import { RunScheduler } from './queue/scheduler.ts';
import { WorkerRegistry } from './queue/worker-registry.ts';
import { RunEngine } from './runs/run-engine.ts';
import { RunEvents } from './runs/run-events.ts';
import { RunsService } from './runs/runs.service.ts';
import { SharedReads } from './runs/shared-reads.ts';
import { resolveBlocklist } from './stages/blocklist.ts';
import { createStorage } from './storage/create-storage.ts';
import type { Storage } from './storage/storage.ts';
import { withTimeout } from './timeout.ts';
import { WebhookDispatcher, WebhooksService } from './webhooks/webhooks.service.ts';

/** How often the embedded database's tables are checked for vacuuming (db/vacuum.ts). */
const EMBEDDED_VACUUM_MS = 60_000;

export interface Services {
  auth: AuthService;
  /** Per-key request limit; null when RATE_LIMIT_PER_MINUTE is 0. */
  limiter: RequestLimiter | null;
  mediaUrls: MediaUrlSigner;
  credits: CreditsService;
  catalog: Catalog;
  storage: Storage;
  /** Image outputs' thumbnails in the making (the media route waits for them). */
  thumbnails: Thumbnails;
  media: MediaService;
  /** Deletes media files no Media row names; started by processes that execute runs. */
  sweeper: StorageSweeper;
  /** Autovacuum's work for PGlite, which has none (db/vacuum.ts); idle on PostgreSQL. */
  vacuum: EmbeddedVacuum;
  pubsub: PubSub;
  events: RunEvents;
  /** Reads of run events shared by every subscriber (one read per event). */
  eventReads: SharedReads;
  executor: Executor;
  scheduler: RunScheduler;
  /** Where queued runs wait: the database, or BullMQ with REDIS_URL. */
  queue: JobQueue;
  /** Counts, positions and workers of the whole cluster. */
  queueStatus: QueueService;
  /** Registers this process as an executing one (started only when it executes). */
  registry: WorkerRegistry;
  /** This installation's instance id. */
  instanceId: string;
  runs: RunsService;
  webhooks: WebhooksService;
  /** Sends due webhook deliveries; started by processes that serve the API. */
  webhookDispatcher: WebhookDispatcher;
  /** The URL this server listens on, for links in webhook bodies when PUBLIC_URL is unset. */
  setBaseUrl(url: string): void;
  /** Closes connections the services hold (Redis). */
  close(): Promise<void>;
}

/** A stable id for this installation, so worker client ids survive restarts. */
async function instanceId(home: string): Promise<string> {
  const file = path.join(home, 'instance-id');
  const existing = await readFile(file, 'utf8').catch(() => null);
  if (existing?.trim()) return existing.trim();
  const id = randomUUID();
  await mkdir(home, { recursive: true });
  await writeFile(file, `${id}\n`);
  return id;
}

/**
 * Loads the catalog (a broken file throws, naming it), mirrors it into the database, and
 * wires the services. `workerUrls` are the ComfyUI workers (the sandbox's when bundled).
 */
export async function createServices(
  config: Config,
  db: Database,
  log: Logger,
  workers: { urls: string[]; sandboxUrls: string[] },
  options: { adminToken?: string | null; role?: 'serve' | 'worker'; execute?: boolean } = {},
): Promise<Services> {
  const auth = new AuthService(db.prisma, {
    mode: config.auth.mode,
    adminToken: options.adminToken ?? null,
    log,
  });
  await auth.ensureLocalAccount();
  const redis = config.redis ? await connectRedisEventTarget(config.redis, log) : null;
  const pubsub = createAtelierPubSub(redis?.eventTarget);
  const limiter = config.auth.rateLimitPerMinute
    ? new RequestLimiter(
        config.auth.rateLimitPerMinute,
        redis && config.redis ? { redis: redis.client, prefix: config.redis.prefix } : undefined,
      )
    : null;
  // A key revoked on one replica stops working on all of them at once, not after their cache.
  auth.onRevoked = () => pubsub.publish('keys', { revokedAt: Date.now() });
  const revocations = pubsub.subscribe('keys');
  void (async () => {
    for await (const _ of revocations) auth.forgetCachedKeys();
  })().catch((error: unknown) => log.warn('key revocation listener ended', { error }));
  const mediaUrls = new MediaUrlSigner(
    await loadMediaUrlSecret(config.home, config.auth.mediaUrlSecret),
    config.auth.mediaUrlTtlSeconds,
  );
  const credits = new CreditsService(db.prisma);
  const catalog = await loadCatalog(config.catalogDir);
  await syncCatalog(db.prisma, catalog);
  log.debug('catalog loaded', { models: catalog.models.length, styles: catalog.styles.length });
  const storage = await createStorage(config.storage);
  const thumbnails = new Thumbnails(storage, config.uploads.thumbnailEdge);
  const media = new MediaService(db, storage, config.uploads, log, thumbnails);
  const events = new RunEvents(db, pubsub);
  const instance = await instanceId(config.home);
  const executor = new ComfyPool({
    urls: workers.urls,
    sandboxUrls: workers.sandboxUrls,
    queueTimeoutMs: config.queueTimeoutMs,
    stallTimeoutMs: config.stallTimeoutMs,
    cancelConfirmMs: config.cancelConfirmTimeoutMs,
    slotsPerWorker: config.comfyuiSlotsPerWorker,
    retries: config.workerRetries,
    instanceId: instance,
    // Processes that share a ComfyUI server count its slots together (through Redis).
    ...(config.redis
      ? {
          ledger: await RedisSlotLedger.open({
            url: config.redis.url,
            prefix: config.redis.prefix,
            owner: instance,
            ttlMs: config.runLeaseMs,
            log,
          }),
        }
      : {}),
    log,
  });
  const llm: LlmClient | null = config.llm
    ? new OpenAiCompatibleClient({
        url: config.llm.url,
        model: config.llm.model,
        apiKey: config.llm.apiKey,
        timeoutMs: config.llm.timeoutMs,
      })
    : null;
  const blocklistFile = config.blocklistFile ? await readFile(config.blocklistFile, 'utf8') : null;
  const webhooks = new WebhooksService(db.prisma, config.webhooks);
  let baseUrl = config.publicUrl ?? `http://${config.host}:${config.port}`;
  const webhookDispatcher = new WebhookDispatcher({
    prisma: db.prisma,
    mediaUrls,
    log,
    options: config.webhooks,
    baseUrl: () => baseUrl,
    pollMs: 1000,
  });
  const engine = new RunEngine({
    onWebhooksDue: () => webhookDispatcher.notify(),
    prisma: db.prisma,
    query: db.query,
    credits,
    catalog,
    executor,
    storage,
    events,
    log,
    llm,
    llmVision: Boolean(config.llm?.vision),
    blocklist: resolveBlocklist(config.blocklist, blocklistFile),
    thumbnails,
    outputMetadata: config.uploads.outputMetadata,
    backgroundRemovalModel: config.backgroundRemovalModel,
    progressIntervalMs: Math.ceil(1000 / config.progressEventsPerSecond),
    previewIntervalMs: 500,
  });
  const queue: JobQueue = config.redis
    ? // BullMQ is loaded only with REDIS_URL.
      await (await import('./queue/bullmq-queue.ts')).BullJobQueue.open(db.prisma, {
        url: config.redis.url,
        prefix: config.redis.prefix,
        log,
        leaseMs: config.runLeaseMs,
      })
    : new DatabaseJobQueue(db.prisma);
  const heartbeatMs = config.workerHeartbeatMs;
  const scheduler = new RunScheduler({
    prisma: db.prisma,
    engine,
    executor,
    events,
    pubsub,
    queue,
    catalog,
    log,
    owner: instance,
    pollMs: 1000,
    leaseMs: config.runLeaseMs,
    heartbeatMs,
    queueTimeoutMs: config.queueTimeoutMs,
    dispatchAhead: config.dispatchAhead,
    workersOf: (processId: string): Promise<string[]> => registry.workersOf(processId),
  });
  const registry = new WorkerRegistry(db.prisma, {
    id: instance,
    role: options.role ?? 'serve',
    heartbeatMs,
    log,
    state: () => scheduler.registryState(),
  });
  const runs = new RunsService(
    db,
    catalog,
    credits,
    {
      ...config.limits,
      webhookAllowPrivate: config.webhooks.allowPrivate,
      describeImages: Boolean(config.llm?.vision),
      // PostgreSQL: 6 of the pool's 10 connections; PGlite has one (its transactions take
      // turns anyway): one waits there while the next is prepared.
      createConcurrency: db.kind === 'postgres' ? 6 : 2,
    },
    {
      queued: async (run) => {
        try {
          await withTimeout(queue.enqueue({ ...run, runId: run.id }), 2_000);
        } catch (error) {
          // The run is committed: the queue's repair puts it back within seconds.
          log.warn('could not enqueue a run', { runId: run.id, error });
        }
        events.queueChanged(true);
        scheduler.notify(true);
      },
      reserve: (capability) => scheduler.reserve(capability),
      cancelRunning: (runId) => scheduler.cancelRunning(runId),
      cancelElsewhere: (runId) => pubsub.publish('cancel', { runId }),
      canceled: async (run) => {
        await queue
          .remove({ runId: run.id, modelKey: run.modelKey, mode: run.mode })
          .catch((error: unknown) =>
            log.warn('could not remove a canceled run from the queue', { error }),
          );
        await events.change(run.id, {}, [{ type: 'RUN_FINISHED' }]);
        events.queueChanged();
        webhookDispatcher.notify();
      },
    },
  );
  return {
    auth,
    limiter,
    mediaUrls,
    credits,
    catalog,
    storage,
    thumbnails,
    media,
    sweeper: new StorageSweeper({ prisma: db.prisma, storage, log }, config.storageSweepMs),
    vacuum: new EmbeddedVacuum({ db, log }, EMBEDDED_VACUUM_MS),
    pubsub,
    events,
    eventReads: new SharedReads(),
    executor,
    scheduler,
    queue,
    queueStatus: new QueueService(db.prisma, {
      id: instance,
      executor: options.execute === false ? null : executor,
      heartbeatMs,
    }),
    registry,
    instanceId: instance,
    runs,
    webhooks,
    webhookDispatcher,
    setBaseUrl: (url: string) => {
      if (!config.publicUrl) baseUrl = url;
    },
    close: async () => {
      await revocations.return?.();
      await queue.close();
      await redis?.close();
    },
  };
}
