// What a runEvents subscriber receives after its SNAPSHOT: the live events of the run, in
// order, each once, with back-pressure (latest-wins.ts), and a catch-up from the database
// after a quiet spell, because pub/sub across processes (Redis) delivers at most once.
//
// A quiet spell can end at the moment an event is written but still on its way through
// pub/sub (a loaded process or Redis delays it by a few hundred milliseconds). The database
// is then ahead of what arrived, yet nothing is lost: the event is coming. The catch-up
// therefore waits a short grace for the events up to the database's sequence before it
// sends a SNAPSHOT in their place; an event that arrives within the grace reaches the
// subscriber as itself (a STAGE_STARTED, an OUTPUT), not folded into a snapshot.
import type { RunEventPayload } from '../pubsub.ts';
import { IDLE, latestWins } from './latest-wins.ts';

/** A run's state as the catch-up reads it from the database (null: the run is gone). */
export interface RunMark {
  sequence: number;
  status: string;
}

export interface FollowRunOptions {
  runId: string;
  /** The sequence the subscriber has (its SNAPSHOT's). */
  from: number;
  /** Reads the run's sequence and status (after a quiet spell). */
  read(): Promise<RunMark | null>;
  /** A quiet spell this long (ms) triggers a read; twice as long each time in a row. */
  idleMs: number;
  /** How long (ms) to wait for events the database has but pub/sub has not delivered yet. */
  graceMs: number;
  /** Called with each event as it arrives, before it waits in the buffer. */
  arrived?(event: RunEventPayload): void;
}

const active = (status: string) => status === 'QUEUED' || status === 'RUNNING';

/**
 * Follows `live` (the run's pub/sub events) from `from`: yields each newer event once, in
 * order, and ends after RUN_FINISHED. When the database is ahead after the grace, yields a
 * SNAPSHOT (or RUN_FINISHED, when the run has ended) with the database's sequence instead.
 */
export async function* followRun(
  live: AsyncIterable<RunEventPayload>,
  options: FollowRunOptions,
): AsyncGenerator<RunEventPayload> {
  let last = options.from;
  // Every sequence up to `arrivedUpTo` arrived (delivered, or waiting in the buffer), with no
  // gap: each sequence bump of a run is one published event, so a sequence missing below a
  // later one is an event pub/sub lost, and later events must not hide it. Sequences that
  // arrived above a gap wait in `ahead`. Then whoever waits for arrivals.
  let arrivedUpTo = options.from;
  const ahead = new Set<number>();
  let onArrival: (() => void) | null = null;
  const events = latestWins(
    live,
    (e) => (e.type === 'STAGE_PROGRESS' || e.type === 'PREVIEW' ? `${e.type}:${e.stage}` : null),
    {
      idleMs: options.idleMs,
      arrived: (e) => {
        options.arrived?.(e);
        if (e.sequence <= arrivedUpTo) return;
        ahead.add(e.sequence);
        while (ahead.delete(arrivedUpTo + 1)) arrivedUpTo++;
        onArrival?.();
      },
    },
  );
  /** Resolves once events up to `sequence` arrived, or after the grace. */
  const arrival = (sequence: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        onArrival = null;
        resolve();
      };
      const timer = setTimeout(done, options.graceMs);
      timer.unref();
      onArrival = () => {
        if (arrivedUpTo >= sequence) done();
      };
    });
  for await (const event of events) {
    if (event !== IDLE) {
      if (event.sequence <= last) continue;
      last = event.sequence;
      yield event;
      if (event.type === 'RUN_FINISHED') return;
      continue;
    }
    const now = await options.read();
    if (!now) return;
    const finished = !active(now.status);
    if (now.sequence <= last) {
      if (!finished) continue;
    } else {
      // Events up to the database's sequence may be on their way: then they come next.
      if (arrivedUpTo < now.sequence) await arrival(now.sequence);
      if (arrivedUpTo >= now.sequence) continue;
      last = now.sequence;
      // The snapshot covers what was lost: count from it.
      arrivedUpTo = Math.max(arrivedUpTo, now.sequence);
      for (const sequence of ahead) if (sequence <= arrivedUpTo) ahead.delete(sequence);
      while (ahead.delete(arrivedUpTo + 1)) arrivedUpTo++;
    }
    yield {
      runId: options.runId,
      sequence: now.sequence,
      type: finished ? 'RUN_FINISHED' : 'SNAPSHOT',
      stage: null,
      preview: null,
      mediaId: null,
    };
    if (finished) return;
  }
}
