// GraphQL over WebSocket (graphql-ws protocol) on the same /graphql path, through Yoga's
// own envelop pipeline so masking, validation and limits apply to subscriptions as well.
// Browsers' upgrades are checked against the same origins as CORS; the connection is
// authenticated once in onConnect (connectionParams.authorization, else the upgrade's
// Authorization header), and a bad key closes it with 4403.
import type { IncomingMessage, Server } from 'node:http';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { RateLimitedError, UnauthenticatedError } from './auth/auth.errors.ts';
import type { AuthService } from './auth/auth.service.ts';
import type { RequestLimiter } from './auth/rate-limit.ts';
import type { Viewer } from './auth/viewer.ts';
import type { Context } from './context.ts';
import { socketOriginAllowed } from './http-security.ts';
import type { Logger } from './log.ts';

// biome-ignore lint/suspicious/noExplicitAny: any server context shape is accepted here.
type Yoga = YogaServerInstance<any, Context>;

export interface WebSocketOptions {
  path: string;
  auth: AuthService;
  limiter: RequestLimiter | null;
  corsOrigins: string[] | '*';
  log: Logger;
}

type Extra = {
  request: IncomingMessage;
  socket: unknown;
  viewer?: Viewer;
};

/** Largest graphql-ws message accepted (a subscribe with its query and variables). */
const MAX_PAYLOAD = 1024 * 1024;

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
  // A socket error (reset, invalid frame) is the client's problem; ws closes the socket.
  wss.on('connection', (socket) => {
    socket.on('error', (error) => options.log.debug('websocket error', { error: String(error) }));
  });
  wss.on('error', (error) => options.log.warn('websocket server error', { error: String(error) }));

  const disposable = useServer<Record<string, unknown> | undefined, Extra>(
    {
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
        let document: ReturnType<typeof parse>;
        let errors: readonly GraphQLError[];
        try {
          document = parse(params.query);
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
        return args;
      },
    },
    wss,
  );
  return async () => {
    await disposable.dispose();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}

type EnvelopedArgs = ExecutionArgs & {
  rootValue: {
    execute: (args: ExecutionArgs) => unknown;
    subscribe: (args: ExecutionArgs) => unknown;
  };
};
