import {
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  GraphQLInt,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
} from 'graphql';
import { createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { countingTarget } from './pubsub.fixtures.ts';
import { createAtelierPubSub } from './pubsub.ts';
import {
  SHARED_EVENTS,
  type SharedEventsExtension,
  SharedSubscriptions,
} from './shared-subscriptions.ts';

/** A schema whose `tick` subscription is shared; counts resolves and per-subscriber calls. */
function setup() {
  const { target, listeners } = countingTarget();
  const pubsub = createAtelierPubSub(target);
  const counts = { resolves: 0, perSubscriber: 0 };
  const shared = new SharedSubscriptions();
  const Tick = new GraphQLObjectType({
    name: 'Tick',
    fields: { n: { type: GraphQLInt }, label: { type: GraphQLString } },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        tick: {
          type: Tick,
          args: { fail: { type: GraphQLString } },
          subscribe: async function* (_root, args: { fail?: string }) {
            if (args.fail) throw new Error(args.fail);
            yield* pubsub.subscribe('queue');
          },
          resolve: (event: { at: number }) => {
            counts.resolves++;
            return { n: event.at, label: `tick ${event.at}` };
          },
          extensions: {
            [SHARED_EVENTS]: {
              perSubscriber: () => {
                counts.perSubscriber++;
              },
            } satisfies SharedEventsExtension,
          },
        },
      },
    }),
  });
  const yoga = createYoga({ schema, plugins: [shared.plugin()], maskedErrors: false });
  /** One subscriber: its own context; `scope` as websocket.ts computes it. */
  const subscribe = async (text: string, scope: string) => {
    const { execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
      request: new Request('http://localhost/graphql'),
    });
    const document = parse(text);
    expect(validate(schema, document)).toEqual([]);
    const args: ExecutionArgs = {
      schema,
      document,
      contextValue: await contextFactory(),
      rootValue: { execute, subscribe },
    };
    const result = await subscribe(shared.prepare(args, text, scope));
    return result as AsyncIterableIterator<ExecutionResult> | ExecutionResult;
  };
  return { pubsub, listeners, counts, shared, subscribe };
}

const TICK = 'subscription { tick { n label } }';

describe('shared subscriptions', () => {
  it('a group gets one execution per event and the same result object; another scope executes its own', async () => {
    const { pubsub, listeners, counts, shared, subscribe } = setup();
    const group = await Promise.all([1, 2, 3].map(() => subscribe(TICK, 'alice')));
    const other = await subscribe(TICK, 'bob');
    const iterators = [...group, other].map((s) => s as AsyncIterableIterator<ExecutionResult>);
    // Each subscription listens once it is first asked for an event.
    const firsts = iterators.map((i) => i.next());
    await new Promise((resolve) => setImmediate(resolve));
    pubsub.publish('queue', { at: 1 });
    const results = (await Promise.all(firsts)).map((r) => r.value);
    expect(results[0]).toEqual({ data: { tick: { n: 1, label: 'tick 1' } } });
    expect(results[1]).toBe(results[0]);
    expect(results[2]).toBe(results[0]);
    expect(results[3]).not.toBe(results[0]);
    expect(results[3]).toEqual(results[0]);
    expect(counts).toEqual({ resolves: 2, perSubscriber: 4 });
    expect(shared.stats).toEqual({ executions: 2, shared: 2 });
    // Ending the mapped streams ends their sources: nothing listens any more.
    expect(listeners.get('queue')).toBe(1);
    await Promise.all(iterators.map((i) => i.return?.()));
    expect(listeners.get('queue')).toBe(0);
  });

  it('an operation it cannot share (a fragment on the root) is executed per subscriber', async () => {
    const { pubsub, counts, shared, subscribe } = setup();
    const text = 'subscription { ...T } fragment T on Subscription { tick { n } }';
    const iterators = (await Promise.all([1, 2].map(() => subscribe(text, 'alice')))).map(
      (s) => s as AsyncIterableIterator<ExecutionResult>,
    );
    const firsts = iterators.map((i) => i.next());
    await new Promise((resolve) => setImmediate(resolve));
    pubsub.publish('queue', { at: 7 });
    for (const r of await Promise.all(firsts))
      expect(r.value).toEqual({ data: { tick: { n: 7 } } });
    expect(counts.resolves).toBe(2);
    expect(shared.stats.executions).toBe(0);
    await Promise.all(iterators.map((i) => i.return?.()));
  });

  it("the source's error is the field's, located at it, with the original error kept", async () => {
    const { subscribe } = setup();
    const iterator = (await subscribe(
      'subscription { ticks: tick(fail: "no such run") { n } }',
      'alice',
    )) as AsyncIterableIterator<ExecutionResult>;
    const error = await iterator.next().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GraphQLError);
    expect((error as GraphQLError).path).toEqual(['ticks']);
    expect((error as GraphQLError).originalError?.message).toBe('no such run');
  });
});
