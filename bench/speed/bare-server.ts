// The baseline server of the speed benchmarks: bare graphql-yoga over node:http plus graphql-ws
// on the same port (the setup of graphql-yoga's graphql-ws example), nothing else. It answers
// the shapes the benchmarks send to Atelier: a trivial `createRun` mutation (returns a fresh
// id, no database), `{ models { key } }`, and `runEvents(id)`, which sends a SNAPSHOT and then
// whatever is published. Publishing is driven over IPC by the parent: `{ publish: { steps,
// intervalMs } }` publishes one STAGE_PROGRESS per step at that interval, then RUN_FINISHED,
// and answers `{ published: [[step, at], ...] }` with the moment each event was published.
//
//   PORT=4001 node --import tsx bench/speed/bare-server.ts
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { createPubSub, createSchema, createYoga, Repeater } from 'graphql-yoga';
import { WebSocketServer } from 'ws';

interface StagePayload {
  kind: string;
  status: string;
  progress: number;
  message: string | null;
  step: number | null;
  maxSteps: number | null;
}
interface EventPayload {
  sequence: number;
  type: string;
  stage: StagePayload | null;
  run: { id: string; status: string; progress: number; sequence: number };
}

const pubSub = createPubSub<{ run: [id: string, payload: EventPayload] }>();
const RUN_ID = 'bare-run';
let sequence = 0;

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    scalar JSON
    enum GenerationMode { TEXT_TO_IMAGE }
    input CreateRunInput { mode: GenerationMode! model: String! prompt: String! parameters: JSON }
    type Run { id: ID! status: String! progress: Float! sequence: Int! }
    type CreateRunSuccess { run: Run! }
    interface Error { message: String! code: String! }
    type ValidationError implements Error { message: String! code: String! field: String }
    union CreateRunResult = CreateRunSuccess | ValidationError
    type Model { key: String! }
    type Stage { kind: String! status: String! progress: Float! message: String step: Int maxSteps: Int }
    type RunEvent { sequence: Int! type: String! stage: Stage run: Run! }
    type Query { models: [Model!]! }
    type Mutation { createRun(input: CreateRunInput!): CreateRunResult! }
    type Subscription { runEvents(id: ID!): RunEvent! }
  `,
  resolvers: {
    Query: { models: () => [{ key: 'flux1-dev' }, { key: 'sdxl' }, { key: 'wan' }] },
    CreateRunResult: { __resolveType: () => 'CreateRunSuccess' },
    Mutation: {
      createRun: () => ({
        __typename: 'CreateRunSuccess',
        run: { id: randomUUID(), status: 'QUEUED', progress: 0, sequence: 0 },
      }),
    },
    Subscription: {
      runEvents: {
        subscribe: (_: unknown, { id }: { id: string }) =>
          new Repeater<EventPayload>(async (push, stop) => {
            const snapshot: EventPayload = {
              sequence,
              type: 'SNAPSHOT',
              stage: null,
              run: { id, status: 'QUEUED', progress: 0, sequence },
            };
            await push(snapshot);
            const iterator = pubSub.subscribe('run', id)[Symbol.asyncIterator]();
            stop.then(() => iterator.return?.());
            for (;;) {
              const next = await Promise.race([iterator.next(), stop.then(() => null)]);
              if (!next || next.done) break;
              await push(next.value);
              if (next.value.type === 'RUN_FINISHED') break;
            }
            stop();
          }),
        resolve: (payload: EventPayload) => payload,
      },
    },
  },
});

const yoga = createYoga({ schema, graphiql: false, logging: false });
const server = createServer((req, res) => {
  if (req.url === '/readyz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  void yoga(req, res);
});
type OperationResult = ReturnType<NonNullable<ServerOptions['execute']>>;
interface Enveloped {
  execute(args: ExecutionArgs): unknown;
  subscribe(args: ExecutionArgs): unknown;
}
const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
useServer(
  {
    // The envelop pipeline's execute/subscribe travel in rootValue (yoga's graphql-ws example).
    execute: (args) => (args.rootValue as Enveloped).execute(args) as OperationResult,
    subscribe: (args) => (args.rootValue as Enveloped).subscribe(args) as OperationResult,
    onSubscribe: async (ctx, _id, params) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx,
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        params,
      });
      const document = parse(params.query);
      const errors = validate(schema, document);
      if (errors.length) return errors;
      return {
        schema,
        operationName: params.operationName,
        document,
        variableValues: params.variables,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
    },
  },
  wss,
);

const now = () => performance.timeOrigin + performance.now();

async function publish(steps: number, intervalMs: number): Promise<[number, number][]> {
  const published: [number, number][] = [];
  const start = performance.now();
  const send = (payload: Omit<EventPayload, 'sequence'>) => {
    sequence++;
    pubSub.publish('run', RUN_ID, { ...payload, sequence });
  };
  for (let step = 1; step <= steps; step++) {
    // Each event at its own slot of the schedule, like a sampler stepping at a fixed rate.
    const wait = start + step * intervalMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    published.push([step, now()]);
    send({
      type: 'STAGE_PROGRESS',
      stage: {
        kind: 'GENERATE',
        status: 'RUNNING',
        progress: step / steps,
        message: `KSampler step ${step}/${steps}`,
        step,
        maxSteps: steps,
      },
      run: { id: RUN_ID, status: 'RUNNING', progress: step / steps, sequence: sequence + 1 },
    });
  }
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
  send({
    type: 'RUN_FINISHED',
    stage: null,
    run: { id: RUN_ID, status: 'SUCCEEDED', progress: 1, sequence: sequence + 1 },
  });
  return published;
}

process.on('message', (message: { publish?: { steps: number; intervalMs: number } }) => {
  if (message.publish) {
    void publish(message.publish.steps, message.publish.intervalMs).then((published) =>
      process.send?.({ published }),
    );
  }
});
process.once('SIGTERM', () => {
  wss.close();
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
server.listen(Number(process.env.PORT ?? 4001), '127.0.0.1');
