// GraphQL over WebSocket (graphql-ws protocol) on the same /graphql path, through Yoga's
// own envelop pipeline so masking, validation and limits apply to subscriptions as well.
// Browsers' upgrades are checked against the same origins as CORS; the connection is
// authenticated once in onConnect (connectionParams.authorization, else the upgrade's
// Authorization header), and a bad key closes it with 4403.
//
// The socket side is a small adapter around graphql-ws' makeServer (graphql-ws/use/ws does
// the same job) so that a client's protocol violations are its own fault: a message type
// only servers send closes with 4400 Bad Request (not 4500), and errors go to our logger
// instead of console.error with a stack trace per bad frame.
import type { IncomingMessage, Server } from 'node:http';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import {
  CloseCode,
  handleProtocols,
  MessageType,
  makeServer,
  type ServerOptions,
} from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { type WebSocket, WebSocketServer } from 'ws';
import { RateLimitedError, UnauthenticatedError } from './auth/auth.errors.ts';
import type { AuthService } from './auth/auth.service.ts';
import type { RequestLimiter } from './auth/rate-limit.ts';
import type { Viewer } from './auth/viewer.ts';
import type { Context } from './context.ts';
import { socketOriginAllowed } from './http-security.ts';
import type { Logger } from './log.ts';
import type { PersistedDocuments } from './persisted-documents.ts';
import { SharedSubscriptions } from './shared-subscriptions.ts';

// biome-ignore lint/suspicious/noExplicitAny: any server context shape is accepted here.
type Yoga = YogaServerInstance<any, Context>;

export interface WebSocketOptions {
  path: string;
  auth: AuthService;
  limiter: RequestLimiter | null;
  corsOrigins: string[] | '*';
  /** Documents subscribers may send by hash (and whether only those may run). */
  persisted: PersistedDocuments;
  log: Logger;
}

/**
 * Events executed once per group of subscribers (shared-subscriptions.ts): one per process,
 * its plugin in every yoga of the process (app.ts). Its counters are read by tests.
 */
export const sharedSubscriptions = new SharedSubscriptions();

type Extra = {
  request: IncomingMessage;
  socket: unknown;
  viewer?: Viewer;
};

/** Largest graphql-ws message accepted (a subscribe with its query and variables). */
const MAX_PAYLOAD = 1024 * 1024;
/** Idle sockets are pinged this often and dropped when no pong comes back in time. */
const KEEP_ALIVE_MS = 12_000;
/** Message types only a server sends; a client sending one breaks the protocol. */
const SERVER_ONLY = new Set<string>([
  MessageType.ConnectionAck,
  MessageType.Next,
  MessageType.Error,
]);

/** Attaches a graphql-ws endpoint at `options.path`; returns a function that closes it. */
export function attachGraphQLWebSocket(server: Server, yoga: Yoga, options: WebSocketOptions) {
  const wss = new WebSocketServer({
    server,
    path: options.path,
    maxPayload: MAX_PAYLOAD,
    verifyClient: (info, done) => {
      if (socketOriginAllowed(info.req.headers, options.corsOrigins)) return done(true);
      done(false, 403, 'Origin not allowed');
    },
  });
  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (error) => options.log.warn('websocket server error', { error }));

  const graphqlWs = makeServer<Record<string, unknown> | undefined, Extra>(
    serverOptions(yoga, options),
  );
  wss.on('connection', (socket, request) => serve(graphqlWs, socket, request, options));
  return async () => {
    for (const client of wss.clients) client.close(1001, 'Going away');
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}

/** Runs one connection through the graphql-ws server. */
function serve(
  graphqlWs: GraphQLWsServer,
  socket: WebSocket,
  request: IncomingMessage,
  options: WebSocketOptions,
) {
  // A socket error (reset, invalid frame) is the client's problem; ws closes the socket.
  socket.on('error', (error) => options.log.debug('websocket error', { error }));
  let pongWait: NodeJS.Timeout | null = null;
  const ping = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return;
    pongWait = setTimeout(() => socket.terminate(), KEEP_ALIVE_MS);
    socket.once('pong', () => {
      if (pongWait) clearTimeout(pongWait);
      pongWait = null;
    });
    socket.ping();
  }, KEEP_ALIVE_MS);
  const closed = graphqlWs.opened(
    {
      protocol: socket.protocol,
      send: (data) =>
        new Promise<void>((resolve, reject) => {
          if (socket.readyState !== socket.OPEN) return resolve();
          socket.send(data, (error) => (error ? reject(error) : resolve()));
        }),
      close: (code, reason) => socket.close(code, reason),
      onMessage: (handle) =>
        socket.on('message', async (data) => {
          const text = String(data);
          const type = messageType(text);
          if (type && SERVER_ONLY.has(type)) {
            return socket.close(CloseCode.BadRequest, `Unexpected message of type ${type}`);
          }
          try {
            await handle(text);
          } catch (error) {
            options.log.error('graphql-ws message handling failed', {
              error,
            });
            socket.close(CloseCode.InternalServerError, 'Internal server error');
          }
        }),
    },
    { socket, request },
  );
  socket.once('close', (code, reason) => {
    if (pongWait) clearTimeout(pongWait);
    clearInterval(ping);
    void closed(code, String(reason));
  });
}

/** The `type` of a JSON message, or null when it has none (graphql-ws refuses those). */
function messageType(text: string): string | null {
  try {
    const message = JSON.parse(text) as { type?: unknown } | null;
    return typeof message?.type === 'string' ? message.type : null;
  } catch {
    return null;
  }
}

function serverOptions(
  yoga: Yoga,
  options: WebSocketOptions,
): ServerOptions<Record<string, unknown> | undefined, Extra> {
  return {
    execute: (args) => (args as EnvelopedArgs).rootValue.execute(args) as never,
    subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args) as never,
    onConnect: async (ctx) => {
      const fromParams = ctx.connectionParams?.authorization;
      if (fromParams !== undefined && typeof fromParams !== 'string') return false;
      const header = fromParams ?? ctx.extra.request.headers.authorization;
      try {
        ctx.extra.viewer = await options.auth.resolve(header);
        return true;
      } catch (error) {
        if (error instanceof UnauthenticatedError) return false; // closes with 4403 Forbidden
        throw error;
      }
    },
    onSubscribe: async (ctx, _id, params) => {
      const viewer = ctx.extra.viewer;
      if (!viewer)
        return [
          new GraphQLError('Not authenticated.', { extensions: { code: 'UNAUTHENTICATED' } }),
        ];
      try {
        await options.limiter?.consume(viewer);
      } catch (error) {
        if (error instanceof RateLimitedError) {
          return [
            new GraphQLError(error.message, {
              extensions: { code: error.code, retryAfterSeconds: error.retryAfterSeconds },
            }),
          ];
        }
        throw error;
      }
      const request = ctx.extra.request;
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx,
        req: request,
        socket: ctx.extra.socket,
        params,
        viewer,
        request: new Request(
          `http://${request.headers.host ?? 'localhost'}${request.url ?? options.path}`,
          { headers: request.headers as Record<string, string> },
        ),
      });
      // Parse and validation errors (graphql-armor's limits throw from inside validation
      // rules) end this operation only, never the socket and its other subscriptions.
      const text = options.persisted.resolve(params);
      if (text instanceof GraphQLError) return [text];
      let document: ReturnType<typeof parse>;
      let errors: readonly GraphQLError[];
      try {
        document = parse(text);
        errors = validate(schema, document);
      } catch (error) {
        if (error instanceof GraphQLError) return [error];
        throw error;
      }
      if (errors.length) return errors;
      const args: EnvelopedArgs = {
        schema,
        operationName: params.operationName,
        document,
        variableValues: params.variables,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
      // Subscribers share an event's result only with those whose execution could not differ
      // from theirs: same account, scopes and key (what resolvers may check), same host (what
      // URLs are built from), same document and variables.
      const scope = JSON.stringify([
        viewer.accountId,
        viewer.scopes,
        viewer.apiKey?.id ?? null,
        request.headers.host ?? '',
      ]);
      return sharedSubscriptions.prepare(args, text, scope);
    },
  };
}

type GraphQLWsServer = ReturnType<typeof makeServer<Record<string, unknown> | undefined, Extra>>;

type EnvelopedArgs = ExecutionArgs & {
  rootValue: {
    execute: (args: ExecutionArgs) => unknown;
    subscribe: (args: ExecutionArgs) => unknown;
  };
};
