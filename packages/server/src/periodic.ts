/**
 * A background task run every `everyMs` (the first time after `firstMs`), never two at once:
 * a run asked for while one is under way joins it. A failure is handed to `onError` and
 * answers `fallback`; the timer never keeps the process alive, and stop() waits for a run
 * under way (the database or storage it uses closes after). Used by the storage sweeper and
 * the embedded database's vacuum.
 */
export class PeriodicTask<T> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<T> | null = null;
  private stopped = false;

  constructor(
    private readonly task: () => Promise<T>,
    private readonly options: {
      /** 0 never runs on the timer (run() still does). */
      everyMs: number;
      /** Delay of the first run; default `everyMs`. */
      firstMs?: number;
      fallback: T;
      onError: (error: unknown) => void;
    },
  ) {}

  /** True once stop() was called: a long task checks it between its steps. */
  get isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    const { everyMs, firstMs = everyMs } = this.options;
    if (everyMs <= 0 || this.timer || this.stopped) return;
    this.schedule(Math.min(everyMs, firstMs));
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => {
      void this.run().finally(() => {
        if (!this.stopped) this.schedule(this.options.everyMs);
      });
    }, delay);
    this.timer.unref();
  }

  /** Runs the task now (joins a run under way); failures are reported, not thrown. */
  run(): Promise<T> {
    this.running ??= this.task()
      .catch((error: unknown) => {
        this.options.onError(error);
        return this.options.fallback;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  /** Stops the timer; a run under way ends first. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
