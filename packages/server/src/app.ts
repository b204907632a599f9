// Assembles one Atelier server: database (migrated), services, GraphQL over HTTP/SSE and
// WebSocket, media routes and health checks. `start()` listens (port 0 picks a free port),
// `stop()` closes all.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Sandbox } from '@atelier/comfyui-sandbox';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createYoga } from 'graphql-yoga';
import { type AuthServerContext, createAuthPlugin } from './auth/auth.plugin.ts';
import { newAdminToken, removeServerInfo, writeServerInfo } from './auth/server-info.ts';
import { type Config, ConfigError } from './config.ts';
import type { Context } from './context.ts';
import { type Database, openDatabase } from './db/database.ts';
import { maskError } from './errors.ts';
import { CSRF_HEADER, corsOptions, GRAPHQL_LIMITS } from './http-security.ts';
import { useRunEventMetrics } from './instruments.ts';
import { createLogger, type Logger, yogaLogging } from './log.ts';
import { handleMediaRequest } from './media/media.http.ts';
import { createUploadPlugin, type NodeServerContext } from './media/upload.plugin.ts';
import {
  handleMetrics,
  listenForMetrics,
  type MetricsListener,
  startProcessMetrics,
} from './metrics.ts';
import { PersistedDocuments } from './persisted-documents.ts';
import { handlePlaygroundRequest } from './playground.ts';
import { lockExecutorHome } from './queue/home-lock.ts';
import {
  useBodyLimit,
  useJsonParamsGuard,
  useNestingLimit,
  useNoNulText,
} from './request-guards.ts';
import { schema } from './schema.ts';
import { createServices, type Services } from './services.ts';
import { startTracing } from './tracing.ts';
import { attachGraphQLWebSocket, sharedSubscriptions } from './websocket.ts';

export interface App {
  /** Base URL once started, e.g. http://127.0.0.1:4000 */
  readonly url: string;
  readonly port: number;
  readonly db: Database;
  readonly services: Services;
  readonly log: Logger;
  /** The bundled sandbox, when no COMFYUI_URLS were given. */
  readonly sandbox: Sandbox | null;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface AppOptions {
  log?: Logger;
  /**
   * Execute runs in this process (default). `false` (`atelier serve --no-worker`) serves the
   * API only: runs are executed by other processes on the same database.
   */
  worker?: boolean;
  /**
   * Serve the API (default). `false` is `atelier worker`: it executes runs only, listens on
   * no port, and registers as a worker process.
   */
  api?: boolean;
}

/** Starts the bundled ComfyUI sandbox on a free loopback port (no COMFYUI_URLS given). */
async function startBundledSandbox(config: Config, log: Logger): Promise<Sandbox> {
  // Loaded only here: a server with real workers never loads the sandbox (a test helper).
  const { startSandbox } = await import('@atelier/comfyui-sandbox');
  const sandbox = await startSandbox({
    port: 0,
    host: '127.0.0.1',
    stepDelayMs: config.sandboxStepDelayMs,
    catalogDir: path.join(config.catalogDir, 'models'),
    baseDir: path.join(config.home, 'sandbox'),
    log: (line) => log.debug(line),
  });
  log.info(
    `No COMFYUI_URLS set: runs go to the bundled ComfyUI sandbox at ${sandbox.url} (stand-in outputs marked SANDBOX, no real models).`,
  );
  return sandbox;
}

type ServerContext = NodeServerContext & AuthServerContext;

/** Opens and migrates the database and loads the catalog; call `start()` to listen. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log =
    options.log ??
    createLogger(config.logLevel, config.logFormat === 'auto' ? {} : { format: config.logFormat });
  const api = options.api ?? true;
  const worker = options.worker ?? true;
  // The bundled sandbox renders stand-ins, never what a user asked for: a production server
  // that executes runs needs real ComfyUI workers.
  if (worker && config.production && !config.comfyuiUrls.length) {
    throw new ConfigError([
      {
        variable: 'COMFYUI_URLS',
        message:
          'not set, and NODE_ENV=production does not run the bundled ComfyUI sandbox (stand-in outputs); set the URLs of your ComfyUI servers (or start an API-only replica with --no-worker)',
      },
    ]);
  }
  startProcessMetrics();
  // Read first: a missing manifest is a configuration error, before anything starts.
  const persisted = PersistedDocuments.load(config.persistedDocuments);
  const unlockHome = worker ? await lockExecutorHome(config.home) : async () => {};
  const sandbox =
    worker && !config.comfyuiUrls.length
      ? await startBundledSandbox(config, log).catch(async (error: unknown) => {
          await unlockHome();
          throw error;
        })
      : null;
  const workers = sandbox
    ? { urls: [sandbox.url], sandboxUrls: [sandbox.url] }
    : { urls: worker ? config.comfyuiUrls : [], sandboxUrls: [] };
  const db = await openDatabase(config.database).catch(async (error: unknown) => {
    await sandbox?.stop();
    await unlockHome();
    throw error;
  });
  // Lets `atelier keys` on this machine act as an administrator while this server runs.
  const adminToken = newAdminToken();
  // Before the services: their storage is traced when traces are exported.
  const tracing = await startTracing(config.tracing, log);
  let services: Services;
  try {
    const applied = await db.migrate();
    if (applied.length) log.info('applied migrations', { applied });
    services = await createServices(config, db, log, workers, {
      adminToken,
      role: api ? 'serve' : 'worker',
      execute: worker,
    });
  } catch (error) {
    await tracing.shutdown();
    await db.close();
    await sandbox?.stop();
    await unlockHome();
    throw error;
  }

  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    multipart: false,
    landingPage: false,
    cors: (request) => corsOptions(request, config.limits.corsOrigins),
    // useBodyLimit below.
    maxRequestBodySize: false,
    maskedErrors: { maskError },
    logging: yogaLogging(log),
    plugins: [
      // Subscribers of one run over graphql-ws share each event's result (websocket.ts). It
      // replaces the subscribe function of those operations, so it comes before the tracing
      // plugin, which wraps that function in the operation's span.
      sharedSubscriptions.plugin(),
      // Then tracing, so an operation's span covers what the other plugins do.
      ...(tracing.plugin ? [tracing.plugin] : []),
      useRunEventMetrics(),
      createAuthPlugin({ auth: services.auth, limiter: services.limiter }),
      useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }),
      createUploadPlugin(config.uploads),
      useJsonParamsGuard(),
      persisted.plugin(),
      useNestingLimit(),
      maxTokensPlugin({ n: GRAPHQL_LIMITS.tokens }),
      maxDepthPlugin({ n: GRAPHQL_LIMITS.depth, flattenFragments: true }),
      maxAliasesPlugin({ n: GRAPHQL_LIMITS.aliases }),
      maxDirectivesPlugin({ n: GRAPHQL_LIMITS.directives }),
      costLimitPlugin({ maxCost: GRAPHQL_LIMITS.cost }),
      useNoNulText(),
      // After every plugin that sets a request parser: it wraps the one chosen.
      useBodyLimit(config.limits.maxRequestBytes),
    ],
    context: ({ request, viewer }) => {
      if (!viewer) throw new Error('request reached execution without a viewer');
      return {
        origin: new URL(request.url).origin,
        prisma: db.prisma,
        services,
        config,
        viewer,
      };
    },
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const ok = await db.ping();
      return sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable', database: ok });
    }
    if (path === '/metrics') {
      return handleMetrics(req, res, {
        prisma: db.prisma,
        executor: services.executor,
        auth: services.auth,
        metricsToken: config.auth.metricsToken,
      });
    }
    if (path.startsWith('/media/')) {
      return handleMediaRequest(req, res, {
        prisma: db.prisma,
        storage: services.storage,
        auth: services.auth,
        signer: services.mediaUrls,
        thumbnails: services.thumbnails,
        log,
      });
    }
    if (await handlePlaygroundRequest(req, res)) return; // GET/HEAD for the studio only
    if (declaresOversizedBody(req, config.limits.maxRequestBytes)) {
      return refuseOversizedBody(req, res, config.limits.maxRequestBytes);
    }
    return yoga(req, res, { req, res });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error('request failed', { url: req.url, error });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  // Bounds what one connection may hold open: slow headers, idle keep-alive.
  server.headersTimeout = 20_000;
  server.requestTimeout = 0; // uploads and SSE streams may take long; sockets have their own timeouts

  const closeWebSocket = attachGraphQLWebSocket(server, yoga, {
    path: '/graphql',
    auth: services.auth,
    limiter: services.limiter,
    corsOrigins: config.limits.corsOrigins,
    persisted,
    log,
  });

  let port = config.port;
  let metricsListener: MetricsListener | null = null;
  let stopReporting = () => {};
  const url = () =>
    `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  return {
    get url() {
      return url();
    },
    get port() {
      return port;
    },
    db,
    services,
    log,
    sandbox,
    async start() {
      if (worker) {
        await services.executor.start();
        await services.registry.start();
        // The executor does not wait for its ComfyUI servers: the first heartbeat may go out
        // before they answered. Each that becomes healthy is reported at once.
        stopReporting = services.executor.onHealthy(() => {
          services.registry
            .report()
            .catch((error: unknown) => log.warn('worker heartbeat failed', { error }));
        });
        services.sweeper.start();
      }
      await services.scheduler.start({ execute: worker });
      services.vacuum.start();
      if (!api) {
        // A worker serves no API; its pool's metrics (GPU busy, idle gaps) on a port of their own.
        if (config.metricsPort !== null) {
          metricsListener = await listenForMetrics(
            config.metricsPort,
            config.host,
            {
              prisma: db.prisma,
              executor: services.executor,
              auth: services.auth,
              metricsToken: config.auth.metricsToken,
            },
            log,
          );
          log.info(`metrics at ${metricsListener.url}/metrics`);
        }
        return;
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      port = (server.address() as AddressInfo).port;
      const loopback = ['0.0.0.0', '::'].includes(config.host) ? `http://127.0.0.1:${port}` : url();
      services.setBaseUrl(url());
      services.webhookDispatcher.start();
      await writeServerInfo(config.home, { pid: process.pid, url: loopback, adminToken });
    },
    async stop() {
      await removeServerInfo(config.home, adminToken).catch((error: unknown) =>
        log.warn('could not remove server.json', { error }),
      );
      // Runs executing stay RUNNING in the database; the next start reconciles them.
      await services.webhookDispatcher.stop();
      await services.scheduler.stop();
      stopReporting();
      if (worker) await services.registry.stop();
      await services.executor.stop();
      await services.scheduler.settled();
      await services.thumbnails.drain();
      await services.sweeper.stop();
      await services.vacuum.stop();
      await closeWebSocket();
      await metricsListener?.close();
      if (server.listening) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
      await services.close();
      await db.close();
      await sandbox?.stop();
      await unlockHome();
      // Last: every span (the runs' included) has ended; export them before returning.
      await tracing.shutdown();
    },
  };
}

/** A JSON (not multipart: uploads have their own limits) body declared over the limit. */
function declaresOversizedBody(req: IncomingMessage, limit: number): boolean {
  const declared = Number(req.headers['content-length']);
  return (
    req.method === 'POST' &&
    Number.isFinite(declared) &&
    declared > limit &&
    !/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')
  );
}

/** Bodies read and thrown away before a 413, at most (larger ones: the socket is closed). */
const LINGER_MAX_BYTES = 64 * 1024 * 1024;
const LINGER_MAX_MS = 10_000;

/**
 * HTTP 413 for a body declared over the limit, sent once the body has been read and thrown
 * away (a lingering close): closing a socket that still has unread data makes TCP reset it,
 * and a client still writing its body would then lose the answer (EPIPE, no status).
 * Nothing is parsed; past LINGER_MAX_BYTES or LINGER_MAX_MS the socket is just closed.
 */
function refuseOversizedBody(req: IncomingMessage, res: ServerResponse, limit: number) {
  const answer = () =>
    sendJson(res, 413, {
      errors: [
        {
          message: `The request body is larger than the ${limit}-byte limit (MAX_REQUEST_BYTES).`,
          extensions: { code: 'PAYLOAD_TOO_LARGE' },
        },
      ],
    });
  res.setHeader('connection', 'close');
  if (Number(req.headers['content-length']) > LINGER_MAX_BYTES) {
    answer();
    req.destroy();
    return;
  }
  const timer = setTimeout(() => req.destroy(), LINGER_MAX_MS);
  req.on('error', () => clearTimeout(timer));
  req.on('end', () => {
    clearTimeout(timer);
    answer();
  });
  req.resume();
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
