// Observability end to end: /metrics (prom-client) after real runs, and OpenTelemetry traces
// exported over OTLP/HTTP to a collector on loopback when OTEL_EXPORTER_OTLP_ENDPOINT is set.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './fixtures/fuzz-client.ts';
import { T2I, waitIdle } from './fixtures/hardening.ts';
import {
  CREATE_RUN,
  createRun,
  createRunOk,
  holdQueue,
  watchHeld,
  watchRunWs,
} from './fixtures/runs.ts';
import { startTestServer, type TestServer } from './harness.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter(
      (s) =>
        s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
    )
    .reduce((sum, s) => sum + s.value, 0);
}

describe('/metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it('exposes the process metrics and histograms observed by runs, events and ComfyUI', async () => {
    // Two runs hold the sandbox; the third is watched from before it moves, so every one of
    // its events is delivered to a live subscriber.
    const hold = await holdQueue(server);
    const run = await createRunOk(server, { ...T2I, parameters: { ...T2I.parameters, steps: 2 } });
    const refused = await createRun(server, { ...T2I, model: 'no-such-model' });
    expect(refused.__typename).toBe('ValidationError');
    const events = await watchHeld(server, hold, run.id);
    expect(events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', run: { status: 'SUCCEEDED' } });
    await waitIdle(server);

    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const samples = parseMetrics(text);
    const sandbox = server.app.sandbox!.url;

    // collectDefaultMetrics: the standard process and Node.js figures.
    expect(total(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(total(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(text).toMatch(/^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    // The app's gauges, read when scraped.
    expect(total(samples, 'atelier_runs', { status: 'SUCCEEDED' })).toBe(3);
    expect(total(samples, 'atelier_worker_up', { url: sandbox, sandbox: 'true' })).toBe(1);

    expect(text).toMatch(/^# TYPE atelier_run_queue_wait_seconds histogram$/m);
    expect(total(samples, 'atelier_run_queue_wait_seconds_count')).toBe(3);
    const succeeded = { model: 'flux1-dev', mode: 'TEXT_TO_IMAGE', status: 'SUCCEEDED' };
    expect(total(samples, 'atelier_run_duration_seconds_count', succeeded)).toBe(3);
    expect(total(samples, 'atelier_run_duration_seconds_sum', succeeded)).toBeGreaterThan(0);
    expect(
      total(samples, 'atelier_run_duration_seconds_bucket', { ...succeeded, le: '+Inf' }),
    ).toBe(3);
    expect(
      total(samples, 'atelier_create_run_duration_seconds_count', { outcome: 'created' }),
    ).toBe(3);
    expect(
      total(samples, 'atelier_create_run_duration_seconds_count', { outcome: 'refused' }),
    ).toBe(1);
    // Every live event of the watched run reached its subscriber (the SNAPSHOT is not one).
    const live = events.filter((e) => e.type !== 'SNAPSHOT');
    expect(total(samples, 'atelier_run_event_delivery_lag_seconds_count')).toBe(live.length);
    expect(
      total(samples, 'atelier_run_event_delivery_lag_seconds_count', { type: 'RUN_FINISHED' }),
    ).toBe(1);

    // Three prompts ran one after the other on the sandbox: two gaps between them.
    expect(total(samples, 'atelier_comfyui_idle_gap_seconds_count', { url: sandbox })).toBe(2);
    expect(total(samples, 'atelier_comfyui_busy_seconds_total', { url: sandbox })).toBeGreaterThan(
      0,
    );
    const ratio = total(samples, 'atelier_comfyui_busy_ratio', { url: sandbox });
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThanOrEqual(1);
  });
});

describe('/metrics of an `atelier worker` process (no API)', () => {
  it('are served on METRICS_PORT, with the pool and process figures; nothing else is', async () => {
    const port = await freePort();
    const worker = await startTestServer({ METRICS_PORT: String(port) }, undefined, {
      api: false,
    });
    // Ready before its sandbox answered: the pool's figures are read once it did.
    await worker.app.services.executor.probed();
    try {
      const base = `http://127.0.0.1:${port}`;
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      const samples = parseMetrics(await res.text());
      const sandbox = worker.app.sandbox!.url;
      expect(total(samples, 'atelier_worker_up', { url: sandbox, sandbox: 'true' })).toBe(1);
      expect(
        samples.some((s) => s.name === 'atelier_comfyui_busy_ratio' && s.labels.url === sandbox),
      ).toBe(true);
      expect(total(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect((await fetch(`${base}/graphql`)).status).toBe(404);
    } finally {
      await worker.stop();
    }
    // Stopped with the process: the port is closed.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

/** A stand-in OpenTelemetry collector: keeps the spans POSTed to /v1/traces (OTLP/JSON). */
async function startCollector(): Promise<{
  url: string;
  spans: OtlpSpan[];
  close(): Promise<void>;
}> {
  const spans: OtlpSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const rs of body.resourceSpans)
          for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';
const TRACEPARENT = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`;

function attribute(span: OtlpSpan, key: string): string | number | undefined {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
}

describe('traces over OTLP/HTTP', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  beforeAll(async () => {
    collector = await startCollector();
  });
  afterAll(() => collector?.close());

  it('exports spans of a GraphQL operation, a run, its stages, ComfyUI calls and storage', async () => {
    const server = await startTestServer({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
    let runId: string;
    try {
      // Sent with W3C trace context: the operation joins the caller's trace.
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: TRACEPARENT },
        body: JSON.stringify({ query: CREATE_RUN, variables: { input: T2I } }),
      });
      const body = (await res.json()) as { data: { createRun: { run: { id: string } } } };
      const run = body.data.createRun.run;
      runId = Buffer.from(run.id, 'base64').toString('utf8').split(':')[1]!;
      const events = await watchRunWs(server, run.id);
      expect(events.at(-1)?.run.status).toBe('SUCCEEDED');
    } finally {
      // Stopping flushes every ended span to the collector before it returns.
      await server.stop();
    }
    const spans = collector.spans;
    const named = (name: string) => spans.filter((s) => s.name === name);
    const one = (name: string) => {
      const found = named(name);
      expect(found, `spans named ${name}: ${spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
      return found[0]!;
    };

    // GraphQL (@envelop/opentelemetry): the operation, a server span.
    const mutation = one('mutation.Create');
    expect(mutation.kind).toBe(2); // SPAN_KIND_SERVER
    expect(attribute(mutation, 'graphql.execute.operationName')).toBe('Create');
    expect(mutation.traceId).toBe(CALLER_TRACE);
    expect(mutation.parentSpanId).toBe(CALLER_SPAN);

    // The run is a trace of its own: its stages under it, the ComfyUI calls under those.
    const runSpan = one('run');
    expect(attribute(runSpan, 'atelier.run.id')).toBe(runId);
    expect(attribute(runSpan, 'atelier.run.status')).toBe('SUCCEEDED');
    expect(runSpan.traceId).not.toBe(CALLER_TRACE);
    expect(runSpan.parentSpanId || undefined).toBeUndefined();
    for (const stage of ['stage TRANSLATE', 'stage STYLE', 'stage OPTIMIZE', 'stage GENERATE']) {
      expect(one(stage).parentSpanId).toBe(runSpan.spanId);
    }
    const prompt = one('comfyui prompt');
    expect(prompt.parentSpanId).toBe(one('stage GENERATE').spanId);
    expect(attribute(prompt, 'atelier.comfyui.prompt_id')).toBeTruthy();
    const submit = one('comfyui POST /prompt');
    expect(submit.parentSpanId).toBe(prompt.spanId);
    expect(submit.kind).toBe(3); // SPAN_KIND_CLIENT
    expect(attribute(submit, 'http.response.status_code')).toBe(200);
    // The output downloaded as its node reported it, in the prompt's trace; the socket saw the
    // whole prompt, so its `execution_success` was the outcome and no history was asked.
    const view = one('comfyui GET /view');
    expect(view.traceId).toBe(runSpan.traceId);
    expect(named('comfyui GET /history/{id}')).toEqual([]);

    // Storing the output: a put (the image and its thumbnail) in the run's trace.
    const puts = named('storage put').filter((s) => s.traceId === runSpan.traceId);
    expect(puts.length).toBeGreaterThanOrEqual(1);
    expect(Number(attribute(puts[0]!, 'atelier.storage.bytes'))).toBeGreaterThan(0);
  });
});
