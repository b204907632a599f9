// GraphQL over WebSocket (graphql-ws protocol) on the same /graphql path, through Yoga's
// own envelop pipeline so masking, validation and limits apply to subscriptions as well.
import type { IncomingMessage, Server } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Context } from './context.ts';

// biome-ignore lint/suspicious/noExplicitAny: any server context shape is accepted here.
type Yoga = YogaServerInstance<any, Context>;

/** Attaches a graphql-ws endpoint at `path`; returns a function that closes it. */
export function attachGraphQLWebSocket(server: Server, yoga: Yoga, path: string) {
  const wss = new WebSocketServer({ server, path });
  const disposable = useServer(
    {
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args) as never,
      subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args) as never,
      onSubscribe: async (ctx, _id, params) => {
        const request = ctx.extra.request as IncomingMessage;
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: request,
          socket: ctx.extra.socket,
          params,
          request: new Request(
            `http://${request.headers.host ?? 'localhost'}${request.url ?? path}`,
            {
              headers: request.headers as Record<string, string>,
            },
          ),
        });
        const document = parse(params.query);
        const errors = validate(schema, document);
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
