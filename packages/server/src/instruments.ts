// The process's Prometheus instruments (prom-client): histograms observed where things
// happen (a run claimed, a run finished, createRun, a run event delivered, a ComfyUI server
// idle between prompts) and GPU busy figures read when scraped. One set per process, shared by
// every app in it; GET /metrics (metrics.ts) adds the standard process metrics and each app's
// own gauges.
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Plugin } from 'graphql-yoga';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AtelierError } from './domain-errors.ts';

/** The process-wide registry: these instruments and the default process metrics. */
export const processRegistry = new Registry();

const registers = [processRegistry];

const queueWait = new Histogram({
  name: 'atelier_run_queue_wait_seconds',
  help: 'Time from a run being created to a process claiming it for execution.',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
  registers,
});

const runDuration = new Histogram({
  name: 'atelier_run_duration_seconds',
  help: 'Time from a run being claimed to its end (all stages and storing its outputs), by model, mode and final status.',
  labelNames: ['model', 'mode', 'status'] as const,
  buckets: [0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600],
  registers,
});

const createRunLatency = new Histogram({
  name: 'atelier_create_run_duration_seconds',
  help: 'Time the createRun resolver takes, by outcome: created, refused (a typed error such as a validation error) or error.',
  labelNames: ['outcome'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers,
});

const eventLag = new Histogram({
  name: 'atelier_run_event_delivery_lag_seconds',
  help: 'Time from a run event being published to its result being ready for one subscriber (runEvents), by event type.',
  labelNames: ['type'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers,
});

const idleGap = new Histogram({
  name: 'atelier_comfyui_idle_gap_seconds',
  help: 'Time a ComfyUI server executed none of our prompts between one ending and the next starting (0: the next started first).',
  labelNames: ['url'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers,
});

const orphansDeleted = new Counter({
  name: 'atelier_storage_orphans_deleted_total',
  help: 'Files in storage that no media named (left by a process killed mid-run, or written after their media was deleted), deleted by the storage sweep.',
  registers,
});

/** The storage sweep deleted `count` files no media named. */
export function observeOrphansDeleted(count: number): void {
  orphansDeleted.inc(count);
}

/** A run was claimed: its wait in the queue. */
export function observeQueueWait(run: { createdAt: Date; startedAt: Date | null }): void {
  if (!run.startedAt) return;
  queueWait.observe(Math.max(0, run.startedAt.getTime() - run.createdAt.getTime()) / 1000);
}

/**
 * A run ended (SUCCEEDED, FAILED or CANCELED) after it was claimed. Its span (the active one,
 * when traced) says how.
 */
export function observeRunFinished(run: {
  modelKey: string;
  mode: string;
  status: string;
  errorCode: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}): void {
  if (!run.startedAt || !run.finishedAt) return;
  const span = trace.getActiveSpan();
  if (span?.isRecording()) {
    span.setAttribute('atelier.run.status', run.status);
    if (run.errorCode) span.setAttribute('atelier.run.error_code', run.errorCode);
    if (run.status === 'FAILED')
      span.setStatus({ code: SpanStatusCode.ERROR, message: run.errorCode ?? '' });
  }
  runDuration.observe(
    { model: run.modelKey, mode: run.mode, status: run.status },
    Math.max(0, run.finishedAt.getTime() - run.startedAt.getTime()) / 1000,
  );
}

/** Times a createRun call: `created`, `refused` (a domain error) or `error`. */
export async function timeCreateRun<T>(create: () => Promise<T>): Promise<T> {
  const end = createRunLatency.startTimer();
  try {
    const result = await create();
    end({ outcome: 'created' });
    return result;
  } catch (error) {
    end({ outcome: error instanceof AtelierError ? 'refused' : 'error' });
    throw error;
  }
}

/** A run event published at `publishedAt` (ms since the epoch) reached a subscriber now. */
export function observeEventDelivery(type: string, publishedAt: number): void {
  eventLag.observe({ type }, Math.max(0, Date.now() - publishedAt) / 1000);
}

/** Run events being executed for a subscriber, by its GraphQL context, until delivered. */
const inFlight = new WeakMap<object, { type: string; publishedAt: number }>();

/**
 * Notes the run event being resolved for a subscriber (its context): the `runEvents` resolver
 * does, and for subscribers sharing a group's result (shared-subscriptions.ts) its
 * `perSubscriber` hook, once per subscriber. Once the result is ready (useRunEventMetrics) the
 * lag since publishing is observed.
 */
export function noteRunEvent<E extends { type: string; publishedAt?: number }>(
  context: object,
  event: E,
): E {
  if (event.publishedAt)
    inFlight.set(context, { type: event.type, publishedAt: event.publishedAt });
  return event;
}

/** Observes atelier_run_event_delivery_lag_seconds as each subscription result is ready. */
export function useRunEventMetrics(): Plugin {
  return {
    onSubscribe() {
      return {
        onSubscribeResult({ args }) {
          const context = args.contextValue as object;
          return {
            onNext() {
              const event = inFlight.get(context);
              if (!event) return;
              inFlight.delete(context);
              observeEventDelivery(event.type, event.publishedAt);
            },
          };
        },
      };
    },
  };
}

/** A ComfyUI server started one of our prompts after idling `seconds`. */
export function observeIdleGap(url: string, seconds: number): void {
  idleGap.observe({ url }, seconds);
}

/** What a ComfyUI server's GPU did, for the busy gauges. */
export interface GpuBusy {
  url: string;
  /** Seconds it executed our prompts since this process started following it. */
  busySeconds: number;
  /** Share of the last BUSY_WINDOW_SECONDS (or since following it, if shorter) it was busy. */
  busyRatio: number;
}

/** The sliding window of atelier_comfyui_busy_ratio. */
export const BUSY_WINDOW_SECONDS = 60;

const gpuSources = new Set<() => GpuBusy[]>();

/** Reports GPU usage when scraped, until the returned function is called (a pool stopping). */
export function registerGpuSource(source: () => GpuBusy[]): () => void {
  gpuSources.add(source);
  return () => gpuSources.delete(source);
}

function gpuFigures(): GpuBusy[] {
  return [...gpuSources].flatMap((source) => source());
}

new Gauge({
  name: 'atelier_comfyui_busy_ratio',
  help: `Share of the last ${BUSY_WINDOW_SECONDS} s a ComfyUI server spent executing our prompts.`,
  labelNames: ['url'] as const,
  registers,
  collect() {
    this.reset();
    for (const g of gpuFigures()) this.set({ url: g.url }, g.busyRatio);
  },
});

new Counter({
  name: 'atelier_comfyui_busy_seconds_total',
  help: 'Seconds a ComfyUI server spent executing our prompts (rate() of it is its busy ratio).',
  labelNames: ['url'] as const,
  registers,
  collect() {
    this.reset();
    for (const g of gpuFigures()) this.inc({ url: g.url }, g.busySeconds);
  },
});
