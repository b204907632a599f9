// How busy one ComfyUI server's GPU is with our prompts: busy from the moment one of them
// starts executing until none is executing, idle in between. Keeps the busy time in total and
// over a sliding window, and reports each idle gap as the next prompt starts.
import { performance } from 'node:perf_hooks';

export class GpuUsage {
  /** Our prompts executing there now (ComfyUI runs one at a time; overlap is our lag). */
  private running = 0;
  private busySince = 0;
  /** When the last prompt ended; null before the first one. */
  private idleSince: number | null = null;
  private busyTotalMs = 0;
  /** Busy intervals that ended within the window, oldest first. */
  private readonly recent: Array<[start: number, end: number]> = [];
  private readonly since: number;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.since = now();
  }

  /**
   * A prompt started executing; returns the idle gap (seconds) it ended, or null for the
   * first prompt. A start seen before the previous prompt's end is a gap of 0.
   */
  started(): number | null {
    const now = this.now();
    this.running++;
    if (this.running > 1) return 0;
    this.busySince = now;
    return this.idleSince === null ? null : (now - this.idleSince) / 1000;
  }

  /** A prompt that started is no longer executing (finished, failed or stopped). */
  ended(): void {
    if (this.running === 0) return;
    this.running--;
    if (this.running > 0) return;
    const now = this.now();
    this.busyTotalMs += now - this.busySince;
    this.recent.push([this.busySince, now]);
    this.idleSince = now;
    this.trim(now);
  }

  /** Seconds busy in total, up to now. */
  busySeconds(): number {
    const now = this.now();
    return (this.busyTotalMs + (this.running > 0 ? now - this.busySince : 0)) / 1000;
  }

  /** Share of the window (or of the time since following this server, if shorter) busy. */
  busyRatio(): number {
    const now = this.now();
    this.trim(now);
    const from = Math.max(this.since, now - this.windowMs);
    const wall = now - from;
    if (wall <= 0) return 0;
    let busy = 0;
    for (const [start, end] of this.recent) busy += end - Math.max(start, from);
    if (this.running > 0) busy += now - Math.max(this.busySince, from);
    return Math.min(1, Math.max(0, busy / wall));
  }

  private trim(now: number): void {
    const from = now - this.windowMs;
    while (this.recent.length && this.recent[0]![1] <= from) this.recent.shift();
  }
}
