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
// How: envelop (yoga's plugin pipeline) keeps running per subscriber, so error masking,
// metrics and tracing see every result as before; only the schema handed to the executor
// differs. In that schema an opted-in subscription field (extension `sharedEvents`) is a leaf
// whose resolver returns the shared result of the field for the event, so the per-subscriber
// executor does one resolver call instead of walking the selection. graphql-ws and yoga have
// no hook for "execute once per event for many subscriptions", hence this small layer.
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
  type GraphQLFieldResolver,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  getOperationAST,
  isNonNullType,
} from 'graphql';

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

/** The leaf that carries a shared result through the per-subscriber executor unchanged. */
const SharedResult = new GraphQLScalarType({
  name: 'SharedSubscriptionResult',
  description: 'Internal: an already executed subscription result.',
  serialize: (value) => value,
});

interface Operation {
  /** The arguments as validated, against the real schema. */
  args: ExecutionArgs;
  /** The group: subscribers with the same key get the same result for the same event. */
  key: string;
}

export class SharedSubscriptions {
  /** Per subscription (its context object): what to execute and with whom to share it. */
  private readonly operations = new WeakMap<object, Operation>();
  /** Per event object (it lives as long as some subscriber still holds it): result per group. */
  private readonly results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  private readonly shadows = new WeakMap<GraphQLSchema, GraphQLSchema | null>();
  /** Executions of an event, and deliveries that reused one. */
  readonly stats = { executions: 0, shared: 0 };

  /**
   * `args` for the executor: unchanged unless the operation subscribes to an opted-in field,
   * in which case they carry the sharing schema and the operation is remembered by its
   * context. `scope` must name everything of the subscriber that a resolver may read.
   */
  prepare<A extends ExecutionArgs>(args: A, text: string, scope: string): A {
    const operation = getOperationAST(args.document, args.operationName);
    if (operation?.operation !== 'subscription') return args;
    const shadow = this.shadowOf(args.schema);
    if (!shadow) return args;
    const context = args.contextValue;
    if (typeof context !== 'object' || context === null) return args;
    const key = [
      scope,
      args.operationName ?? '',
      JSON.stringify(args.variableValues ?? {}),
      text,
    ].join('\n');
    this.operations.set(context, { args, key });
    return { ...args, schema: shadow };
  }

  /** The schema with opted-in subscription fields as shared leaves (null: none opted in). */
  private shadowOf(schema: GraphQLSchema): GraphQLSchema | null {
    const kept = this.shadows.get(schema);
    if (kept !== undefined) return kept;
    const subscription = schema.getSubscriptionType();
    let shadow: GraphQLSchema | null = null;
    if (subscription) {
      const config = subscription.toConfig();
      const fields: GraphQLFieldConfigMap<unknown, unknown> = {};
      let shared = 0;
      for (const [name, field] of Object.entries(config.fields)) {
        const extension = field.extensions?.[SHARED_EVENTS] as SharedEventsExtension | undefined;
        if (!extension) {
          fields[name] = field;
          continue;
        }
        shared++;
        fields[name] = this.sharedField(field, extension);
      }
      if (shared) {
        const schemaConfig = schema.toConfig();
        const type = new GraphQLObjectType({ ...config, fields });
        shadow = new GraphQLSchema({
          ...schemaConfig,
          subscription: type,
          types: schemaConfig.types.filter((t) => t !== subscription),
          // The same types as the validated schema, plus one leaf: nothing new to validate.
          assumeValid: true,
        });
      }
    }
    this.shadows.set(schema, shadow);
    return shadow;
  }

  private sharedField(
    field: GraphQLFieldConfig<unknown, unknown>,
    extension: SharedEventsExtension,
  ): GraphQLFieldConfig<unknown, unknown> {
    const resolve: GraphQLFieldResolver<unknown, unknown> = (payload, _args, context, info) => {
      extension.perSubscriber?.(context as object, payload);
      const operation = this.operations.get(context as object);
      if (!operation) throw new Error('shared subscription without a prepared operation');
      const result = this.resultFor(payload, operation);
      const key = info.path.key as string;
      return result.then((r) => {
        // A result with errors is delivered as this field's error (masked per subscriber like
        // any other); its partial data is not, as the leaf cannot carry errors at a path.
        if (r.errors?.length) throw r.errors[0];
        return r.data?.[key] ?? null;
      });
    };
    return {
      ...field,
      type: isNonNullType(field.type) ? new GraphQLNonNull(SharedResult) : SharedResult,
      resolve,
    };
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
