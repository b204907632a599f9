// OpenTelemetry traces: GraphQL operations (@envelop/opentelemetry), runs and their stages,
// ComfyUI calls and storage. Exported over OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT
// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; the SDK is then loaded by dynamic import.
// Otherwise nothing is loaded beyond @opentelemetry/api, and `withSpan` only calls its function.
import type { Readable } from 'node:stream';
import {
  type Attributes,
  context,
  DiagLogLevel,
  diag,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { Plugin } from 'graphql-yoga';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';

const TRACER = 'atelier';

/** What `withSpan` passes when tracing is off: every method does nothing. */
const NOOP_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** The provider this process registered, shared by every app started in it (tests start several). */
let active: {
  url: string;
  users: number;
  provider: { forceFlush(): Promise<void>; shutdown(): Promise<void> };
  plugin: Plugin;
} | null = null;
let starting: Promise<void> | null = null;

/** Whether spans are recorded and exported in this process now. */
export function tracingEnabled(): boolean {
  return active !== null;
}

/**
 * `fn`, bound to the trace active now: whatever it starts later (from a socket's message
 * handler, say) belongs to this trace, not to the caller's of that moment.
 */
export function inThisTrace<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return context.bind(context.active(), fn);
}

/**
 * Runs `fn` in a new active span (a child of the current one, or with `root` the start of a
 * trace), ending it when `fn` settles; a thrown error is recorded on the span and rethrown.
 * With tracing off it just calls `fn`.
 */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  options: { kind?: SpanKind; root?: boolean } = {},
): Promise<T> {
  if (!active) return fn(NOOP_SPAN);
  return trace
    .getTracer(TRACER)
    .startActiveSpan(
      name,
      { kind: options.kind ?? SpanKind.INTERNAL, attributes, root: options.root ?? false },
      async (span): Promise<T> => {
        try {
          return await fn(span);
        } catch (error) {
          failSpan(span, error);
          throw error;
        } finally {
          span.end();
        }
      },
    );
}

/** Records `error` on `span` and marks it failed. */
export function failSpan(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/** A span over a stream's life: from now until it ends, fails or is closed. */
export function traceStream<S extends Readable>(
  name: string,
  attributes: Attributes,
  stream: S,
): S {
  if (!active) return stream;
  const span = trace.getTracer(TRACER).startSpan(name, { kind: SpanKind.CLIENT, attributes });
  let ended = false;
  const end = (error?: unknown) => {
    if (ended) return;
    ended = true;
    if (error) failSpan(span, error);
    span.end();
  };
  // Only records the outcome: the consumer (a pipeline, for await) handles a failure.
  stream.on('end', () => end());
  stream.on('error', (error) => end(error));
  stream.on('close', () => end());
  return stream;
}

export interface Tracing {
  /** The GraphQL plugin (operation spans), or null with tracing off. */
  readonly plugin: Plugin | null;
  /** Exports every span ended so far. */
  flush(): Promise<void>;
  /** Flushes and, for the last app using it, shuts the exporter down. */
  shutdown(): Promise<void>;
}

const NO_TRACING: Tracing = {
  plugin: null,
  flush: async () => {},
  shutdown: async () => {},
};

/**
 * Starts exporting traces when `config` names an OTLP endpoint: a NodeTracerProvider with a
 * BatchSpanProcessor and the OTLP/HTTP (JSON) exporter, registered as the global provider.
 */
export async function startTracing(config: Config['tracing'], log: Logger): Promise<Tracing> {
  if (!config) return NO_TRACING;
  // Apps started at once in one process (tests) share one provider, registered once.
  starting ??= register(config, log).finally(() => {
    starting = null;
  });
  if (!active) await starting;
  const current = active;
  if (!current) throw new Error('tracing did not start');
  if (current.url !== config.url) {
    log.warn('traces already go to another OTLP endpoint in this process; using it', {
      url: current.url,
    });
  }
  current.users++;
  let stopped = false;
  return {
    plugin: current.plugin,
    flush: () => current.provider.forceFlush(),
    async shutdown() {
      if (stopped) return;
      stopped = true;
      // A collector that is down loses these spans; it must not stop the shutdown.
      const exported = (what: string) => (error: unknown) =>
        log.warn(`could not export traces (${what}); they are lost`, {
          url: current.url,
          error: Array.isArray(error) ? error[0] : error,
        });
      const last = --current.users === 0;
      if (!last) {
        await current.provider.forceFlush().catch(exported('flush'));
        return;
      }
      if (active === current) active = null;
      await current.provider.shutdown().catch(exported('shutdown'));
      trace.disable();
      context.disable();
      propagation.disable();
      diag.disable();
    },
  };
}

/** Loads the SDK and registers the process's provider (`active`), once. */
async function register(config: NonNullable<Config['tracing']>, log: Logger): Promise<void> {
  if (active) return;
  const [
    { NodeTracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    { resourceFromAttributes },
    { ATTR_SERVICE_NAME },
    { useOpenTelemetry, setCurrentOtelContext },
  ] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
    import('@envelop/opentelemetry'),
  ]);
  // The SDK reports export failures (collector down, refused) through `diag`: log them.
  diag.setLogger(
    {
      error: (message, ...args) => log.warn(`opentelemetry: ${message}`, diagData(args)),
      warn: (message, ...args) => log.warn(`opentelemetry: ${message}`, diagData(args)),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.url }))],
  });
  provider.register();
  const operations = useOpenTelemetry(
    // Operation spans only: no span per resolver, no variables (prompts are user data).
    { resolvers: false, variables: false, result: false },
    provider,
    SpanKind.SERVER,
    {},
    'atelier-graphql',
  ) as unknown as Plugin;
  // A request that carries W3C trace context (`traceparent`) continues the caller's trace.
  const continueTrace: Plugin = {
    onContextBuilding({ context }) {
      const headers = (context as { request?: { headers?: Headers } }).request?.headers;
      if (typeof headers?.get !== 'function' || !headers.get('traceparent')) return;
      setCurrentOtelContext(
        context,
        propagation.extract(ROOT_CONTEXT, headers, {
          get: (carrier, key) => carrier.get(key) ?? undefined,
          keys: (carrier) => [...carrier.keys()],
        }),
      );
    },
  };
  const plugin: Plugin = {
    onPluginInit({ addPlugin }) {
      addPlugin(continueTrace);
      addPlugin(operations);
    },
  };
  active = { url: config.url, users: 0, provider, plugin };
  log.info('exporting traces over OTLP/HTTP', { url: config.url });
}

function diagData(args: unknown[]): Record<string, unknown> | undefined {
  const error = args.find((a) => a instanceof Error);
  if (error) return { error };
  return args.length ? { details: args.map((a) => String(a)) } : undefined;
}
