// Assembles one Atelier server: database (migrated), services, GraphQL over HTTP/SSE, media
// routes and health checks. `start()` listens (port 0 picks a free port), `stop()` closes all.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Sandbox, startSandbox } from '@atelier/comfyui-sandbox';
import { createYoga } from 'graphql-yoga';
import type { Config } from './config.ts';
import { type Context, LOCAL_ACCOUNT_ID } from './context.ts';
import { type Database, openDatabase } from './db/database.ts';
import { createLogger, type Logger } from './log.ts';
import { handleMediaRequest } from './media/media.http.ts';
import { createUploadPlugin } from './media/upload.plugin.ts';
import { handleMetrics } from './metrics.ts';
import { handlePlaygroundRequest } from './playground.ts';
import { schema } from './schema.ts';
import { createServices, type Services } from './services.ts';
import { attachGraphQLWebSocket } from './websocket.ts';

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
}

/** Starts the bundled ComfyUI sandbox on a free loopback port (no COMFYUI_URLS given). */
async function startBundledSandbox(config: Config, log: Logger): Promise<Sandbox> {
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

/** Opens and migrates the database and loads the catalog; call `start()` to listen. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log = options.log ?? createLogger(config.logLevel);
  const sandbox = config.comfyuiUrls.length ? null : await startBundledSandbox(config, log);
  const workers = sandbox
    ? { urls: [sandbox.url], sandboxUrls: [sandbox.url] }
    : { urls: config.comfyuiUrls, sandboxUrls: [] };
  const db = await openDatabase(config.database).catch(async (error: unknown) => {
    await sandbox?.stop();
    throw error;
  });
  let services: Services;
  try {
    const applied = await db.migrate();
    if (applied.length) log.info('applied migrations', { applied });
    await db.prisma.account.upsert({
      where: { id: LOCAL_ACCOUNT_ID },
      create: { id: LOCAL_ACCOUNT_ID, name: 'local' },
      update: {},
    });
    services = await createServices(config, db, log, workers);
  } catch (error) {
    await db.close();
    await sandbox?.stop();
    throw error;
  }

  const yoga = createYoga<{ req: IncomingMessage; res: ServerResponse }, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    multipart: false,
    landingPage: false,
    logging: {
      debug: (...args) => log.debug(args.map(String).join(' ')),
      info: (...args) => log.info(args.map(String).join(' ')),
      warn: (...args) => log.warn(args.map(String).join(' ')),
      error: (...args) => log.error(args.map(String).join(' ')),
    },
    plugins: [createUploadPlugin(config.uploads)],
    context: ({ request }) => ({
      origin: new URL(request.url).origin,
      prisma: db.prisma,
      services,
      config,
      viewer: { accountId: LOCAL_ACCOUNT_ID },
    }),
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const ok = await db.ping();
      return sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable', database: ok });
    }
    if (path === '/metrics') return handleMetrics(res, db.prisma, services.executor);
    if (path.startsWith('/media/')) {
      return handleMediaRequest(req, res, { prisma: db.prisma, storage: services.storage });
    }
    if (await handlePlaygroundRequest(req, res)) return; // GET/HEAD for the studio only
    return yoga(req, res, { req, res });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error('request failed', { url: req.url, error: String(error) });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });

  const closeWebSocket = attachGraphQLWebSocket(server, yoga, '/graphql');

  let port = config.port;
  return {
    get url() {
      return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    },
    get port() {
      return port;
    },
    db,
    services,
    log,
    sandbox,
    async start() {
      await services.executor.start();
      await services.scheduler.start();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      port = (server.address() as AddressInfo).port;
    },
    async stop() {
      // Runs executing stay RUNNING in the database; the next start reconciles them.
      await services.scheduler.stop();
      await services.executor.stop();
      await services.scheduler.settled();
      await closeWebSocket();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await db.close();
      await sandbox?.stop();
    },
  };
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
