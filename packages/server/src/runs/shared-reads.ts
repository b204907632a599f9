// One database read per run event, shared by every subscriber: a thousand clients watching one
// run ask for the same rows, so the first read is kept (briefly) and the others get its
// result. A read is also shared by the events that follow it when it was made after they were
// written: events are published once their change is written, so a read that starts after
// event N arrived sees the run at sequence N or later. The end of a run publishes its last
// progress, preview, outputs and RUN_FINISHED at once; their deliveries share one read
// instead of one each (which is what a subscriber gets anyway: every read is of the run as it
// is when the event is delivered). Keys name the run, what is read and the fields selected,
// so two documents selecting different fields read separately.

/** How many reads (and runs' newest sequences) are kept at most (the oldest go first). */
const MAX_ENTRIES = 2_000;

/** A kept read is reused for this long at most (slow subscribers read anew after it). */
const TTL_MS = 10_000;

interface Entry {
  at: number;
  /** The newest event of the run that had arrived when the read started. */
  asOf: number;
  value: Promise<unknown>;
}

export class SharedReads {
  private readonly entries = new Map<string, Entry>();
  private readonly newest = new Map<string, number>();
  /** Reads that went to the database, and reads answered from a kept one. */
  readonly stats = { loads: 0, shared: 0 };

  /** An event of the run arrived (its change is written): later reads see it. */
  arrived(event: { runId: string; sequence: number }): void {
    const known = this.newest.get(event.runId);
    if (known !== undefined && known >= event.sequence) return;
    this.newest.delete(event.runId);
    this.newest.set(event.runId, event.sequence);
    trim(this.newest);
  }

  /**
   * `load()`'s result for `key` (see eventReadKey) as of `event` or later: a kept read that
   * started after the event arrived is reused; otherwise `load()` reads anew.
   */
  read<T>(
    key: string,
    event: { runId: string; sequence: number },
    load: () => Promise<T>,
  ): Promise<T> {
    const now = Date.now();
    const kept = this.entries.get(key);
    if (kept && now - kept.at < TTL_MS && kept.asOf >= event.sequence) {
      this.stats.shared++;
      return kept.value as Promise<T>;
    }
    if (kept) this.entries.delete(key);
    this.stats.loads++;
    const value = load();
    const entry: Entry = {
      at: now,
      asOf: Math.max(event.sequence, this.newest.get(event.runId) ?? event.sequence),
      value: value as Promise<unknown>,
    };
    this.entries.set(key, entry);
    // A failed read is not kept: the next subscriber tries again.
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    trim(this.entries);
    return value;
  }
}

function trim(map: Map<string, unknown>): void {
  while (map.size > MAX_ENTRIES) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) break;
    map.delete(oldest);
  }
}

/** The key of a read of `what` of a run: the run, what is read, and the selection as sent. */
export function eventReadKey(what: string, event: { runId: string }, query: unknown): string {
  return `${event.runId}\n${what}\n${JSON.stringify(query)}`;
}
