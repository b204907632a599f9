// One database read per run event, shared by every subscriber: a thousand clients watching one
// run ask for the same rows at the same sequence, so the first read is kept (briefly) and the
// others get its result. Keys name the run, the sequence and the fields selected, so two
// documents selecting different fields read separately and a newer event always reads anew.

/** How many reads are kept at most (the oldest go first). */
const MAX_ENTRIES = 2_000;

/** A kept read is reused for this long at most (slow subscribers read anew after it). */
const TTL_MS = 10_000;

export class SharedReads {
  private readonly entries = new Map<string, { at: number; value: Promise<unknown> }>();
  /** Reads that went to the database, and reads answered from a kept one. */
  readonly stats = { loads: 0, shared: 0 };

  /** `load()`'s result for `key`, reading only when no fresh read of `key` is kept. */
  read<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const kept = this.entries.get(key);
    if (kept && now - kept.at < TTL_MS) {
      this.stats.shared++;
      return kept.value as Promise<T>;
    }
    if (kept) this.entries.delete(key);
    this.stats.loads++;
    const value = load();
    const entry = { at: now, value: value as Promise<unknown> };
    this.entries.set(key, entry);
    // A failed read is not kept: the next subscriber tries again.
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    while (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return value;
  }
}

/** The key of a read of `what` for one event: run, sequence, and the selection as sent. */
export function eventReadKey(
  what: string,
  event: { runId: string; sequence: number },
  query: unknown,
): string {
  return `${event.runId}\n${event.sequence}\n${what}\n${JSON.stringify(query)}`;
}
