// Writes first, then publishes: every change bumps the run's sequence in the database and
// goes out on `run:<id>` with that sequence. Progress and previews are throttled per run.
import type { Database } from '../db/database.ts';
import { Prisma } from '../generated/prisma/client.ts';
import type { StageKind, StageStatus } from '../generated/prisma/enums.ts';
import type { PreviewPayload, PubSub, RunEventType } from '../pubsub.ts';

/** Columns of a stage that a change may set. */
export interface StagePatch {
  status?: StageStatus;
  progress?: number;
  message?: string | null;
  input?: string | null;
  output?: string | null;
  nodeId?: string | null;
  nodeType?: string | null;
  step?: number | null;
  maxSteps?: number | null;
  startedAt?: Date;
  finishedAt?: Date;
}

/** Columns of a run that a change may set (besides its sequence). */
export interface RunPatch {
  progress?: number;
  effectivePrompt?: string | null;
  effectiveNegativePrompt?: string | null;
  workerUrl?: string | null;
}

/** Changes of one run waiting for the statement in flight (see RunEvents.change). */
interface Writer {
  next: {
    run: RunPatch;
    stages: Partial<Record<StageKind, StagePatch>>;
    events: ChangeEvent[];
    waiters: { resolve(sequence: number | null): void; reject(error: unknown): void }[];
  } | null;
  running: Promise<void> | null;
  /** Starts the write waiting for the end of this turn now (see flushed). */
  kick: (() => void) | null;
  error: { cause: unknown } | null;
}

/** One event of a change. */
export interface ChangeEvent {
  type: RunEventType;
  stage?: StageKind | null;
  preview?: PreviewPayload | null;
  mediaId?: string | null;
}

type Column = 'enum' | 'float' | 'int' | 'text' | 'time';

const STAGE_COLUMNS: Record<keyof StagePatch, Column> = {
  status: 'enum',
  progress: 'float',
  message: 'text',
  input: 'text',
  output: 'text',
  nodeId: 'text',
  nodeType: 'text',
  step: 'int',
  maxSteps: 'int',
  startedAt: 'time',
  finishedAt: 'time',
};

const RUN_COLUMNS: Record<keyof RunPatch, Column> = {
  progress: 'float',
  effectivePrompt: 'text',
  effectiveNegativePrompt: 'text',
  workerUrl: 'text',
};

/** A typed SQL value (timestamps stored in UTC, as Prisma stores them). */
function value(type: Column, v: unknown, enumType: string): Prisma.Sql {
  switch (type) {
    case 'enum':
      return Prisma.sql`${v}::${Prisma.raw(`"${enumType}"`)}`;
    case 'float':
      return Prisma.sql`${v}::double precision`;
    case 'int':
      return Prisma.sql`${v}::integer`;
    case 'text':
      return Prisma.sql`${v}::text`;
    case 'time':
      return Prisma.sql`(${(v as Date).toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
  }
}

/** `"column" = value, …` for the defined keys of `patch` (columns from a fixed list only). */
function assignments<P extends object>(
  patch: P,
  columns: Record<keyof P, Column>,
  enumType: string,
): Prisma.Sql[] {
  const out: Prisma.Sql[] = [];
  for (const [key, v] of Object.entries(patch)) {
    const type = columns[key as keyof P];
    if (v === undefined || !type) continue;
    out.push(Prisma.sql`${Prisma.raw(`"${key}"`)} = ${value(type, v, enumType)}`);
  }
  return out;
}

/** "The queue changed" goes out at most once per this interval per process (trailing). */
export const QUEUE_CHANGED_INTERVAL_MS = 50;

export class RunEvents {
  private queueTimer: NodeJS.Timeout | null = null;
  private lastQueueChanged = 0;
  private queuedSinceLast = false;

  constructor(
    /** The statement of each change goes through the driver itself (see Database.query). */
    private readonly db: Pick<Database, 'query'>,
    private readonly pubsub: PubSub,
  ) {}

  /**
   * Writes a change of a run and its stages, bumping the run's sequence once per event, then
   * publishes the events in order with their sequences; resolves with the change's last
   * sequence (null when the run is gone). Changes of one run are written in order, one
   * statement at a time: changes made while a write is in flight are merged into the next
   * statement (later values win per column, events keep their order), so a burst (prompt
   * stages that finish at once) costs one or two statements, not one per change.
   */
  change(
    runId: string,
    patch: { run?: RunPatch; stages?: Partial<Record<StageKind, StagePatch>> },
    events: ChangeEvent[],
  ): Promise<number | null> {
    let writer = this.writers.get(runId);
    if (!writer) {
      writer = { next: null, running: null, kick: null, error: null };
      this.writers.set(runId, writer);
    }
    writer.next ??= { run: {}, stages: {}, events: [], waiters: [] };
    const batch = writer.next;
    Object.assign(batch.run, patch.run);
    for (const [kind, stage] of Object.entries(patch.stages ?? {}) as [StageKind, StagePatch][]) {
      batch.stages[kind] = { ...batch.stages[kind], ...stage };
    }
    batch.events.push(...events);
    const result = new Promise<number | null>((resolve, reject) => {
      batch.waiters.push({ resolve, reject });
    });
    // The first write waits for the end of this turn of the event loop, so changes made in
    // one burst (prompt stages without an LLM, then GENERATE's start) share one statement,
    // unless someone waits for it first (flushed).
    if (!writer.running) {
      const started = new Promise<void>((resolve) => {
        const turn = setImmediate(resolve);
        writer.kick = () => {
          clearImmediate(turn);
          resolve();
        };
      });
      writer.running = started.then(() => {
        writer.kick = null;
        return this.drain(runId, writer);
      });
    }
    return result;
  }

  /**
   * Waits until every change of the run made so far is written; rejects with the first
   * write that failed since the last call (changes nobody awaited report here). A write still
   * waiting for the end of this turn starts now: the burst it gathers is over once someone
   * waits for it (the worker's URL, written as a prompt leaves: the sooner it is written, the
   * shorter the time in which a crash leaves the prompt's worker unrecorded).
   */
  async flushed(runId: string): Promise<void> {
    const writer = this.writers.get(runId);
    if (!writer) return;
    writer.kick?.();
    await writer.running;
    const error = writer.error;
    writer.error = null;
    if (!writer.running && !writer.next) this.writers.delete(runId);
    if (error) throw error.cause;
  }

  private readonly writers = new Map<string, Writer>();

  private async drain(runId: string, writer: Writer): Promise<void> {
    try {
      for (;;) {
        const batch = writer.next;
        if (!batch) break;
        writer.next = null;
        try {
          const sequence = await this.write(runId, batch, batch.events);
          for (const w of batch.waiters) w.resolve(sequence);
        } catch (error) {
          writer.error ??= { cause: error };
          for (const w of batch.waiters) w.reject(error);
        }
      }
    } finally {
      writer.running = null;
      if (!writer.error) this.writers.delete(runId);
    }
  }

  /** One statement: the stages' updates in a WITH clause, then the run's, RETURNING its sequence. */
  private async write(
    runId: string,
    patch: { run?: RunPatch; stages?: Partial<Record<StageKind, StagePatch>> },
    events: ChangeEvent[],
  ): Promise<number | null> {
    const stageUpdates = Object.entries(patch.stages ?? {}).flatMap(([kind, stage], i) => {
      const sets = assignments(stage as StagePatch, STAGE_COLUMNS, 'StageStatus');
      if (!sets.length) return [];
      return [
        Prisma.sql`${Prisma.raw(`s${i}`)} AS (UPDATE "Stage" SET ${Prisma.join(sets, ', ')} WHERE "runId" = ${runId}::uuid AND "kind" = ${kind}::"StageKind")`,
      ];
    });
    const runSets = [
      Prisma.sql`"sequence" = "sequence" + ${events.length}::integer`,
      Prisma.sql`"updatedAt" = (${new Date().toISOString()}::timestamptz AT TIME ZONE 'UTC')`,
      ...assignments(patch.run ?? {}, RUN_COLUMNS, ''),
    ];
    const withClause = stageUpdates.length
      ? Prisma.sql`WITH ${Prisma.join(stageUpdates, ', ')} `
      : Prisma.empty;
    const rows = await this.db.query<{ sequence: number }>(
      Prisma.sql`${withClause}UPDATE "Run" SET ${Prisma.join(runSets, ', ')} WHERE "id" = ${runId}::uuid RETURNING "sequence"`,
    );
    const row = rows[0];
    if (!row) return null; // deleted meanwhile
    const last = Number(row.sequence);
    events.forEach((event, i) => {
      this.publish(runId, last - events.length + 1 + i, event, last);
    });
    return last;
  }

  /**
   * Publishes an event whose sequence bump the caller already wrote; `written` is the run's
   * sequence after that write (the last event written with this one).
   */
  publish(runId: string, sequence: number, event: ChangeEvent, written = sequence): void {
    this.pubsub.publish('run', runId, {
      runId,
      sequence,
      type: event.type,
      stage: event.stage ?? null,
      preview: event.preview ?? null,
      mediaId: event.mediaId ?? null,
      written,
      publishedAt: Date.now(),
    });
  }

  /**
   * Says the queue changed. A burst (40 runs created, a worker's slots freed) becomes one or
   * two messages: every listener re-reads the state anyway, and a flood of messages would
   * only fill the subscribers' buffers.
   */
  queueChanged(queued = false) {
    // `queued`: a run entered the queue (schedulers that found it empty look again).
    this.queuedSinceLast ||= queued;
    if (this.queueTimer) return;
    const wait = this.lastQueueChanged + QUEUE_CHANGED_INTERVAL_MS - Date.now();
    const publish = () => {
      this.queueTimer = null;
      this.lastQueueChanged = Date.now();
      const payload = { at: this.lastQueueChanged, queued: this.queuedSinceLast };
      this.queuedSinceLast = false;
      this.pubsub.publish('queue', payload);
    };
    if (wait <= 0) publish();
    else {
      this.queueTimer = setTimeout(publish, wait);
      this.queueTimer.unref();
    }
  }
}

/**
 * Calls `fn` at most once per `intervalMs`, always delivering the latest value last
 * (trailing call), so a burst ends with the newest state. A failed call goes to `onError`;
 * the next value is delivered all the same.
 */
export function throttleLatest<T>(
  intervalMs: number,
  onError: (error: unknown) => void,
  fn: (value: T) => Promise<unknown>,
) {
  let last = 0;
  let pending: { value: T } | null = null;
  let timer: NodeJS.Timeout | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  const fire = () => {
    timer = null;
    if (!pending) return;
    const { value } = pending;
    pending = null;
    // Slots stay on a fixed schedule: a timer that fired late (a busy event loop) does not
    // push every later slot back, so the rate holds at the cap; after a quiet spell the
    // schedule starts again from now.
    const now = Date.now();
    const since = now - last;
    last = since >= intervalMs && since < 2 * intervalMs ? last + intervalMs : now;
    chain = chain.then(() => fn(value)).catch(onError);
  };
  return {
    push(value: T) {
      pending = { value };
      const wait = last + intervalMs - Date.now();
      if (wait <= 0 && !timer) fire();
      else timer ??= setTimeout(fire, Math.max(0, wait));
    },
    /** Delivers what is pending now and waits for every delivery. */
    async flush() {
      if (timer) clearTimeout(timer);
      fire();
      await chain;
    },
    /**
     * Takes what is pending instead of delivering it (the caller records it otherwise), once
     * every delivery already started has ended.
     */
    async take(): Promise<T | null> {
      if (timer) clearTimeout(timer);
      timer = null;
      const taken = pending;
      pending = null;
      await chain;
      return taken ? taken.value : null;
    },
    /** Drops what is pending. */
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
      pending = null;
    },
  };
}
