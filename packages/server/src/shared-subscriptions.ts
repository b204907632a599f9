// One execution per event for every subscriber of the same operation. A thousand clients
// watching one run receive the same event object from pub/sub and send the same document and
// variables, so running the selection set a thousand times (resolvers, Pothos' query mapping,
// relay ids) gives a thousand identical results. Here the first subscriber to reach an event
// executes it; the others in its group get that result.
//
// A group is (scope, document text, operation name, variables): the scope names whatever in a
// subscriber's context a resolver may read and that differs between subscribers (the account,
// its scopes and key, the origin that media URLs are built from), so two subscribers share a
// result only when their own executions could not have differed. Who may subscribe at all is
// still decided per subscriber: the field's `subscribe` (runEvents checks that the viewer may
// read the run) runs for each one, and only the events it yields are executed or shared.
//
// How: the subscription keeps its own source stream (the field's `subscribe`, run for each
// subscriber), and envelop (yoga's plugin pipeline) keeps wrapping it, so error masking and
// metrics see every result as before, and a plugin that wraps the subscribe function (the
// tracing span) wraps this one when it comes after it in the plugin list (app.ts). Only the
// mapping of an event to a result changes: where graphql-js would execute the whole document
// for each subscriber and event, an opted-in operation (its root field has the extension
// `sharedEvents`) takes the group's result for the event, the same object for every
// subscriber of the group. The plugin below
// swaps envelop's subscribe function for such operations. graphql-ws and yoga have no hook for
// "execute once per event for many subscriptions", hence this small layer.
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type FieldNode,
  type GraphQLSchema,
  getOperationAST,
  Kind,
  locatedError,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Extension key that opts a subscription field in (see SharedEventsExtension). */
export const SHARED_EVENTS = 'sharedEvents';

/** `extensions: { sharedEvents: … }` of a subscription field whose events may be shared. */
export interface SharedEventsExtension {
  /**
   * Called for every subscriber and event with the subscriber's own context, before the
   * shared result is used: per-subscriber bookkeeping that the field's `resolve` did (the
   * delivery lag metric), since that resolve now runs once per group.
   */
  perSubscriber?: (context: object, payload: unknown) => void;
}

interface Operation {
  /** The arguments as validated, against the real schema. */
  args: ExecutionArgs;
  /** The group: subscribers with the same key get the same result for the same event. */
  key: string;
  /** The opted-in root field's extension. */
  extension: SharedEventsExtension;
  /** That field in the document, where its errors are located. */
  field: FieldNode;
}

export class SharedSubscriptions {
  /** Per subscription (its context object): what to execute and with whom to share it. */
  private readonly operations = new WeakMap<object, Operation>();
  /** Per event object (it lives as long as some subscriber still holds it): result per group. */
  private readonly results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  /** Executions of an event, and deliveries that reused one. */
  readonly stats = { executions: 0, shared: 0 };

  /**
   * Remembers, by its context, a subscription whose root field opted in, so that the
   * plugin's subscribe shares its events. `scope` must name everything of the subscriber
   * that a resolver may read. Returns `args` unchanged.
   */
  prepare<A extends ExecutionArgs>(args: A, text: string, scope: string): A {
    const context = args.contextValue;
    if (typeof context !== 'object' || context === null) return args;
    const shared = sharedFieldOf(args.schema, args.document, args.operationName);
    if (!shared) return args;
    const key = [
      scope,
      args.operationName ?? '',
      JSON.stringify(args.variableValues ?? {}),
      text,
    ].join('\n');
    this.operations.set(context, { args, key, ...shared });
    return args;
  }

  /**
   * The envelop plugin (add it to yoga's plugins, before any plugin that wraps the subscribe
   * function: `setSubscribeFn` replaces the function, it does not wrap it): a prepared
   * subscription gets a subscribe function that maps each event to its group's result
   * instead of executing it.
   */
  plugin(): Plugin {
    return {
      onSubscribe: ({ args, setSubscribeFn }) => {
        const context = args.contextValue;
        if (typeof context !== 'object' || context === null) return;
        const operation = this.operations.get(context);
        if (!operation) return;
        setSubscribeFn((args) => this.subscribe(args, operation));
      },
    };
  }

  /** The field's own source stream, each event mapped to the group's result. */
  private async subscribe(
    args: ExecutionArgs,
    operation: Operation,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream;
    const source = stream[Symbol.asyncIterator]();
    const context = args.contextValue as object;
    // Errors are this field's, located like graphql-js locates them (so masking knows a
    // domain error from a fault); a failed execution ends nothing, a failed source ends it.
    const field = operation.field;
    const located = (error: unknown) =>
      locatedError(error, [field], [field.alias?.value ?? field.name.value]);
    const deliver = async (payload: unknown): Promise<ExecutionResult> => {
      operation.extension.perSubscriber?.(context, payload);
      try {
        return await this.resultFor(payload, operation);
      } catch (error) {
        return { errors: [located(error)] };
      }
    };
    const done = { value: undefined, done: true } as const;
    const mapped: AsyncIterableIterator<ExecutionResult> = {
      async next() {
        let next: IteratorResult<unknown>;
        try {
          next = await source.next();
        } catch (error) {
          throw located(error);
        }
        if (next.done) return done;
        return { value: await deliver(next.value), done: false };
      },
      async return() {
        await source.return?.();
        return done;
      },
      async throw(error: unknown) {
        await source.return?.();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return mapped;
      },
    };
    return mapped;
  }

  /** The result of `operation` for `payload`, executed by the first of its group to ask. */
  private resultFor(payload: unknown, operation: Operation): Promise<ExecutionResult> {
    const run = () => {
      this.stats.executions++;
      const { schema, document, operationName, variableValues, contextValue } = operation.args;
      return Promise.resolve(
        execute({
          schema,
          document: document as DocumentNode,
          operationName,
          variableValues,
          contextValue,
          rootValue: payload,
        }),
      );
    };
    // Events without identity cannot be recognised again: executed for this subscriber only.
    if (typeof payload !== 'object' || payload === null) return run();
    let byGroup = this.results.get(payload);
    if (!byGroup) {
      byGroup = new Map();
      this.results.set(payload, byGroup);
    }
    const kept = byGroup.get(operation.key);
    if (kept) {
      this.stats.shared++;
      return kept;
    }
    const result = run();
    byGroup.set(operation.key, result);
    return result;
  }
}

/**
 * The `sharedEvents` extension of the subscription's root field, when the operation selects
 * exactly one field of the subscription type, plainly (no fragment, no directive); else null.
 */
function sharedFieldOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
): { extension: SharedEventsExtension; field: FieldNode } | null {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'subscription') return null;
  const selections = operation.selectionSet.selections;
  const [field] = selections;
  if (selections.length !== 1 || field?.kind !== Kind.FIELD || field.directives?.length) {
    return null;
  }
  const definition = schema.getSubscriptionType()?.getFields()[field.name.value];
  const extension = definition?.extensions?.[SHARED_EVENTS] as SharedEventsExtension | undefined;
  return extension ? { extension, field } : null;
}
