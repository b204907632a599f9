// Writes first, then publishes: every change bumps the run's sequence in the database and
// goes out on `run:<id>` with that sequence. Progress and previews are throttled per run.
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { StageKind } from '../generated/prisma/enums.ts';
import type { PreviewPayload, PubSub, RunEventType } from '../pubsub.ts';

/** "The queue changed" goes out at most once per this interval per process (trailing). */
export const QUEUE_CHANGED_INTERVAL_MS = 50;

export class RunEvents {
  private queueTimer: NodeJS.Timeout | null = null;
  private lastQueueChanged = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly pubsub: PubSub,
  ) {}

  /** Bumps the run's sequence and publishes one event; returns the new sequence (null if gone). */
  async emit(
    runId: string,
    type: RunEventType,
    extra: {
      stage?: StageKind | null;
      preview?: PreviewPayload | null;
      mediaId?: string | null;
    } = {},
  ): Promise<number | null> {
    const updated = await this.prisma.run
      .update({
        where: { id: runId },
        data: { sequence: { increment: 1 } },
        select: { sequence: true },
      })
      .catch((error: { code?: string }) => {
        if (error.code === 'P2025') return null; // deleted meanwhile
        throw error;
      });
    if (!updated) return null;
    this.pubsub.publish('run', runId, {
      runId,
      sequence: updated.sequence,
      type,
      stage: extra.stage ?? null,
      preview: extra.preview ?? null,
      mediaId: extra.mediaId ?? null,
      publishedAt: Date.now(),
    });
    return updated.sequence;
  }

  /**
   * Says the queue changed. A burst (40 runs created, a worker's slots freed) becomes one or
   * two messages: every listener re-reads the state anyway, and a flood of messages would
   * only fill the subscribers' buffers.
   */
  queueChanged() {
    if (this.queueTimer) return;
    const wait = this.lastQueueChanged + QUEUE_CHANGED_INTERVAL_MS - Date.now();
    const publish = () => {
      this.queueTimer = null;
      this.lastQueueChanged = Date.now();
      this.pubsub.publish('queue', { at: this.lastQueueChanged });
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
    last = Date.now();
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
    /** Drops what is pending. */
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
      pending = null;
    },
  };
}
